"""EPCIS 2.0: the export is valid against GS1's published JSON schema, and importing it into
an emptied chain gives back exactly the chain (and the same document); invalid documents
are refused by name with nothing written."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.traceability.epcis.schema import InvalidEpcis, validate
from crm_core.traceability.epcis.service import export_epcis, import_epcis
from devices.coldchain.online import TEMPERATURE
from tests.integration.repack_world import NOW, build

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
CHAIN = (
    "transformation_lots, lot_transformations, purchases, deliveries, logger_assignments, "
    "leg_lots, leg_evaluations, excursions, shipment_legs, shipments, lots, products, "
    "supply_sites"
)
# the chain by natural keys (ids differ after a re-import)
SNAPSHOT = {
    "products": "SELECT gtin, name, temp_class, range_min, range_max, single_limit_min, "
    "budget_min FROM products",
    "sites": "SELECT gln, name, kind, email FROM supply_sites",
    "lots": "SELECT gtin, lot_code, produced_on, expires_on FROM lots",
    "legs": "SELECT s.reference, l.seq, l.origin_gln, l.destination_gln, l.carrier, l.vehicle, "
    "l.planned_departure, l.planned_arrival, l.departed_at, l.arrived_at "
    "FROM shipment_legs l JOIN shipments s ON s.id = l.shipment_id",
    "leg_lots": "SELECT s.reference, g.seq, l.gtin, l.lot_code, ll.sscc, ll.quantity "
    "FROM leg_lots ll JOIN lots l ON l.id = ll.lot_id JOIN shipment_legs g ON g.id = ll.leg_id "
    "JOIN shipments s ON s.id = g.shipment_id",
    "loggers": "SELECT s.reference, g.seq, d.serial, a.from_ts, a.to_ts FROM logger_assignments a "
    "JOIN devices d ON d.id = a.device_id JOIN shipment_legs g ON g.id = a.leg_id "
    "JOIN shipments s ON s.id = g.shipment_id",
    "deliveries": "SELECT l.gtin, l.lot_code, d.store_gln, d.quantity, d.delivered_at, "
    "s.reference, g.seq FROM deliveries d JOIN lots l ON l.id = d.lot_id "
    "LEFT JOIN shipment_legs g ON g.id = d.leg_id LEFT JOIN shipments s ON s.id = g.shipment_id",
    "transformations": "SELECT t.reference, t.site_gln, t.transformed_at, tl.role, l.gtin, "
    "l.lot_code, tl.quantity FROM lot_transformations t "
    "JOIN transformation_lots tl ON tl.transformation_id = t.id JOIN lots l ON l.id = tl.lot_id",
}


def snapshot(conn: psycopg.Connection[TupleRow]) -> dict[str, list[tuple[Any, ...]]]:
    return {k: sorted(conn.execute(q).fetchall(), key=repr) for k, q in SNAPSHOT.items()}


def export_all(conn: psycopg.Connection[TupleRow], schema_file: Path) -> dict[str, Any]:
    return export_epcis(
        conn,
        schema_file=schema_file,
        now=NOW,
        temperature_metric=TEMPERATURE,
        since=NOW.replace(year=2000),
    )


def test_export_is_schema_valid_and_reimports_unchanged(db: Pool, schema_file: Path) -> None:
    build(db)
    with db.connection() as conn:
        before = snapshot(conn)
        document = export_all(conn, schema_file)
        validate(json.loads(json.dumps(document)), schema_file)  # as it goes on the wire
        events = document["epcisBody"]["eventList"]
        kinds = {(e["type"], e.get("bizStep")) for e in events}
        assert kinds == {
            ("AggregationEvent", "packing"),
            ("ObjectEvent", "shipping"),
            ("ObjectEvent", "sensor_reporting"),
            ("ObjectEvent", "receiving"),
            ("TransformationEvent", "repackaging"),
        }
        ship = next(e for e in events if e.get("bizStep") == "shipping")
        assert ship["readPoint"]["id"].startswith("urn:epc:id:sgln:")
        assert all(epc.startswith("urn:epc:id:sscc:") for epc in ship["epcList"])
        assert all(q["epcClass"].startswith("urn:epc:class:lgtin:") for q in ship["quantityList"])
        failing = next(
            e
            for e in events
            if e.get("bizStep") == "sensor_reporting"
            and e["sensorElementList"][0]["sensorMetadata"]["deviceID"].endswith("/LG-12")
        )
        report = failing["sensorElementList"][0]["sensorReport"][0]
        assert report["type"] == "gs1:Temperature"
        assert report["uom"] == "CEL"
        assert report["maxValue"] == 14.0
        assert report["minValue"] == 4.0
        repack = next(e for e in events if e["type"] == "TransformationEvent")
        assert repack["inputQuantityList"][0]["epcClass"].endswith(".LM2")
        assert repack["outputQuantityList"][0]["epcClass"].endswith(".LM2-R")

        # the chain emptied (purchases go too: they are not exported), then re-imported
        conn.execute(f"TRUNCATE {CHAIN} RESTART IDENTITY CASCADE")
        with conn.transaction():
            first = import_epcis(conn, document, schema_file=schema_file, actor="test", now=NOW)
        assert first.shipments == len({r[0] for r in before["legs"]})
        assert first.transformations == 1
        assert snapshot(conn) == before
        assert export_all(conn, schema_file) == document
        with conn.transaction():
            again = import_epcis(conn, document, schema_file=schema_file, actor="test", now=NOW)
        assert (again.lots, again.legs, again.deliveries, again.transformations) == (0, 0, 0, 0)
        assert snapshot(conn) == before


def test_a_lot_or_a_shipment_exports_only_its_events(db: Pool, schema_file: Path) -> None:
    build(db)
    with db.connection() as conn:
        lot_id = conn.execute("SELECT id FROM lots WHERE lot_code = 'LM2-R'").fetchone()
        assert lot_id is not None
        doc = export_epcis(
            conn,
            schema_file=schema_file,
            now=NOW,
            temperature_metric=TEMPERATURE,
            lot_id=lot_id[0],
        )
        steps = sorted(e.get("bizStep", "") for e in doc["epcisBody"]["eventList"])
        # packing x2 pallets, shipping, receiving (leg), receiving (store), repackaging
        assert steps == [
            "packing", "packing", "receiving", "receiving", "repackaging", "shipping",
        ]  # fmt: skip
        doc = export_epcis(
            conn, schema_file=schema_file, now=NOW, temperature_metric=TEMPERATURE,
            shipment="SH-101",
        )  # fmt: skip
        bols = {
            b["bizTransaction"]
            for e in doc["epcisBody"]["eventList"]
            for b in e.get("bizTransactionList", [])
        }
        assert len(bols) == 1
        assert next(iter(bols)).endswith(":SH-101")


def _rows(conn: psycopg.Connection[TupleRow]) -> int:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM shipment_legs) + (SELECT count(*) FROM lots) "
        "+ (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM lot_transformations)"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_invalid_documents_are_refused_by_name_and_nothing_is_written(
    db: Pool, schema_file: Path
) -> None:
    build(db)
    with db.connection() as conn:
        good = export_all(conn, schema_file)
        conn.execute(f"TRUNCATE {CHAIN} RESTART IDENTITY CASCADE")
        events = good["epcisBody"]["eventList"]

        bad_time = copy.deepcopy(good)
        bad_time["epcisBody"]["eventList"][3]["eventTime"] = "yesterday"
        with pytest.raises(InvalidEpcis, match=r"epcisBody/eventList/3.*eventTime|date-time"):
            import_epcis(conn, bad_time, schema_file=schema_file, actor="t", now=NOW)

        not_a_document: Any = [1, 2]
        with pytest.raises(InvalidEpcis, match="JSON object"):
            import_epcis(conn, not_a_document, schema_file=schema_file, actor="t", now=NOW)

        nul = copy.deepcopy(good)
        ship = next(e for e in nul["epcisBody"]["eventList"] if e.get("bizStep") == "shipping")
        ship["cl:vehicle"] = "TR\x0012"
        with pytest.raises(InvalidEpcis, match="NUL"):
            import_epcis(conn, nul, schema_file=schema_file, actor="t", now=NOW)

        # valid for the schema, but the last event names a logger this system does not know:
        # the whole document is refused, the legs before it are not half-written
        unknown = copy.deepcopy(good)
        sensor = next(
            e for e in unknown["epcisBody"]["eventList"] if e.get("bizStep") == "sensor_reporting"
        )
        meta = sensor["sensorElementList"][0]["sensorMetadata"]
        meta["deviceID"] = meta["deviceID"].rsplit("/", 1)[0] + "/NO-SUCH-LOGGER"
        with pytest.raises(Exception, match="NO-SUCH-LOGGER"), conn.transaction():
            import_epcis(conn, unknown, schema_file=schema_file, actor="t", now=NOW)
        assert _rows(conn) == 0

        orphan = copy.deepcopy(good)
        orphan["epcisBody"]["eventList"] = [e for e in events if e.get("bizStep") != "shipping"]
        with pytest.raises(InvalidEpcis, match="no shipping event"):
            import_epcis(conn, orphan, schema_file=schema_file, actor="t", now=NOW)

        foreign = copy.deepcopy(good)
        next(e for e in foreign["epcisBody"]["eventList"] if e.get("bizStep") == "shipping")[
            "bizStep"
        ] = "retail_selling"
        with pytest.raises(InvalidEpcis, match="not an event this system records"):
            import_epcis(conn, foreign, schema_file=schema_file, actor="t", now=NOW)
        assert _rows(conn) == 0
