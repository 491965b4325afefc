"""The supply chain as an EPCIS 2.0 JSON-LD document, for a lot, a shipment or a period.

Per leg: an AggregationEvent per pallet (SSCC parent, lots as LGTIN quantities), an
ObjectEvent ``shipping`` at the origin and ``receiving`` at the destination (pallets in
``epcList``, lots in ``quantityList``, places as SGLNs), and an ObjectEvent
``sensor_reporting`` per logger with a ``sensorElementList``: the interval summary GS1
recommends (min, max, mean over the logger's window), not every reading. Deliveries to
stores are ``receiving`` ObjectEvents with quantities only; repacking is a
TransformationEvent. Sites, products and lots go in the header's master data. Purchases
are not exported: they name our customers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from crm_core.kernel.errors import NotFound
from crm_core.traceability import gs1
from crm_core.traceability.epcis import terms as t
from crm_core.traceability.epcis.masterdata import master_data
from crm_core.traceability.model import TraceabilityError
from crm_core.traceability.queries import Conn

Event = dict[str, Any]
STEP_ORDER = {"packing": 0, "shipping": 1, "sensor_reporting": 2, "receiving": 3, "repackaging": 4}

LEGS = """
SELECT l.id, s.reference, l.seq, l.origin_gln, l.destination_gln, l.carrier, l.vehicle,
       l.planned_departure, l.planned_arrival, l.departed_at, l.arrived_at
  FROM shipment_legs l JOIN shipments s ON s.id = l.shipment_id
 WHERE l.id = ANY(%s) ORDER BY s.reference, l.seq
"""

LOGGERS = """
SELECT a.leg_id, d.serial, a.from_ts, a.to_ts, r.n, r.lo, r.hi, r.mean,
       EXISTS (SELECT 1 FROM leg_evaluations e WHERE e.leg_id = a.leg_id AND e.breached <> '{}')
  FROM logger_assignments a
  JOIN devices d ON d.id = a.device_id
  JOIN shipment_legs l ON l.id = a.leg_id
  LEFT JOIN LATERAL (
      SELECT count(*) AS n, min(x.value) AS lo, max(x.value) AS hi, avg(x.value) AS mean
        FROM readings x
       WHERE x.device_id = a.device_id
         AND x.metric_id = (SELECT id FROM metrics WHERE key = %s)
         AND x.ts >= greatest(a.from_ts, l.departed_at)
         AND x.ts <= least(coalesce(a.to_ts, 'infinity'), coalesce(l.arrived_at, 'infinity'))
  ) r ON true
 WHERE a.leg_id = ANY(%s) ORDER BY a.leg_id, a.from_ts, d.serial
