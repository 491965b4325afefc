"""Traces through the supply chain, both ways (conventions §3.5).

Forward, from a shipment or one leg: the lots it carried and the lots they were repacked
into, every other leg those lots travelled, the stores that received them and the customers
who bought them. Backward, from
a lot (or a receipt): its legs, and those of the lots it was repacked from, with their
loggers, measures and excursions, and where it went. Each is a handful of index lookups
(``leg_lots_lot``, ``purchases_lot``, ``transformation_lots_lot``), whatever the size of the
readings table, which a trace never reads.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow
from pydantic import Field

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import ReadModel, UtcDateTime
from crm_core.traceability.lineage import TransformationRef, lineage, transformations_of
from crm_core.traceability.mkt import MktTerms

Conn = psycopg.Connection[TupleRow]


class LotRef(ReadModel):
    lot_id: int
    gtin: str
    lot: str
    product: str


class LegRef(ReadModel):
    leg_id: int
    shipment: str
    seq: int
    origin: str
    destination: str
    vehicle: str
    departed_at: UtcDateTime
    arrived_at: UtcDateTime | None


class StoreRef(ReadModel):
    gln: str
    name: str
    lots: list[int]


class CustomerRef(ReadModel):
    customer_id: int
    name: str
    email: str | None
    lots: list[int]


class ForwardTrace(ReadModel):
    lots: list[LotRef]
    legs: list[LegRef]
    stores: list[StoreRef]
    customers: list[CustomerRef]
    repacked: list[TransformationRef] = Field(default_factory=list)


LEG_COLUMNS = (
    "l.id, s.reference, l.seq, l.origin_gln, l.destination_gln, l.vehicle, l.departed_at, "
    "l.arrived_at"
)


def _leg(row: tuple[object, ...]) -> LegRef:
    return LegRef(
        leg_id=row[0],
        shipment=row[1],
        seq=row[2],
        origin=row[3],
        destination=row[4],
        vehicle=row[5],
        departed_at=row[6],
        arrived_at=row[7],
    )


def forward_from_lots(
    conn: Conn, lot_ids: list[int], *, through_repacking: bool = True
) -> ForwardTrace:
    """Where ``lot_ids`` went, and (``through_repacking``) the lots they were repacked into:
    their legs, the stores that received them, their buyers. A recall's notices go to the
    reach of its approved lots alone (its scope lists the repacked lots itself)."""
    lot_ids = lineage(conn, lot_ids, "down") if through_repacking else sorted(set(lot_ids))
    lots = [
        LotRef(lot_id=i, gtin=g, lot=c, product=n)
        for i, g, c, n in conn.execute(
            "SELECT l.id, l.gtin, l.lot_code, p.name FROM lots l JOIN products p USING (gtin) "
            "WHERE l.id = ANY(%s) ORDER BY l.id",
            (lot_ids,),
        ).fetchall()
    ]
    legs = [
        _leg(r)
        for r in conn.execute(
            f"SELECT DISTINCT {LEG_COLUMNS} FROM leg_lots ll "
            "JOIN shipment_legs l ON l.id = ll.leg_id JOIN shipments s ON s.id = l.shipment_id "
            "WHERE ll.lot_id = ANY(%s) ORDER BY l.departed_at, l.id",
            (lot_ids,),
        ).fetchall()
    ]
    stores = [
        StoreRef(gln=g, name=n, lots=sorted(ls))
        for g, n, ls in conn.execute(
            "SELECT d.store_gln, s.name, array_agg(DISTINCT d.lot_id) FROM deliveries d "
            "JOIN supply_sites s ON s.gln = d.store_gln WHERE d.lot_id = ANY(%s) "
            "GROUP BY d.store_gln, s.name ORDER BY d.store_gln",
            (lot_ids,),
        ).fetchall()
    ]
    customers = [
        CustomerRef(customer_id=i, name=n, email=e, lots=sorted(ls))
        for i, n, e, ls in conn.execute(
            "SELECT c.id, c.name, c.email, b.lots FROM (SELECT customer_id, "
            "array_agg(DISTINCT lot_id) AS lots FROM purchases WHERE lot_id = ANY(%s) "
            "GROUP BY customer_id) b JOIN customers c ON c.id = b.customer_id ORDER BY c.id",
            (lot_ids,),
        ).fetchall()
    ]
    return ForwardTrace(
        lots=lots,
        legs=legs,
        stores=stores,
        customers=customers,
        repacked=transformations_of(conn, lot_ids),
    )


def lots_of_shipment(conn: Conn, shipment: str) -> list[int]:
    row = conn.execute("SELECT id FROM shipments WHERE reference = %s", (shipment,)).fetchone()
    if row is None:
        raise NotFound(f"no shipment {shipment!r}")
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT ll.lot_id FROM shipment_legs l JOIN leg_lots ll ON ll.leg_id = l.id "
            "WHERE l.shipment_id = %s ORDER BY 1",
            (row[0],),
        ).fetchall()
    ]


def lots_of_leg(conn: Conn, leg_id: int, gtin: str | None = None) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT DISTINCT ll.lot_id FROM leg_lots ll JOIN lots l ON l.id = ll.lot_id "
            "WHERE ll.leg_id = %s AND (%s::text IS NULL OR l.gtin = %s) ORDER BY 1",
            (leg_id, gtin, gtin),
        ).fetchall()
    ]


def forward_from_shipment(conn: Conn, shipment: str) -> ForwardTrace:
    return forward_from_lots(conn, lots_of_shipment(conn, shipment))


class Excursion(ReadModel):
    kind: str
    started_at: UtcDateTime
    ended_at: UtcDateTime
    minutes: float
    peak: float | None
    breaches_rule: bool


class LegHistory(ReadModel):
    leg: LegRef
    lot_id: int  # the lot on this leg: the traced lot or one it was repacked from
    sscc: list[str]
    loggers: list[str]
    readings: int
    min_temp: float | None
    max_temp: float | None
    mkt: float | None
    tor_min: float
    breached: list[str]
    excursions: list[Excursion]


class BackwardTrace(ReadModel):
    lot: LotRef
    range_min: float
    range_max: float
    budget_min: int
    budget_used_min: float
    lot_mkt: float | None
    legs: list[LegHistory]
    stores: list[StoreRef]
    sources: list[LotRef] = Field(
        default_factory=list
    )  # the lots it was repacked from (their legs are in ``legs``)
    repacked: list[TransformationRef] = Field(default_factory=list)


def find_lot(conn: Conn, gtin: str, lot: str) -> int:
    row = conn.execute(
        "SELECT id FROM lots WHERE gtin = %s AND lot_code = %s", (gtin, lot)
    ).fetchone()
    if row is None:
        raise NotFound(f"no lot {lot!r} of GTIN {gtin}")
    return int(row[0])


def lots_of_receipt(conn: Conn, receipt: str) -> list[int]:
    rows = conn.execute(
        "SELECT DISTINCT lot_id FROM purchases WHERE receipt = %s ORDER BY 1", (receipt,)
    ).fetchall()
    if not rows:
        raise NotFound(f"no receipt {receipt!r}")
    return [int(r[0]) for r in rows]


def backward_from_lot(conn: Conn, lot_id: int) -> BackwardTrace:
    """The lot's journey, and that of the lots it was repacked from, with each leg's
    temperature verdict, and its budget ledger across all of them."""
    head = conn.execute(
        "SELECT l.id, l.gtin, l.lot_code, p.name, p.range_min, p.range_max, p.budget_min "
        "FROM lots l JOIN products p USING (gtin) WHERE l.id = %s",
        (lot_id,),
    ).fetchone()
    if head is None:
        raise NotFound(f"no lot {lot_id}")
    upstream = lineage(conn, [lot_id], "up")
    refs = {
        i: LotRef(lot_id=i, gtin=g, lot=c, product=n)
        for i, g, c, n in conn.execute(
            "SELECT l.id, l.gtin, l.lot_code, p.name FROM lots l JOIN products p USING (gtin) "
            "WHERE l.id = ANY(%s)",
            (upstream,),
        ).fetchall()
    }
    # a source lot's legs count up to its repacking into this lineage; where else the
    # rest of it went afterwards is not this lot's history
    journey = conn.execute(
        f"SELECT DISTINCT ll.lot_id, {LEG_COLUMNS} FROM leg_lots ll "
        "JOIN shipment_legs l ON l.id = ll.leg_id JOIN shipments s ON s.id = l.shipment_id "
        "LEFT JOIN (SELECT i.lot_id, max(t.transformed_at) AS repacked_at "
        "  FROM transformation_lots i JOIN lot_transformations t ON t.id = i.transformation_id "
        "  JOIN transformation_lots o ON o.transformation_id = i.transformation_id "
        "   AND o.role = 'output' AND o.lot_id = ANY(%(lots)s) "
        "  WHERE i.role = 'input' GROUP BY i.lot_id) cut ON cut.lot_id = ll.lot_id "
        "WHERE ll.lot_id = ANY(%(lots)s) "
        "AND (ll.lot_id = %(lot)s OR cut.repacked_at IS NULL OR l.departed_at < cut.repacked_at) "
        "ORDER BY l.departed_at, l.id, ll.lot_id",
        {"lots": upstream, "lot": lot_id},
    ).fetchall()
    histories: list[LegHistory] = []
    used, weight, total = 0.0, 0.0, 0.0
    for row in journey:
        on_leg, leg = int(row[0]), _leg(row[1:])
        history = _leg_history(conn, leg, on_leg, refs[on_leg].gtin)
        histories.append(history[0])
        used, weight, total = used + history[1], weight + history[2], total + history[3]
    forward = forward_from_lots(conn, [lot_id])
    return BackwardTrace(
        lot=refs[lot_id],
        range_min=head[4],
        range_max=head[5],
        budget_min=head[6],
        budget_used_min=used,
        lot_mkt=MktTerms(weight, total).celsius(),
        legs=histories,
        stores=forward.stores,
        sources=[refs[i] for i in upstream if i != lot_id],
        repacked=[t for t in transformations_of(conn, upstream) if set(t.outputs) & set(upstream)],
    )


def _leg_history(
    conn: Conn, leg: LegRef, lot_id: int, gtin: str
) -> tuple[LegHistory, float, float, float]:
    """One leg as the lot lived it, with the leg's TOR and MKT terms for the ledger."""
    sscc = [
        str(r[0])
        for r in conn.execute(
            "SELECT sscc FROM leg_lots WHERE leg_id = %s AND lot_id = %s ORDER BY 1",
            (leg.leg_id, lot_id),
        ).fetchall()
    ]
    loggers = [
        str(r[0])
        for r in conn.execute(
            "SELECT d.serial FROM logger_assignments a JOIN devices d ON d.id = a.device_id "
            "WHERE a.leg_id = %s ORDER BY a.from_ts",
            (leg.leg_id,),
        ).fetchall()
    ]
    ev = conn.execute(
        "SELECT readings, min_temp, max_temp, mkt, tor_min, breached, mkt_weight, mkt_sum "
        "FROM leg_evaluations WHERE leg_id = %s AND gtin = %s",
        (leg.leg_id, gtin),
    ).fetchone()
    excursions = [
        Excursion(kind=k, started_at=a, ended_at=b, minutes=m, peak=p, breaches_rule=r)
        for k, a, b, m, p, r in conn.execute(
            "SELECT kind, started_at, ended_at, minutes, peak, breaches_rule FROM excursions "
            "WHERE leg_id = %s AND gtin = %s ORDER BY started_at",
            (leg.leg_id, gtin),
        ).fetchall()
    ]
    history = LegHistory(
        leg=leg,
        lot_id=lot_id,
        sscc=sscc,
        loggers=loggers,
        readings=ev[0] if ev else 0,
        min_temp=ev[1] if ev else None,
        max_temp=ev[2] if ev else None,
        mkt=ev[3] if ev else None,
        tor_min=ev[4] if ev else 0.0,
        breached=list(ev[5]) if ev else [],
        excursions=excursions,
    )
    if ev is None:
        return history, 0.0, 0.0, 0.0
    return history, float(ev[4]), float(ev[6]), float(ev[7])
