"""Writing CRM records on PostgreSQL, each change with its line in the audit log.

One shape for every record kind (customers, sites, contracts, and devices from the devices
context): insert or update a row from a dict of columns, inside the caller's transaction,
and record what changed. The database keeps the natural keys unique; a violation comes
back as :class:`~crm_core.customers.records.RecordError` naming the field, so the API, the
console and the import can all show it next to that field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow, dict_row

from crm_core.customers.records import RecordError
from crm_core.kernel import audit
from crm_core.kernel.errors import NotFound

Conn = psycopg.Connection[TupleRow]
Outcome = Literal["created", "updated", "unchanged"]

# Constraint -> (field, what to say), for the violations a person can cause.
CONSTRAINTS: dict[str, tuple[str, str]] = {
    "customers_email": ("email", "another customer has this e-mail address"),
    "customers_external_ref_key": ("external_ref", "another customer has this reference"),
    "sites_customer_label": ("label", "this customer already has a site with this label"),
    "sites_customer_id_fkey": ("customer_id", "no such customer"),
    "service_contracts_reference_key": ("reference", "another contract has this reference"),
    "service_contracts_customer_id_fkey": ("customer_id", "no such customer"),
    "service_contracts_device_id_fkey": ("device_id", "no such device"),
    "devices_serial_key": ("serial", "another device has this serial"),
    "devices_customer_id_fkey": ("customer_id", "no such customer"),
    "devices_site_id_fkey": ("site_id", "no such site"),
}


@dataclass(frozen=True, slots=True)
class Written:
    id: int
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Table:
    """A record kind: its table, the name the audit log gives it, and its columns."""

    name: str
    entity: str
    columns: tuple[str, ...]

    def get(self, conn: Conn, record_id: int, *, for_update: bool = False) -> dict[str, Any]:
        query = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, self.columns)), sql.Identifier(self.name)
        )
        if for_update:
            query = sql.SQL("{} FOR UPDATE").format(query)
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(query, (record_id,)).fetchone()
        if row is None:
            raise NotFound(f"{self.entity} {record_id} does not exist")
        return row

    def find(self, conn: Conn, where: sql.Composable, params: tuple[object, ...]) -> int | None:
        """The id of the row matching ``where``, if any, locked for the transaction."""
        query = sql.SQL("SELECT id FROM {} WHERE {} FOR UPDATE").format(
            sql.Identifier(self.name), where
        )
        row = conn.execute(query, params).fetchone()
        return None if row is None else int(row[0])


def _refused(exc: psycopg.Error) -> RecordError | None:
    name = exc.diag.constraint_name or ""
    if name in CONSTRAINTS:
        field, message = CONSTRAINTS[name]
        return RecordError({field: message})
    return None


def write(
    conn: Conn,
    table: Table,
    record_id: int | None,
    values: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> Written:
    """Insert (``record_id`` None) or update a row, and audit it; in a savepoint, so that a
    refusal leaves the caller's transaction usable (an import goes on with the next row)."""
    try:
        with conn.transaction():
            if record_id is None:
                return _insert(conn, table, values, actor, now)
            return _update(conn, table, record_id, values, actor, now)
    except (psycopg.errors.UniqueViolation, psycopg.errors.ForeignKeyViolation) as exc:
        refusal = _refused(exc)
        if refusal is None:
            raise
        raise refusal from exc


def _insert(
    conn: Conn, table: Table, values: Mapping[str, Any], actor: str, now: datetime
) -> Written:
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder() * len(values)),
    )
    row = conn.execute(query, tuple(values.values())).fetchone()
    assert row is not None
    record_id = int(row[0])
    audit.record(
        conn,
        at=now,
        actor=actor,
        entity=table.entity,
        entity_id=record_id,
        action="created",
        detail=audit.snapshot(values),
    )
    return Written(record_id, "created")


def _update(
    conn: Conn,
    table: Table,
    record_id: int,
    values: Mapping[str, Any],
    actor: str,
    now: datetime,
) -> Written:
    before = table.get(conn, record_id, for_update=True)
    changed = audit.changes(before, values)
    if not changed:
        return Written(record_id, "unchanged")
    query = sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k in changed
        ),
    )
    conn.execute(query, (*(values[k] for k in changed), record_id))
    audit.record(
        conn,
        at=now,
        actor=actor,
        entity=table.entity,
        entity_id=record_id,
        action="updated",
        detail=changed,
    )
    return Written(record_id, "updated")


def delete(conn: Conn, table: Table, record_id: int, *, actor: str, now: datetime) -> None:
    """Delete a row and audit what it was."""
    with conn.transaction():
        before = table.get(conn, record_id, for_update=True)
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(table.name)),
            (record_id,),
        )
        audit.record(
            conn,
            at=now,
            actor=actor,
            entity=table.entity,
            entity_id=record_id,
            action="deleted",
            detail=audit.snapshot(before),
        )
