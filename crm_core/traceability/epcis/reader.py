"""An EPCIS 2.0 document read back into the chain's own import document (:class:`Network`).

The reverse of :mod:`export`: a leg is the ``shipping`` ObjectEvent of a bill of lading
(``bizTransactionList``, type ``bol``) and leg number (``cl:legSeq``); its pallets come from
``packing`` AggregationEvents, its arrival from a ``receiving`` ObjectEvent with pallets in
``epcList``, its loggers from ``sensorElementList`` metadata. A ``receiving`` ObjectEvent
with quantities only is a delivery to a store; a TransformationEvent is a repacking. An
event this system cannot place is refused by name, never skipped.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from crm_core.traceability import gs1
from crm_core.traceability.epcis import terms as t
from crm_core.traceability.epcis.masterdata import read_master_data
from crm_core.traceability.model import Network, TraceabilityError

LegKey = tuple[str, int]
# CBV values may come bare ("shipping"), as URNs or as GS1 web URIs
_STEP_PREFIXES = ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-", "cbv:BizStep-")


def _step(event: dict[str, Any]) -> str:
    step = str(event.get("bizStep", ""))
    for prefix in _STEP_PREFIXES:
        if step.startswith(prefix):
            return step[len(prefix) :]
    return step


def _leg_key(event: dict[str, Any], where: str) -> LegKey:
    bols = [
        b
        for b in event.get("bizTransactionList", [])
        if b.get("type", "bol") in ("bol", "urn:epcglobal:cbv:btt:bol")
    ]
    if len(bols) != 1:
        raise TraceabilityError(f"{where}: needs exactly one bill of lading (bizTransaction bol)")
    seq = event.get(t.LEG_SEQ)
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TraceabilityError(f"{where}: needs {t.LEG_SEQ} (the leg's number, an integer)")
    return t.shipment_of_bt(bols[0]["bizTransaction"]), seq


def _quantities(items: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    out = []
    for q in items:
        quantity = q.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or "uom" in q:
            raise TraceabilityError(f"{where}: quantities must be whole counts without uom")
        gtin, lot = gs1.parse_lgtin(q["epcClass"])
        out.append({"gtin": gtin, "lot": lot, "quantity": quantity})
    return out


def _location(event: dict[str, Any], key: str, where: str) -> str:
    if key not in event:
        raise TraceabilityError(f"{where}: needs {key}")
    return gs1.parse_sgln(event[key]["id"])


def _route(event: dict[str, Any], where: str) -> tuple[str, str]:
    sources = [s["source"] for s in event.get("sourceList", []) if s["type"] == "location"]
    dests = [d["destination"] for d in event.get("destinationList", []) if d["type"] == "location"]
    if len(dests) != 1:
        raise TraceabilityError(f"{where}: needs one destination of type location")
    origin = gs1.parse_sgln(sources[0]) if sources else _location(event, "readPoint", where)
    return origin, gs1.parse_sgln(dests[0])


class _Reader:
    """Collects what each event says about legs, deliveries and repacking."""

    def __init__(self) -> None:
        self.legs: dict[LegKey, dict[str, Any]] = {}
        self.pallets: dict[LegKey, list[dict[str, Any]]] = defaultdict(list)
        self.arrivals: dict[LegKey, str] = {}
        self.loggers: dict[LegKey, list[dict[str, Any]]] = defaultdict(list)
        self.deliveries: list[dict[str, Any]] = []
        self.transformations: list[dict[str, Any]] = []

    def event(self, event: dict[str, Any], where: str) -> None:
        kind, step = event.get("type"), _step(event)
        if kind == "AggregationEvent" and event.get("action") == "ADD":
            self.packing(event, where)
        elif kind == "ObjectEvent" and step == "shipping":
            self.shipping(event, where)
        elif kind == "ObjectEvent" and step == "sensor_reporting":
            self.sensors(event, where)
        elif kind == "ObjectEvent" and step == "receiving" and "epcList" in event:
            self.arrivals[_leg_key(event, where)] = event["eventTime"]
        elif kind == "ObjectEvent" and step == "receiving":
            self.delivery(event, where)
        elif kind == "TransformationEvent":
            self.repacking(event, where)
        else:
            raise TraceabilityError(f"{where}: not an event this system records")

    def packing(self, event: dict[str, Any], where: str) -> None:
        key = _leg_key(event, where)
        sscc = gs1.parse_sscc(event["parentID"])
        self.pallets[key].extend(
            q | {"sscc": sscc} for q in _quantities(event.get("childQuantityList", []), where)
        )

    def shipping(self, event: dict[str, Any], where: str) -> None:
        key = _leg_key(event, where)
        origin, destination = _route(event, where)
        self.legs[key] = {
            "seq": key[1],
            "origin": origin,
            "destination": destination,
            "carrier": event.get(t.CARRIER, ""),
            "vehicle": event.get(t.VEHICLE, ""),
            "planned_departure": event.get(t.PLANNED_DEPARTURE),
            "planned_arrival": event.get(t.PLANNED_ARRIVAL),
            "departed_at": event["eventTime"],
        }

    def sensors(self, event: dict[str, Any], where: str) -> None:
        key = _leg_key(event, where)
        for element in event.get("sensorElementList", []):
            meta = element.get("sensorMetadata", {})
            if "deviceID" not in meta or "startTime" not in meta:
                raise TraceabilityError(f"{where}: sensorMetadata needs deviceID and startTime")
            self.loggers[key].append(
                {
                    "serial": t.logger_of(meta["deviceID"]),
                    "from_ts": meta["startTime"],
                    "to_ts": meta.get("endTime"),
                }
            )

    def delivery(self, event: dict[str, Any], where: str) -> None:
        store = _location(event, "bizLocation", where)
        leg = _leg_key(event, where) if "bizTransactionList" in event else None
        self.deliveries.extend(
            q
            | {
                "store": store,
                "delivered_at": event["eventTime"],
                "shipment": leg[0] if leg else None,
                "leg_seq": leg[1] if leg else None,
            }
            for q in _quantities(event.get("quantityList", []), where)
        )

    def repacking(self, event: dict[str, Any], where: str) -> None:
        if "transformationID" not in event:
            raise TraceabilityError(f"{where}: needs a transformationID")
        self.transformations.append(
            {
                "reference": t.transformation_of(event["transformationID"]),
                "site": _location(event, "bizLocation", where),
                "at": event["eventTime"],
                "inputs": _quantities(event.get("inputQuantityList", []), where),
                "outputs": _quantities(event.get("outputQuantityList", []), where),
            }
        )

    def shipments(self) -> list[dict[str, Any]]:
        stray = (set(self.pallets) | set(self.arrivals) | set(self.loggers)) - set(self.legs)
        if stray:
            ref, seq = sorted(stray)[0]
            raise TraceabilityError(
                f"leg {seq} of shipment {ref!r} has events but no shipping event"
            )
        by_reference: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for key in sorted(self.legs):
            by_reference[key[0]].append(
                self.legs[key]
                | {
                    "arrived_at": self.arrivals.get(key),
                    "lots": self.pallets[key],
                    "loggers": self.loggers[key],
                }
            )
        return [{"reference": r, "legs": legs} for r, legs in by_reference.items()]


def read_document(document: dict[str, Any]) -> Network:
    """The chain a schema-valid EPCISDocument describes; raises :class:`TraceabilityError`."""
    if document.get("type") != "EPCISDocument":
        raise TraceabilityError("expected an EPCISDocument")
    header = document.get("epcisHeader", {}).get("epcisMasterData", {})
    sites, products, lots = read_master_data(header.get("vocabularyList", []))
    reader = _Reader()
    for n, event in enumerate(document["epcisBody"]["eventList"]):
        reader.event(event, f"event {n} ({event.get('type')} {_step(event) or '-'})")
    shipments = reader.shipments()
    return Network.model_validate(
        {
            "products": products,
            "sites": sites,
            "lots": lots
            + _lots_named(reader.pallets, reader.deliveries, reader.transformations, lots),
            "shipments": shipments,
            "deliveries": reader.deliveries,
            "transformations": reader.transformations,
        }
    )


def _lots_named(
    pallets: dict[LegKey, list[dict[str, Any]]],
    deliveries: list[dict[str, Any]],
    transformations: list[dict[str, Any]],
    known: list[Any],
) -> list[dict[str, str]]:
    """Lots the events name that the master data does not: created bare (no dates)."""
    named = {(q["gtin"], q["lot"]) for qs in pallets.values() for q in qs}
    named |= {(d["gtin"], d["lot"]) for d in deliveries}
    named |= {(q["gtin"], q["lot"]) for x in transformations for q in x["inputs"] + x["outputs"]}
    named -= {(lot.gtin, lot.lot) for lot in known}
    return [{"gtin": g, "lot": c} for g, c in sorted(named)]
