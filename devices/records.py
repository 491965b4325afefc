"""Registering and editing devices: the rules of the registry, and word to ingest.

A device names a type and a model from the catalog, a serial ingest can route (the same
pattern the database checks), dates in order, and a site of its own customer. Its serial
and type are fixed once registered: readings, detector state and faults are keyed by
them. Registering or changing a device sends ``NOTIFY careline_devices`` with its serial
in the same transaction, so an ingest worker drops its cached "unknown device" answer the
moment the device exists (see :mod:`devices.registry_listener`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from psycopg import sql
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from crm_core.customers.records import Optional, RecordError, RecordId
from crm_core.customers.store import Conn, Table, Written, write
from devices.catalog import Catalog

CHANNEL = "careline_devices"
SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

DEVICES = Table(
    "devices",
    "device",
    (
        "serial",
        "device_type",
        "model",
        "firmware",
        "production_batch",
        "customer_id",
        "site_id",
        "installed_on",
        "warranty_end",
    ),
)

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class DeviceFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: Annotated[str, StringConstraints(strip_whitespace=True, pattern=SERIAL_PATTERN)]
    device_type: Short
    model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    firmware: Annotated[Short | None, Optional] = None
    production_batch: Annotated[Short | None, Optional] = None
    customer_id: Annotated[RecordId | None, Optional] = None
    site_id: Annotated[RecordId | None, Optional] = None
    installed_on: Annotated[date | None, Optional] = None
    warranty_end: Annotated[date | None, Optional] = None

    @model_validator(mode="after")
    def _consistent(self) -> DeviceFields:
        if self.site_id is not None and self.customer_id is None:
            raise ValueError("a device installed at a site belongs to that site's customer")
        if self.installed_on and self.warranty_end and self.warranty_end < self.installed_on:
            raise ValueError(
                f"warranty_end ({self.warranty_end}) is before installed_on ({self.installed_on})"
            )
        return self


class DevicePatch(BaseModel):
    """What may change on a registered device (not its serial or type)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    firmware: Annotated[Short | None, Optional] = None
    production_batch: Annotated[Short | None, Optional] = None
    customer_id: Annotated[RecordId | None, Optional] = None
    site_id: Annotated[RecordId | None, Optional] = None
    installed_on: Annotated[date | None, Optional] = None
    warranty_end: Annotated[date | None, Optional] = None


def check_catalog(fields: DeviceFields, catalog: Catalog) -> None:
    """The type and the model are the catalog's."""
    kind = catalog.device_types.get(fields.device_type)
    if kind is None:
        known = ", ".join(sorted(catalog.device_types))
        raise RecordError({"device_type": f"unknown device type; the catalog has {known}"})
    if kind.models and fields.model not in kind.models:
        raise RecordError(
            {"model": f"not a {kind.label.lower()} model; known: {', '.join(kind.models)}"}
        )


def _check_site(conn: Conn, fields: DeviceFields) -> None:
    if fields.site_id is None:
        return
    row = conn.execute("SELECT customer_id FROM sites WHERE id = %s", (fields.site_id,)).fetchone()
    if row is None:
        raise RecordError({"site_id": f"site {fields.site_id} does not exist"})
    if row[0] != fields.customer_id:
        raise RecordError({"site_id": "the site belongs to another customer"})


def _save(
    conn: Conn,
    device_id: int | None,
    fields: DeviceFields,
    catalog: Catalog,
    actor: str,
    now: datetime,
) -> Written:
    check_catalog(fields, catalog)
    _check_site(conn, fields)
    if device_id is not None:
        current = DEVICES.get(conn, device_id, for_update=True)
        fixed = {k: v for k in ("serial", "device_type") if (v := current[k]) != getattr(fields, k)}
        if fixed:
            raise RecordError(
                {
                    k: f"stays {v!r}: readings and faults are recorded under it"
                    for k, v in fixed.items()
                }
            )
    written = write(conn, DEVICES, device_id, fields.model_dump(), actor=actor, now=now)
    if written.outcome != "unchanged":
        conn.execute(
            sql.SQL("SELECT pg_notify({}, %s)").format(sql.Literal(CHANNEL)), (fields.serial,)
        )
    return written


def save_device(
    conn: Conn,
    device_id: int | None,
    fields: DeviceFields,
    catalog: Catalog,
    *,
    actor: str,
    now: datetime,
) -> Written:
    """Register (``device_id`` None) or replace a device's fields."""
    with conn.transaction():
        return _save(conn, device_id, fields, catalog, actor, now)


def update_device(
    conn: Conn,
    device_id: int,
    patch: DevicePatch,
    catalog: Catalog,
    *,
    actor: str,
    now: datetime,
) -> Written:
    """Change the fields sent; moving a device to another customer clears its site unless
    a new one is given."""
    with conn.transaction():
        current = DEVICES.get(conn, device_id, for_update=True)
        changes = patch.model_dump(exclude_unset=True)
        moved = changes.get("customer_id", current["customer_id"]) != current["customer_id"]
        if moved and "site_id" not in changes:
            changes["site_id"] = None
        fields = DeviceFields.model_validate({**current, **changes})
        return _save(conn, device_id, fields, catalog, actor, now)


def upsert_device(
    conn: Conn, fields: DeviceFields, catalog: Catalog, *, actor: str, now: datetime
) -> Written:
    """Register the device, or update the one with this serial."""
    with conn.transaction():
        found = DEVICES.find(conn, sql.SQL("serial = %s"), (fields.serial,))
        return _save(conn, found, fields, catalog, actor, now)


def device_id_of(conn: Conn, serial: str) -> int | None:
    row = conn.execute("SELECT id FROM devices WHERE serial = %s", (serial,)).fetchone()
    return None if row is None else int(row[0])
