"""Loading a leg's logger readings and keeping what their evaluation found.

A leg's readings are those of the loggers assigned to it, each within its assignment's
window and the leg's own (departure to arrival). The evaluation is kept whole per leg and
product (``leg_evaluations``, ``excursions``): writing it again is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from devices.coldchain.evaluation import Evaluation, ProductRange, Series

Conn = psycopg.Connection[TupleRow]

LEG_READINGS = """
SELECT r.metric_id, extract(epoch FROM r.ts)::float8, r.value
  FROM logger_assignments a
  JOIN shipment_legs l ON l.id = a.leg_id
  JOIN readings r ON r.device_id = a.device_id AND r.metric_id = ANY(%(metrics)s)
   AND r.ts >= greatest(a.from_ts, l.departed_at)
   AND r.ts <= least(coalesce(a.to_ts, 'infinity'), coalesce(l.arrived_at, 'infinity'))
 WHERE a.leg_id = %(leg)s
"""

AFFECTED_LEGS = """
SELECT DISTINCT a.leg_id
  FROM unnest(%s::integer[], %s::float8[], %s::float8[]) AS d(device_id, lo, hi)
  JOIN logger_assignments a ON a.device_id = d.device_id
   AND a.from_ts <= to_timestamp(d.hi) AND (a.to_ts IS NULL OR a.to_ts >= to_timestamp(d.lo))
 ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class LegProduct:
    gtin: str
    product: ProductRange
    breached: tuple[str, ...]  # as last evaluated


def affected_legs(conn: Conn, spans: dict[int, tuple[float, float]]) -> list[int]:
    if not spans:
        return []
    ids = list(spans)
    rows = conn.execute(
        AFFECTED_LEGS, (ids, [spans[i][0] for i in ids], [spans[i][1] for i in ids])
    ).fetchall()
    return [int(r[0]) for r in rows]


def leg_products(conn: Conn, leg_id: int) -> list[LegProduct]:
    rows = conn.execute(
        "SELECT DISTINCT p.gtin, p.range_min, p.range_max, p.single_limit_min, p.budget_min, "
        "p.temp_class, coalesce(e.breached, '{}') FROM leg_lots ll JOIN lots l ON l.id = ll.lot_id "
        "JOIN products p ON p.gtin = l.gtin "
        "LEFT JOIN leg_evaluations e ON e.leg_id = ll.leg_id AND e.gtin = p.gtin "
        "WHERE ll.leg_id = %s ORDER BY p.gtin",
        (leg_id,),
    ).fetchall()
    return [
        LegProduct(
            str(g),
            ProductRange(float(lo), float(hi), int(single), int(budget), frozen=cls == "frozen"),
            tuple(breached),
        )
        for g, lo, hi, single, budget, cls, breached in rows
    ]


def leg_series(conn: Conn, leg_id: int, temp_id: int, door_id: int) -> tuple[Series, Series]:
    rows = conn.execute(LEG_READINGS, {"leg": leg_id, "metrics": [temp_id, door_id]}).fetchall()
    temps = [(float(t), float(v)) for m, t, v in rows if m == temp_id]
    doors = [(float(t), float(v)) for m, t, v in rows if m == door_id]
    return temps, doors


def save_evaluation(conn: Conn, leg_id: int, gtin: str, ev: Evaluation, now: datetime) -> None:
    mkt = ev.mkt.celsius()
    conn.execute(
        "INSERT INTO leg_evaluations (leg_id, gtin, readings, first_ts, last_ts, min_temp, "
        "max_temp, mean_temp, mkt, mkt_weight, mkt_sum, tor_min, longest_min, door_open_min, "
        "gaps, breached, evaluated_at) VALUES (%s, %s, %s, to_timestamp(%s), to_timestamp(%s), "
        "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (leg_id, gtin) DO UPDATE SET "
        "readings = excluded.readings, first_ts = excluded.first_ts, last_ts = excluded.last_ts, "
        "min_temp = excluded.min_temp, max_temp = excluded.max_temp, "
        "mean_temp = excluded.mean_temp, mkt = excluded.mkt, mkt_weight = excluded.mkt_weight, "
        "mkt_sum = excluded.mkt_sum, tor_min = excluded.tor_min, "
        "longest_min = excluded.longest_min, door_open_min = excluded.door_open_min, "
        "gaps = excluded.gaps, breached = excluded.breached, evaluated_at = excluded.evaluated_at",
        (
            leg_id,
            gtin,
            ev.readings,
            ev.first,
            ev.last,
            ev.min_temp,
            ev.max_temp,
            ev.mean_temp,
            mkt,
            ev.mkt.weight,
            ev.mkt.total,
            ev.tor_min,
            ev.longest_min,
            ev.door_open_min,
            sum(1 for x in ev.excursions if x.kind == "logger_gap"),
            list(ev.breached),
            now,
        ),
    )
    conn.execute("DELETE FROM excursions WHERE leg_id = %s AND gtin = %s", (leg_id, gtin))
    conn.cursor().executemany(
        "INSERT INTO excursions (leg_id, gtin, kind, started_at, ended_at, minutes, peak, "
        "breaches_rule) VALUES (%s, %s, %s, to_timestamp(%s), to_timestamp(%s), %s, %s, %s)",
        [
            (leg_id, gtin, x.kind, x.start, x.end, x.minutes, x.peak, x.breaches_rule)
            for x in ev.excursions
        ],
    )


def lots_over_budget(conn: Conn, leg_id: int, gtin: str) -> list[tuple[int, float, float]]:
    """Lots of ``gtin`` on the leg whose stability budget is spent across all their legs:
    (lot id, minutes used, budget)."""
    rows = conn.execute(
        "SELECT l.id, sum(e.tor_min), p.budget_min "
        "FROM (SELECT DISTINCT lot_id FROM leg_lots WHERE leg_id = %s) here "
        "JOIN lots l ON l.id = here.lot_id AND l.gtin = %s "
        "JOIN products p ON p.gtin = l.gtin "
        "JOIN (SELECT DISTINCT leg_id, lot_id FROM leg_lots) ll ON ll.lot_id = l.id "
        "JOIN leg_evaluations e ON e.leg_id = ll.leg_id AND e.gtin = l.gtin "
        "GROUP BY l.id, p.budget_min "
        "HAVING sum(e.tor_min) > p.budget_min ORDER BY l.id",
        (leg_id, gtin),
    ).fetchall()
    return [(int(i), float(used), float(budget)) for i, used, budget in rows]
