"""A recall's evidence: the leg that broke a rule, with its readings, MKT and excursions,
and each lot's stability budget used across its legs."""

from __future__ import annotations

from typing import Any

from crm_core.recalls.postgres import Conn


def leg_evidence(conn: Conn, leg_id: int, gtin: str) -> dict[str, Any]:
    leg = conn.execute(
        "SELECT s.reference, l.seq, l.vehicle, l.carrier, l.origin_gln, l.destination_gln, "
        "l.departed_at, l.arrived_at FROM shipment_legs l JOIN shipments s ON s.id = l.shipment_id "
        "WHERE l.id = %s",
        (leg_id,),
    ).fetchone()
    ev = conn.execute(
        "SELECT readings, min_temp, max_temp, mean_temp, mkt, tor_min, longest_min, breached "
        "FROM leg_evaluations WHERE leg_id = %s AND gtin = %s",
        (leg_id, gtin),
    ).fetchone()
    product = conn.execute(
        "SELECT name, range_min, range_max, single_limit_min, budget_min FROM products "
        "WHERE gtin = %s",
        (gtin,),
    ).fetchone()
    excursions = conn.execute(
        "SELECT kind, started_at, ended_at, minutes, peak FROM excursions "
        "WHERE leg_id = %s AND gtin = %s AND kind IN ('high', 'low') ORDER BY started_at",
        (leg_id, gtin),
    ).fetchall()
    assert leg is not None
    assert product is not None
    return {
        "leg_id": leg_id,
        "shipment": leg[0],
        "leg_seq": leg[1],
        "vehicle": leg[2],
        "carrier": leg[3],
        "from": leg[4],
        "to": leg[5],
        "departed_at": leg[6].isoformat(),
        "arrived_at": leg[7].isoformat() if leg[7] else None,
        "gtin": gtin,
        "product": product[0],
        "range": [product[1], product[2]],
        "rule": {"single_limit_min": product[3], "budget_min": product[4]},
        "readings": ev[0] if ev else 0,
        "min_temp": ev[1] if ev else None,
        "max_temp": ev[2] if ev else None,
        "mean_temp": ev[3] if ev else None,
        "mkt": ev[4] if ev else None,
        "tor_min": ev[5] if ev else 0.0,
        "longest_min": ev[6] if ev else 0.0,
        "breached": list(ev[7]) if ev else [],
        "excursions": [
            {"kind": k, "from": a.isoformat(), "to": b.isoformat(), "minutes": m, "peak": p}
            for k, a, b, m, p in excursions
        ],
    }


def budget_used(conn: Conn, lot_ids: list[int]) -> dict[int, tuple[float, int]]:
    rows = conn.execute(
        "SELECT l.id, coalesce(sum(e.tor_min), 0), p.budget_min FROM lots l "
        "JOIN products p ON p.gtin = l.gtin "
        "LEFT JOIN (SELECT DISTINCT leg_id, lot_id FROM leg_lots) ll ON ll.lot_id = l.id "
        "LEFT JOIN leg_evaluations e ON e.leg_id = ll.leg_id AND e.gtin = l.gtin "
        "WHERE l.id = ANY(%s) GROUP BY l.id, p.budget_min",
        (lot_ids,),
    ).fetchall()
    return {int(i): (float(u), int(b)) for i, u, b in rows}
