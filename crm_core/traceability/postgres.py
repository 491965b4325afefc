"""Writing the supply chain to PostgreSQL: one imported document, one transaction.

Every insert is keyed on the row's natural key and does nothing when it is there already,
so that a document imported again (a retried request, a redelivered feed) changes nothing.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.audit import record_audit
from crm_core.traceability.model import ImportResult, Network, TraceabilityError

Conn = psycopg.Connection[TupleRow]


def _lot_ids(conn: Conn, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not keys:
        return {}
    gtins, lots = zip(*sorted(keys), strict=True)
    rows = conn.execute(
        "SELECT l.gtin, l.lot_code, l.id FROM lots l "
        "JOIN unnest(%s::text[], %s::text[]) AS k(g, c) ON l.gtin = k.g AND l.lot_code = k.c",
        (list(gtins), list(lots)),
    ).fetchall()
    found = {(str(g), str(c)): int(i) for g, c, i in rows}
    missing = keys - found.keys()
    if missing:
        names = ", ".join(f"{g}/{c}" for g, c in sorted(missing)[:5])
        raise TraceabilityError(f"unknown lot(s) {names}: import the lot before its movements")
    return found


def _device_ids(conn: Conn, serials: set[str]) -> dict[str, int]:
    if not serials:
        return {}
    rows = conn.execute(
        "SELECT serial, id, device_type FROM devices WHERE serial = ANY(%s)", (list(serials),)
    ).fetchall()
    found = {str(s): int(i) for s, i, _ in rows}
    missing = serials - found.keys()
    if missing:
        raise TraceabilityError(f"unknown logger(s) {', '.join(sorted(missing)[:5])}")
    return found


def import_network(conn: Conn, doc: Network, *, actor: str, now: datetime) -> ImportResult:
    """Insert what ``doc`` holds that is not there yet, in the caller's transaction."""
    cur = conn.cursor()
    counts = dict.fromkeys(("products", "sites", "lots", "shipments", "legs"), 0)
    counts |= {"deliveries": 0, "purchases": 0, "transformations": 0}
    for p in doc.products:
        cur.execute(
            "INSERT INTO products (gtin, name, temp_class, range_min, range_max, "
            "single_limit_min, budget_min) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (gtin) DO NOTHING",
            (
                p.gtin,
                p.name,
                p.temp_class,
                p.range_min,
                p.range_max,
                p.single_limit_min,
                p.budget_min,
            ),
        )
        counts["products"] += cur.rowcount
    for s in doc.sites:
        cur.execute(
            "INSERT INTO supply_sites (gln, name, kind, email) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (gln) DO NOTHING",
            (s.gln, s.name, s.kind, s.email),
        )
        counts["sites"] += cur.rowcount
    for lot in doc.lots:
        try:
            cur.execute(
                "INSERT INTO lots (gtin, lot_code, produced_on, expires_on) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (gtin, lot_code) DO NOTHING",
                (lot.gtin, lot.lot, lot.produced_on, lot.expires_on),
            )
        except psycopg.errors.ForeignKeyViolation as exc:
            raise TraceabilityError(f"lot {lot.lot}: unknown product {lot.gtin}") from exc
        counts["lots"] += cur.rowcount
    keys = {(x.gtin, x.lot) for s in doc.shipments for leg in s.legs for x in leg.lots}
    keys |= {(d.gtin, d.lot) for d in doc.deliveries} | {(p.gtin, p.lot) for p in doc.purchases}
    keys |= {(x.gtin, x.lot) for t in doc.transformations for x in (*t.inputs, *t.outputs)}
    lot_ids = _lot_ids(conn, keys)
    devices = _device_ids(
        conn, {lg.serial for s in doc.shipments for leg in s.legs for lg in leg.loggers}
    )
    try:
        _shipments(conn, doc, lot_ids, devices, counts)
        _sales(conn, doc, lot_ids, counts)
        _transformations(conn, doc, lot_ids, counts)
    except psycopg.errors.ForeignKeyViolation as exc:
        raise TraceabilityError(
            f"a site, customer or lot is not known: {exc.diag.message_detail}"
        ) from exc
    record_audit(
        conn,
        at=now,
        actor=actor,
        entity="supply_chain",
        entity_id="import",
        action="import",
        detail=counts,
    )
    return ImportResult(**counts)


