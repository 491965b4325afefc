"""Who owns a device: what a rule needs to serve the customer behind a fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg.rows import TupleRow


@dataclass(frozen=True, slots=True)
class OwnedDevice:
    serial: str
    device_type: str
    model: str
    customer_id: int | None  # None: in stock, or not sold yet


class DeviceOwners(Protocol):
    def owner_of(self, device_id: int) -> OwnedDevice | None:
        """The device and its owner; None when there is no such device."""
        ...


class PostgresDeviceOwners:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def owner_of(self, device_id: int) -> OwnedDevice | None:
        row = self._conn.execute(
            "SELECT serial, device_type, model, customer_id FROM devices WHERE id = %s",
            (device_id,),
        ).fetchone()
        if row is None:
            return None
        customer = None if row[3] is None else int(row[3])
        return OwnedDevice(str(row[0]), str(row[1]), str(row[2]), customer)
