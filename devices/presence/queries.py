"""Read models of presence: visits and dwell per zone (the heat map), a customer's visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True, slots=True)
class ZoneHeat:
    zone_id: int
    code: str
    name: str
    visits: int
    exits: int
    dwell_seconds: float

    @property
    def mean_dwell_seconds(self) -> float | None:
        """Over the visits that ended (an open visit has no dwell yet)."""
        return self.dwell_seconds / self.exits if self.exits else None


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    zone_id: int
    zone: str
    store: str
    entered_at: datetime
    exited_at: datetime | None
    dwell_seconds: float | None


def zone_heat(conn: Connection, store_id: int, since: date) -> list[ZoneHeat]:
    """Visits and dwell per zone of a store since a day, from the anonymous counts."""
    rows = conn.execute(
        "SELECT z.id, z.code, z.name, coalesce(sum(c.visits), 0), coalesce(sum(c.exits), 0), "
        "coalesce(sum(c.dwell_seconds), 0) FROM presence_zones z "
        "LEFT JOIN presence_zone_counts c ON c.zone_id = z.id AND c.day >= %s "
        "WHERE z.store_id = %s GROUP BY z.id ORDER BY z.code",
        (since, store_id),
    ).fetchall()
    return [ZoneHeat(int(r[0]), r[1], r[2], int(r[3]), int(r[4]), float(r[5])) for r in rows]


def customer_visits(conn: Connection, customer_id: int, limit: int = 200) -> list[Visit]:
    rows = conn.execute(
        "SELECT v.id, v.zone_id, z.name, s.name, v.entered_at, v.exited_at, v.dwell_seconds "
        "FROM presence_visits v JOIN presence_zones z ON z.id = v.zone_id "
        "JOIN presence_stores s ON s.id = z.store_id WHERE v.customer_id = %s "
        "ORDER BY v.entered_at DESC LIMIT %s",
        (customer_id, limit),
    ).fetchall()
    return [Visit(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]