"""


def _scope(
    conn: Conn,
    lot_id: int | None,
    shipment: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[int], list[int], list[int]]:
    """The legs, deliveries and transformations a request covers."""
    if lot_id is not None:
        if conn.execute("SELECT 1 FROM lots WHERE id = %s", (lot_id,)).fetchone() is None:
            raise NotFound(f"no lot {lot_id}")
        legs = "SELECT DISTINCT leg_id FROM leg_lots WHERE lot_id = %(x)s"
        deliveries = "SELECT id FROM deliveries WHERE lot_id = %(x)s"
        repacks = "SELECT transformation_id FROM transformation_lots WHERE lot_id = %(x)s"
        args: dict[str, Any] = {"x": lot_id}
    elif shipment is not None:
        found = conn.execute("SELECT id FROM shipments WHERE reference = %s", (shipment,))
        row = found.fetchone()
        if row is None:
            raise NotFound(f"no shipment {shipment!r}")
        legs = "SELECT id FROM shipment_legs WHERE shipment_id = %(x)s"
        deliveries = f"SELECT id FROM deliveries WHERE leg_id IN ({legs})"
        repacks = "SELECT NULL::bigint WHERE false"
        args = {"x": row[0]}
    elif since is not None or until is not None:
        period = (
            "(%(s)s::timestamptz IS NULL OR {c} >= %(s)s) "
            "AND (%(u)s::timestamptz IS NULL OR {c} < %(u)s)"
        )
        legs = "SELECT id FROM shipment_legs WHERE " + period.format(c="departed_at")
        deliveries = "SELECT id FROM deliveries WHERE " + period.format(c="delivered_at")
        repacks = "SELECT id FROM lot_transformations WHERE " + period.format(c="transformed_at")
        args = {"s": since, "u": until}
    else:
        raise TraceabilityError("give a lot, a shipment or a period (since, until)")
    return tuple(  # type: ignore[return-value]
        [int(r[0]) for r in conn.execute(f"SELECT * FROM ({q}) x ORDER BY 1", args).fetchall()]
        for q in (legs, deliveries, repacks)
    )


def _where(gln: str) -> dict[str, str]:
    return {"id": gs1.sgln_urn(gln)}


def _base(kind: str, key: tuple[object, ...], at: datetime) -> Event:
    return {
        "type": kind,
        "eventID": t.event_id(*key),
        "eventTime": t.when(at),
        "eventTimeZoneOffset": "+00:00",
    }


def _leg_events(conn: Conn, leg_ids: list[int], temperature_metric: str) -> list[Event]:
    cargo: dict[int, dict[str, list[tuple[str, str, int]]]] = defaultdict(lambda: defaultdict(list))
    for leg_id, sscc, gtin, lot, qty in conn.execute(
        "SELECT ll.leg_id, ll.sscc, l.gtin, l.lot_code, ll.quantity FROM leg_lots ll "
        "JOIN lots l ON l.id = ll.lot_id WHERE ll.leg_id = ANY(%s) "
        "ORDER BY ll.leg_id, ll.sscc, l.gtin, l.lot_code",
        (leg_ids,),
    ).fetchall():
        cargo[leg_id][sscc].append((gtin, lot, qty))
    loggers: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in conn.execute(LOGGERS, (temperature_metric, leg_ids)).fetchall():
        loggers[row[0]].append(row[1:])
    events: list[Event] = []
    for leg_id, ref, seq, origin, dest, carrier, vehicle, p_dep, p_arr, dep, arr in conn.execute(
        LEGS, (leg_ids,)
    ).fetchall():
        pallets = cargo[leg_id]
        bt = [{"type": "bol", "bizTransaction": t.bt_uri(origin, ref)}]
        epcs = [gs1.sscc_urn(s) for s in sorted(pallets)]
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for items in pallets.values():
            for gtin, lot, qty in items:
                totals[(gtin, lot)] += qty
        quantities = [
            {"epcClass": gs1.lgtin_urn(g, lot), "quantity": q}
            for (g, lot), q in sorted(totals.items())
        ]
        route = {
            "sourceList": [{"type": "location", "source": gs1.sgln_urn(origin)}],
            "destinationList": [{"type": "location", "destination": gs1.sgln_urn(dest)}],
        }
        events.extend(
            _base("AggregationEvent", ("pack", ref, seq, sscc), dep)
            | {
                "parentID": gs1.sscc_urn(sscc),
                "childQuantityList": [
                    {"epcClass": gs1.lgtin_urn(g, lot), "quantity": q}
                    for g, lot, q in pallets[sscc]
                ],
                "action": "ADD",
                "bizStep": "packing",
                "disposition": "container_closed",
                "readPoint": _where(origin),
                "bizLocation": _where(origin),
                "bizTransactionList": bt,
                t.LEG_SEQ: seq,
            }
            for sscc in sorted(pallets)
        )
        shipping = _base("ObjectEvent", ("ship", ref, seq), dep) | {
            "epcList": epcs,
            "quantityList": quantities,
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": _where(origin),
            "bizTransactionList": bt,
            **route,
            t.LEG_SEQ: seq,
            t.CARRIER: carrier,
            t.VEHICLE: vehicle,
        }
        if p_dep is not None:
            shipping[t.PLANNED_DEPARTURE] = t.when(p_dep)
        if p_arr is not None:
            shipping[t.PLANNED_ARRIVAL] = t.when(p_arr)
        events.append(shipping)
        events.extend(
            _sensor_event(ref, seq, origin, arr, bt, epcs, row) for row in loggers[leg_id]
        )
        if arr is not None:
            events.append(
                _base("ObjectEvent", ("receive", ref, seq), arr)
                | {
                    "epcList": epcs,
                    "quantityList": quantities,
                    "action": "OBSERVE",
                    "bizStep": "receiving",
                    "disposition": "in_progress",
                    "readPoint": _where(dest),
                    "bizLocation": _where(dest),
                    "bizTransactionList": bt,
                    **route,
                    t.LEG_SEQ: seq,
                }
            )
    return events


def _sensor_event(
    ref: str,
    seq: int,
    origin: str,
    arrived: datetime | None,
    bt: list[dict[str, str]],
    epcs: list[str],
    row: tuple[Any, ...],
) -> Event:
    """One logger's window on a leg as GS1's interval summary (min, max, mean)."""
    serial, from_ts, to_ts, n, lo, hi, mean, breached = row
    report: dict[str, Any] = {"type": t.TEMPERATURE_TYPE}
    if n:
        report |= {
            "minValue": round(float(lo), 3),
            "maxValue": round(float(hi), 3),
            "meanValue": round(float(mean), 3),
        }
        if breached:
            report["exception"] = "ALARM_CONDITION"
    report["uom"] = t.CELSIUS
    metadata = {"deviceID": t.logger_uri(serial), "startTime": t.when(from_ts)}
    if to_ts is not None:
        metadata["endTime"] = t.when(to_ts)
    return _base(
        "ObjectEvent", ("sensor", ref, seq, serial, from_ts), to_ts or arrived or from_ts
    ) | {
        "epcList": epcs,
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        "readPoint": _where(origin),
        "bizTransactionList": bt,
        "sensorElementList": [{"sensorMetadata": metadata, "sensorReport": [report]}],
        t.LEG_SEQ: seq,
    }


def _delivery_events(conn: Conn, ids: list[int]) -> list[Event]:
    events: list[Event] = []
    for gtin, lot, store, qty, at, ref, seq, origin in conn.execute(
        "SELECT l.gtin, l.lot_code, d.store_gln, d.quantity, d.delivered_at, s.reference, "
        "g.seq, g.origin_gln FROM deliveries d JOIN lots l ON l.id = d.lot_id "
        "LEFT JOIN shipment_legs g ON g.id = d.leg_id "
        "LEFT JOIN shipments s ON s.id = g.shipment_id "
        "WHERE d.id = ANY(%s) ORDER BY d.id",
        (ids,),
    ).fetchall():
        event = _base("ObjectEvent", ("deliver", gtin, lot, store, at), at) | {
            "quantityList": [{"epcClass": gs1.lgtin_urn(gtin, lot), "quantity": qty}],
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "sellable_not_accessible",
            "readPoint": _where(store),
            "bizLocation": _where(store),
        }
        if ref is not None:
            event["bizTransactionList"] = [{"type": "bol", "bizTransaction": t.bt_uri(origin, ref)}]
            event[t.LEG_SEQ] = seq
        events.append(event)
    return events


def _transformation_events(conn: Conn, ids: list[int]) -> list[Event]:
    sides: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for tid, role, gtin, lot, qty in conn.execute(
        "SELECT tl.transformation_id, tl.role, l.gtin, l.lot_code, tl.quantity "
        "FROM transformation_lots tl JOIN lots l ON l.id = tl.lot_id "
        "WHERE tl.transformation_id = ANY(%s) ORDER BY 1, 2, 3, 4",
        (ids,),
    ).fetchall():
        sides[(tid, role)].append({"epcClass": gs1.lgtin_urn(gtin, lot), "quantity": qty})
    return [
        _base("TransformationEvent", ("repack", ref), at)
        | {
            "inputQuantityList": sides[(tid, "input")],
            "outputQuantityList": sides[(tid, "output")],
            "transformationID": t.transformation_uri(ref),
            "bizStep": "repackaging",
            "readPoint": _where(site),
            "bizLocation": _where(site),
        }
        for tid, ref, site, at in conn.execute(
            "SELECT id, reference, site_gln, transformed_at FROM lot_transformations "
            "WHERE id = ANY(%s) ORDER BY id",
            (ids,),
        ).fetchall()
    ]


def export_document(
    conn: Conn,
    *,
    now: datetime,
    temperature_metric: str,
    lot_id: int | None = None,
    shipment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """An EPCISDocument for a lot, a shipment or a period (events in time order)."""
    legs, deliveries, transformations = _scope(conn, lot_id, shipment, since, until)
    events = (
        _leg_events(conn, legs, temperature_metric)
        + _delivery_events(conn, deliveries)
        + _transformation_events(conn, transformations)
    )
    # in time order; at one instant, pallets are packed before they ship, and so on
    events.sort(key=lambda e: (e["eventTime"], STEP_ORDER[e["bizStep"]], e["eventID"]))
    return {
        "@context": t.CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": t.when(now),
        "epcisHeader": {"epcisMasterData": {"vocabularyList": master_data(conn, events)}},
        "epcisBody": {"eventList": events},
    }