def _shipments(
    conn: Conn,
    doc: Network,
    lot_ids: dict[tuple[str, str], int],
    devices: dict[str, int],
    counts: dict[str, int],
) -> None:
    cur = conn.cursor()
    for shipment in doc.shipments:
        row = conn.execute(
            "INSERT INTO shipments (reference) VALUES (%s) ON CONFLICT (reference) DO NOTHING "
            "RETURNING id",
            (shipment.reference,),
        ).fetchone()
        counts["shipments"] += row is not None
        if row is None:
            found = conn.execute(
                "SELECT id FROM shipments WHERE reference = %s", (shipment.reference,)
            ).fetchone()
            assert found is not None
            row = found
        for leg in shipment.legs:
            got = conn.execute(
                "INSERT INTO shipment_legs (shipment_id, seq, origin_gln, destination_gln, "
                "carrier, vehicle, planned_departure, planned_arrival, departed_at, arrived_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (shipment_id, seq) DO UPDATE SET arrived_at = "
                "coalesce(shipment_legs.arrived_at, excluded.arrived_at) RETURNING id, xmax = 0",
                (
                    row[0],
                    leg.seq,
                    leg.origin,
                    leg.destination,
                    leg.carrier,
                    leg.vehicle,
                    leg.planned_departure,
                    leg.planned_arrival,
                    leg.departed_at,
                    leg.arrived_at,
                ),
            ).fetchone()
            assert got is not None
            leg_id = int(got[0])
            counts["legs"] += bool(got[1])
            cur.executemany(
                "INSERT INTO leg_lots (leg_id, lot_id, sscc, quantity) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                [(leg_id, lot_ids[(x.gtin, x.lot)], x.sscc, x.quantity) for x in leg.lots],
            )
            cur.executemany(
                "INSERT INTO logger_assignments (leg_id, device_id, from_ts, to_ts) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (leg_id, device_id, from_ts) "
                "DO UPDATE SET to_ts = excluded.to_ts",
                [(leg_id, devices[lg.serial], lg.from_ts, lg.to_ts) for lg in leg.loggers],
            )


def _sales(
    conn: Conn, doc: Network, lot_ids: dict[tuple[str, str], int], counts: dict[str, int]
) -> None:
    cur = conn.cursor()
    for d in doc.deliveries:
        leg_id = None
        if d.shipment is not None and d.leg_seq is not None:
            found = conn.execute(
                "SELECT l.id FROM shipment_legs l JOIN shipments s ON s.id = l.shipment_id "
                "WHERE s.reference = %s AND l.seq = %s",
                (d.shipment, d.leg_seq),
            ).fetchone()
            if found is None:
                raise TraceabilityError(f"delivery: no leg {d.leg_seq} of shipment {d.shipment}")
            leg_id = found[0]
        cur.execute(
            "INSERT INTO deliveries (lot_id, store_gln, leg_id, quantity, delivered_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (lot_ids[(d.gtin, d.lot)], d.store, leg_id, d.quantity, d.delivered_at),
        )
        counts["deliveries"] += cur.rowcount
    for p in doc.purchases:
        cur.execute(
            "INSERT INTO purchases (customer_id, lot_id, store_gln, receipt, quantity, bought_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (receipt, lot_id) DO NOTHING",
            (p.customer_id, lot_ids[(p.gtin, p.lot)], p.store, p.receipt, p.quantity, p.bought_at),
        )
        counts["purchases"] += cur.rowcount


def _transformations(
    conn: Conn, doc: Network, lot_ids: dict[tuple[str, str], int], counts: dict[str, int]
) -> None:
    """A transformation is written whole the first time its reference is seen, never after."""
    cur = conn.cursor()
    for t in doc.transformations:
        row = conn.execute(
            "INSERT INTO lot_transformations (reference, site_gln, transformed_at) "
            "VALUES (%s, %s, %s) ON CONFLICT (reference) DO NOTHING RETURNING id",
            (t.reference, t.site, t.at),
        ).fetchone()
        if row is None:
            continue
        counts["transformations"] += 1
        cur.executemany(
            "INSERT INTO transformation_lots (transformation_id, role, lot_id, quantity) "
            "VALUES (%s, %s, %s, %s)",
            [(row[0], "input", lot_ids[(x.gtin, x.lot)], x.quantity) for x in t.inputs]
            + [(row[0], "output", lot_ids[(x.gtin, x.lot)], x.quantity) for x in t.outputs],
        )
