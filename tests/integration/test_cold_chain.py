"""Cold chain end to end: loggers publish over MQTT, ingest stores, the leg is judged, a
recall is proposed with exactly the exposed scope, approved, and notices go to the outbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.recalls import service as recalls
from crm_core.recalls.model import RecallError
from crm_core.recalls.postgres import recall_detail
from crm_core.traceability.model import Network
from crm_core.traceability.postgres import import_network
from crm_core.traceability.queries import (
    backward_from_lot,
    find_lot,
    forward_from_shipment,
    lots_of_receipt,
)
from simulators.coldchain import Scenario
from tests.integration.conftest import register_devices
from tests.integration.harness import RunningIngest, TestPublisher, count, wait_for

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime.now(UTC)


def load_network(db: Pool, scenario: Scenario) -> list[int]:
    register_devices(db, sorted(scenario.loggers), "temperature_logger", with_customer=False)
    with db.connection() as conn:
        ids = [
            int(r[0])
            for r in conn.execute(
                "INSERT INTO customers (kind, name, email) SELECT 'person', 'Shopper ' || n, "
                "'shopper' || n || '@example.net' FROM generate_series(0, %s) n RETURNING id",
                (scenario.customers - 1,),
            ).fetchall()
        ]
        doc = Network.model_validate({**scenario.network, "purchases": scenario.purchase_docs(ids)})
        import_network(conn, doc, actor="test", now=NOW)
        again = import_network(conn, doc, actor="test", now=NOW)  # idempotent
    assert again.lots == again.purchases == again.legs == 0
    return ids


def publish_all(publisher: TestPublisher, scenario: Scenario, hold_back: str | None) -> None:
    for logger in sorted(scenario.loggers):
        if logger == hold_back:
            continue
        for _, pack in scenario.packs(logger):
            publisher.publish(f"dt/{logger}/senml", pack)
    publisher.flush()


def test_a_failing_truck_proposes_exactly_the_exposed_recall_even_uploaded_late(
    db: Pool, database_url: str, running: RunningIngest, publisher: TestPublisher
) -> None:
    scenario = Scenario(start=time.time() - 2 * 86400).build()
    assert scenario.truth is not None
    customers = load_network(db, scenario)
    failing = scenario.truth.failing_logger
    # every logger but the failing truck's uploads on time: nothing to recall
    publish_all(publisher, scenario, hold_back=failing)
    expected = sum(len(scenario.packs(lg)) * 12 for lg in scenario.loggers if lg != failing)
    wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") >= expected * 2 - 200)
    legs_products = (
        "SELECT count(*) FROM (SELECT DISTINCT ll.leg_id, l.gtin FROM leg_lots ll "
        "JOIN lots l ON l.id = ll.lot_id JOIN logger_assignments a ON a.leg_id = ll.leg_id "
        "JOIN devices d ON d.id = a.device_id WHERE d.serial <> %s) x"
    )
    wanted = count(database_url, legs_products, failing)
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM leg_evaluations") >= wanted,
        what=f"{wanted} leg evaluations",
    )
    assert count(database_url, "SELECT count(*) FROM recalls") == 0
    # the failing truck's logger buffered and uploads hours later, newest pack first
    for _, pack in reversed(scenario.packs(failing)):
        publisher.publish(f"dt/{failing}/senml", pack)
    publisher.flush()
    wait_for(lambda: count(database_url, "SELECT count(*) FROM recalls") >= 1, what="recalls")
    time.sleep(0.5)
    with db.connection() as conn:
        rows = conn.execute("SELECT id FROM recalls ORDER BY id").fetchall()
        assert len(rows) == 1  # one recall for the failing leg, however often it is judged
        scope: set[tuple[str, str]] = set()
        for (recall_id,) in rows:
            detail = recall_detail(conn, recall_id)
            assert detail.status == "proposed"
            assert "single" in detail.evidence["rules"]
            assert detail.evidence["vehicle"] == "TR-12"
            scope |= {(lot.gtin, lot.lot) for lot in detail.lots if lot.included}
            outs = [lot for lot in detail.lots if not lot.included]
            assert all(lot.why.startswith("out:") for lot in outs)
            assert detail.lots[0].included  # ranked: in-scope first
        assert scope == scenario.truth.lots
        # nothing reaches a store or a customer before approval
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
        with pytest.raises(RecallError):
            recalls.close(conn, rows[0][0], "quality@example.net", NOW)
        sent = 0
        for (recall_id,) in rows:
            sent += recalls.approve(
                conn, recall_id, "II", "quality@example.net", NOW, contact="+44 20 7946 0000"
            )
        stores = {
            r[0]
            for r in conn.execute(
                "SELECT consignee FROM recall_notices WHERE level = 'store'"
            ).fetchall()
        }
        notified = {
            int(r[0])
            for r in conn.execute(
                "SELECT consignee FROM recall_notices WHERE level = 'customer'"
            ).fetchall()
        }
        assert stores == scenario.truth.stores
        assert notified == {customers[n] for n in scenario.truth.customers}
        purposes = conn.execute(
            "SELECT DISTINCT purpose, payload->>'consent' FROM outbox"
        ).fetchall()
        assert purposes == [("safety", "safety notices are always sent")]
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (sent,)
        subject = conn.execute("SELECT subject FROM outbox LIMIT 1").fetchone()
        assert subject is not None
        assert subject[0].startswith("URGENT: FOOD RECALL")
        # backward from a complainant's receipt to the failing leg
        receipt = next(n for n in sorted(scenario.truth.customers))
        lot_id = lots_of_receipt(conn, f"R-{receipt:05d}")[0]
        back = backward_from_lot(conn, lot_id)
        failing_legs = [h for h in back.legs if h.leg.vehicle == "TR-12"]
        assert failing_legs
        assert failing_legs[0].breached
        assert failing_legs[0].excursions[0].kind == "high"
        assert back.lot_mkt is not None
        # forward from the failing shipment reaches every exposed customer
        fwd = forward_from_shipment(conn, "SH-101")
        assert {customers[n] for n in scenario.truth.customers} <= {
            c.customer_id for c in fwd.customers
        }
        milk_lot = find_lot(conn, next(g for g, lot in scenario.truth.lots if lot == "LM3"), "LM3")
        assert milk_lot in {lot.lot_id for lot in fwd.lots}
