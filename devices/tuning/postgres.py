"""Overrides, resets and their audit trail on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.kernel.uow import PostgresUnitOfWork
from devices.faults.no_data import NO_DATA
from devices.faults.postgres import PostgresFaultRepository
from devices.tuning.model import SETTINGS, Override
from devices.tuning.ports import DeviceRow, Scope

OVERRIDE_COLUMNS = ", ".join((*SETTINGS, "note"))


def override_from_row(row: tuple[Any, ...]) -> Override:
    """An Override from the columns :data:`OVERRIDE_COLUMNS`, in that order."""
    values = dict(zip((*SETTINGS, "note"), row, strict=True))
    return Override(**values)


class PostgresTuningRepository:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def _device(self, where: str, key: object) -> DeviceRow | None:
        row = self._conn.execute(
            f"SELECT id, serial, device_type, customer_id FROM devices WHERE {where} = %s",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return DeviceRow(int(row[0]), str(row[1]), str(row[2]), row[3])

    def device(self, serial: str) -> DeviceRow | None:
        return self._device("serial", serial)

    def device_by_id(self, device_id: int) -> DeviceRow | None:
        return self._device("id", device_id)

    def customer_exists(self, customer_id: int) -> bool:
        row = self._conn.execute("SELECT 1 FROM customers WHERE id = %s", (customer_id,))
        return row.fetchone() is not None

    def customer_device_types(self, customer_id: int) -> set[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT device_type FROM devices WHERE customer_id = %s", (customer_id,)
        ).fetchall()
        return {str(r[0]) for r in rows}

    def override(self, scope: Scope, scope_id: int, metric: str) -> Override | None:
        row = self._conn.execute(
            f"SELECT {OVERRIDE_COLUMNS} FROM detector_overrides "
            "WHERE scope = %s AND scope_id = %s AND metric = %s FOR UPDATE",
            (scope, scope_id, metric),
        ).fetchone()
        return None if row is None else override_from_row(row)

    def put(
        self, scope: Scope, scope_id: int, metric: str, override: Override, at: datetime, by: str
    ) -> None:
        values = [getattr(override, s) for s in SETTINGS]
        self._conn.execute(
            f"""
            INSERT INTO detector_overrides (scope, scope_id, metric, {OVERRIDE_COLUMNS},
                                            updated_at, updated_by)
            VALUES (%s, %s, %s, {", ".join(["%s"] * (len(SETTINGS) + 1))}, %s, %s)
            ON CONFLICT (scope, scope_id, metric) DO UPDATE SET
              {", ".join(f"{c} = excluded.{c}" for c in (*SETTINGS, "note"))},
              updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """,
            (scope, scope_id, metric, *values, override.note, at, by),
        )

    def device_overrides_of(
        self, customer_id: int, metric: str
    ) -> list[tuple[DeviceRow, Override]]:
        columns = ", ".join(f"o.{c}" for c in (*SETTINGS, "note"))
        rows = self._conn.execute(
            f"SELECT d.id, d.serial, d.device_type, d.customer_id, {columns} "
            "FROM detector_overrides o JOIN devices d ON o.scope = 'device' AND d.id = o.scope_id "
            "WHERE d.customer_id = %s AND o.metric = %s",
            (customer_id, metric),
        ).fetchall()
        return [
            (DeviceRow(int(r[0]), str(r[1]), str(r[2]), r[3]), override_from_row(r[4:]))
            for r in rows
        ]

    def delete(self, scope: Scope, scope_id: int, metric: str) -> bool:
        cur = self._conn.execute(
            "DELETE FROM detector_overrides WHERE scope = %s AND scope_id = %s AND metric = %s",
            (scope, scope_id, metric),
        )
        return cur.rowcount > 0

    def changed(self) -> None:
        self._conn.execute("UPDATE detector_tuning_version SET version = version + 1")

    def add_reset(
        self, device_id: int, metric: str | None, reason: str, actor: str, at: datetime
    ) -> int:
        row = self._conn.execute(
            "INSERT INTO baseline_resets (device_id, metric, reason, actor, at) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (device_id, metric, reason, actor, at),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def open_fault_ids(self, device_id: int, metric: str | None) -> list[int]:
        rows = self._conn.execute(
            "SELECT id FROM faults WHERE device_id = %s AND status <> 'cleared' "
            "AND detector <> %s AND (%s::text IS NULL OR metric = %s) ORDER BY id",
            (device_id, NO_DATA, metric, metric),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def ticket_faults(self, ticket_id: int) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT DISTINCT f.metric, f.detector FROM ticket_faults tf "
            "JOIN faults f ON f.id = tf.fault_id WHERE tf.ticket_id = %s ORDER BY 1, 2",
            (ticket_id,),
        ).fetchall()
        return [(str(m), str(d)) for m, d in rows]

    def recent_faults(self, device_id: int, since: datetime) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT DISTINCT metric, detector FROM faults WHERE device_id = %s "
            "AND opened_at >= %s ORDER BY 1, 2",
            (device_id, since),
        ).fetchall()
        return [(str(m), str(d)) for m, d in rows]

    def audit(
        self,
        at: datetime,
        actor: str,
        entity: str,
        entity_id: str,
        action: str,
        detail: dict[str, Any],
    ) -> None:
        self._conn.execute(
            "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (at, actor, entity, entity_id, action, Jsonb(detail, dumps=_dumps)),
        )


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


class PostgresTuningUnitOfWork(PostgresUnitOfWork):
    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        super().__init__(connection)
        self.tuning = PostgresTuningRepository(connection)
        self.faults = PostgresFaultRepository(connection)
