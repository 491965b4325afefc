"""Stores, zones, beacons and app installations on PostgreSQL (each change audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.kernel.audit import record_audit
from crm_core.kernel.errors import NotFound
from devices.presence.model import OpeningHours

Connection = psycopg.Connection[TupleRow]


class Conflict(ValueError):
    """The thing exists already (a code, a beacon identifier, an installation)."""


@dataclass(frozen=True, slots=True)
class Store:
    id: int
    code: str
    name: str
    hours: OpeningHours


@dataclass(frozen=True, slots=True)
class Zone:
    id: int
    store_id: int
    code: str
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Beacon:
    id: int
    zone_id: int
    identifier: str
    kind: str


def _store(row: tuple[Any, ...]) -> Store:
    return Store(int(row[0]), row[1], row[2], OpeningHours.parse(row[4], row[3]))


def add_store(
    conn: Connection, code: str, name: str, hours: OpeningHours, now: datetime, actor: str
) -> Store:
    row = conn.execute(
        "INSERT INTO presence_stores (code, name, timezone, opening_hours, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (code) DO NOTHING "
        "RETURNING id, code, name, timezone, opening_hours",
        (code, name, hours.timezone, Jsonb(hours.as_json()), now),
    ).fetchone()
    if row is None:
        raise Conflict(f"store {code!r} exists already")
    store = _store(row)
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="store",
        entity_id=store.id,
        action="created",
        detail={
            "code": code,
            "name": name,
            "timezone": hours.timezone,
            "opening_hours": hours.as_json(),
        },
    )
    return store


def list_stores(conn: Connection) -> list[Store]:
    rows = conn.execute(
        "SELECT id, code, name, timezone, opening_hours FROM presence_stores ORDER BY code"
    ).fetchall()
    return [_store(row) for row in rows]


def get_store(conn: Connection, store_id: int) -> Store:
    row = conn.execute(
        "SELECT id, code, name, timezone, opening_hours FROM presence_stores WHERE id = %s",
        (store_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no store {store_id}")
    return _store(row)


def add_zone(
    conn: Connection,
    store_id: int,
    code: str,
    name: str,
    categories: list[str],
    now: datetime,
    actor: str,
) -> Zone:
    get_store(conn, store_id)
    cats = sorted({c.strip().lower() for c in categories if c.strip()})
    row = conn.execute(
        "INSERT INTO presence_zones (store_id, code, name, categories) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (store_id, code) DO NOTHING RETURNING id",
        (store_id, code, name, cats),
    ).fetchone()
    if row is None:
        raise Conflict(f"store {store_id} has a zone {code!r} already")
    zone = Zone(int(row[0]), store_id, code, name, tuple(cats))
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="zone",
        entity_id=zone.id,
        action="created",
        detail={"store_id": store_id, "code": code, "name": name, "categories": cats},
    )
    return zone


def list_zones(conn: Connection, store_id: int) -> list[Zone]:
    rows = conn.execute(
        "SELECT id, store_id, code, name, categories FROM presence_zones "
        "WHERE store_id = %s ORDER BY code",
        (store_id,),
    ).fetchall()
    return [Zone(int(r[0]), int(r[1]), r[2], r[3], tuple(r[4])) for r in rows]


def get_zone(conn: Connection, zone_id: int) -> Zone:
    row = conn.execute(
        "SELECT id, store_id, code, name, categories FROM presence_zones WHERE id = %s",
        (zone_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no zone {zone_id}")
    return Zone(int(row[0]), int(row[1]), row[2], row[3], tuple(row[4]))


def add_beacon(
    conn: Connection, zone_id: int, identifier: str, now: datetime, actor: str
) -> Beacon:
    get_zone(conn, zone_id)
    kind = identifier.split(":", 1)[0]
    row = conn.execute(
        "INSERT INTO presence_beacons (zone_id, identifier, kind) VALUES (%s, %s, %s) "
        "ON CONFLICT (identifier) DO NOTHING RETURNING id",
        (zone_id, identifier, kind),
    ).fetchone()
    if row is None:
        raise Conflict(f"beacon {identifier} is mapped to a zone already")
    beacon = Beacon(int(row[0]), zone_id, identifier, kind)
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="beacon",
        entity_id=beacon.id,
        action="created",
        detail={"zone_id": zone_id, "identifier": identifier},
    )
    return beacon


def list_beacons(conn: Connection, zone_id: int) -> list[Beacon]:
    rows = conn.execute(
        "SELECT id, zone_id, identifier, kind FROM presence_beacons WHERE zone_id = %s "
        "ORDER BY identifier",
        (zone_id,),
    ).fetchall()
    return [Beacon(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]


def beacon_zones(conn: Connection, identifiers: list[str]) -> dict[str, int]:
    """The zone of each of ``identifiers`` that is mapped to one."""
    rows = conn.execute(
        "SELECT identifier, zone_id FROM presence_beacons WHERE identifier = ANY(%s)",
        (identifiers,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def register_installation(
    conn: Connection, installation_id: str, customer_id: int, now: datetime, actor: str
) -> None:
    """Link an app installation to its customer (idempotent for the same customer)."""
    if conn.execute("SELECT 1 FROM customers WHERE id = %s", (customer_id,)).fetchone() is None:
        raise NotFound(f"no customer {customer_id}")
    row = conn.execute(
        "INSERT INTO presence_installations (id, customer_id, registered_at) "
        "VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE SET id = excluded.id "
        "RETURNING customer_id, (xmax = 0)",
        (installation_id, customer_id, now),
    ).fetchone()
    assert row is not None
    if int(row[0]) != customer_id:
        raise Conflict(f"installation {installation_id!r} belongs to another customer")
    if row[1]:
        record_audit(
            conn,
            at=now,
            actor=actor,
            entity="customer",
            entity_id=customer_id,
            action="app_installation_registered",
            detail={"installation": installation_id},
        )


def erase_presence(conn: Connection, customer_id: int) -> dict[str, int]:
    """Delete the customer's app installations and with them their debounce state, visits
    and zone events (GDPR Art. 17). The anonymous daily counts per zone stay. Deleting an
    installation revokes its app's broker account (a trigger, migration 0027): counted as
    ``app_accounts``; the broker's files must then be rewritten (the caller's job)."""
    row = conn.execute(
        "SELECT count(*) FROM broker_accounts a "
        "JOIN presence_installations i ON i.id = a.installation_id "
        "WHERE i.customer_id = %s AND a.revoked_at IS NULL",
        (customer_id,),
    ).fetchone()
    return {
        "app_accounts": int(row[0]) if row is not None else 0,
        "visits": conn.execute(
            "DELETE FROM presence_visits WHERE customer_id = %s", (customer_id,)
        ).rowcount,
        "installations": conn.execute(
            "DELETE FROM presence_installations WHERE customer_id = %s", (customer_id,)
        ).rowcount,
    }
