"""The shopper simulator against the real pipeline: Mosquitto, PostgreSQL, the presence and
receipts workers, the offer rule, the outbox woken by NOTIFY, pushes over MQTT; careline's
decisions compared with the simulator's truth."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from alerts.offers import OfferRule
from careline.demo.shopper_seed import seed_shoppers, seed_world
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import Limits
from crm_core.kernel.clock import utc_now
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import OutboxPolicy
from crm_core.notifications.wake import OutboxWaker
from devices.presence.model import PresenceRules
from ingest.mqtt_source import MqttSource
from ingest.presence import SUBSCRIPTION
from ingest.presence_worker import PresenceWorker
from ingest.receipt_worker import ReceiptWorker
from ingest.receipts import SUBSCRIPTION as RECEIPTS
from ingest.receipts import receipts_topic
from ingest.settings import MqttSettings
from simulators.publisher import Publisher
from simulators.shoppers import ShopperSpec, plan_shoppers, plan_trip
from simulators.shopping import Phones, SimulationTruth, run_shoppers
from simulators.store_world import demo_world
from tests.integration.brokers import TestBroker
from tests.integration.offer_world import Pool

pytestmark = pytest.mark.integration
SEED = 11
NEVER_QUIET = Limits(quiet_start_hour=0, quiet_end_hour=0)


@dataclass
class Pipeline:
    receipts: ReceiptWorker
    presence: PresenceWorker


@pytest.fixture
def pipeline(db: Pool, broker: TestBroker, database_url: str) -> Iterator[Pipeline]:
    rule = OfferRule(OfferLearner(explore=0.1, seed=SEED), NEVER_QUIET, 20.0, clock=utc_now)
    with ExitStack() as stack:
        push = MqttPushChannel("127.0.0.1", broker.port, clock=utc_now)
        stack.callback(push.close)
        dispatcher = Dispatcher(db, {"push": push}, policy=OutboxPolicy(), clock=utc_now)
        waker = OutboxWaker(database_url, dispatcher, idle_s=0.2).start()
        stack.callback(waker.stop)
        presence = PresenceWorker(db, PresenceRules(), rule, threads=2)
        receipts = ReceiptWorker(db)
        for worker, topics, client in (
            (presence, SUBSCRIPTION, "presence-sim-test"),
            (receipts, RECEIPTS, "receipts-sim-test"),
        ):
            settings = MqttSettings(host="127.0.0.1", port=broker.port, client_id=client)
            source = MqttSource(settings, topics, worker.deliver)
            worker.set_acknowledger(source.ack)
            worker.start()
            stack.callback(worker.stop)
            source.start()
            stack.callback(source.stop)
            assert source.connected.wait(10)
        yield Pipeline(receipts, presence)


def simulate(
    db: Pool, port: int, shoppers: list[ShopperSpec], pipeline: Pipeline
) -> SimulationTruth:
    world = demo_world()
    now = datetime.now(UTC)
    with db.connection() as conn:
        assert seed_world(conn, world, now)
        customers = seed_shoppers(conn, shoppers, now)
    start = time.time() - 300  # trips that just happened: replayed at once
    trips = [
        plan_trip(world, s, start + 7 * n, SEED, dwell_scale=0.5) for n, s in enumerate(shoppers)
    ]
    phones = Phones("127.0.0.1", port, client_id="sim-phones")
    try:
        with Publisher("127.0.0.1", port, client_id="sim-shoppers") as publisher:
            return run_shoppers(
                world, trips, customers, publisher, phones, seed=SEED, stop=threading.Event(),
                idle=lambda: pipeline.presence.backlog() == 0,
            )  # fmt: skip
    finally:
        phones.close()


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)


def test_offers_reach_only_consenting_shoppers_in_the_zones_they_were_in(
    db: Pool, broker: TestBroker, pipeline: Pipeline
) -> None:
    shoppers = plan_shoppers(demo_world(), 14, seed=SEED)
    assert {s.consented for s in shoppers} == {True, False}
    assert any(s.open_ticket or s.bad_survey for s in shoppers)
    truth = simulate(db, broker.port, shoppers, pipeline)
    wait_for(lambda: pipeline.receipts.stats.recorded == truth.receipts)
    # The presence workers apply the last sightings on their own threads: under load (CI)
    # a zone entry could still be on its way when the receipts are all in.
    walked = sorted((t.customer_id, v.zone.code) for t in truth.trips for v in t.trip.visits)

    def entered() -> int:
        with db.connection() as conn:
            row = conn.execute("SELECT count(*) FROM presence_visits").fetchone()
        return int(row[0]) if row else 0

    wait_for(lambda: entered() >= len(walked))
    spec = {t.customer_id: t.trip.shopper for t in truth.trips}

    # The phones: only consenting shoppers without a service story got anything, and each
    # offer named a zone of the store the shopper was walking through.
    assert truth.offers(), "the simulation produced no offer at all"
    assert truth.stray_pushes == []
    for record, arrived in truth.offers():
        shopper = spec[arrived.customer_id]
        assert shopper.consented
        assert not shopper.open_ticket
        assert not shopper.bad_survey
        assert arrived.offer.zone in {v.zone.name for v in record.trip.visits}
        assert arrived.offer.store == record.trip.store.name

    with db.connection() as conn:
        visits = conn.execute(
            "SELECT v.customer_id, z.code, extract(epoch FROM v.entered_at) FROM presence_visits v "
            "JOIN presence_zones z ON z.id = v.zone_id"
        ).fetchall()
        decisions = conn.execute(
            "SELECT d.customer_id, d.outcome, d.rule, z.code, extract(epoch FROM d.at), d.id "
            "FROM offer_decisions d JOIN presence_zones z ON z.id = d.zone_id"
        ).fetchall()
        redeemed = {
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM offer_decisions WHERE outcome = 'sent' AND receipt_id IS NOT NULL"
            )
        }
        kept = conn.execute("SELECT count(*) FROM pos_receipts").fetchone()

    # Debounce and hysteresis through the radio noise: one entry per zone walked through,
    # none for the faint neighbours or the other shop's beacons.
    assert sorted((int(c), z) for c, z, _ in visits) == walked
    # Every entry decided, at a time inside the simulator's visit of that zone.
    assert len(decisions) == len(walked)
    where = {(t.customer_id, v.zone.code): v for t in truth.trips for v in t.trip.visits}
    for customer, outcome, rule, zone, at, _ in decisions:
        visit = where[(int(customer), zone)]
        assert visit.start <= float(at) <= visit.end
        shopper = spec[int(customer)]
        if not shopper.consented:
            assert (outcome, rule) == ("suppressed", "consent")
        elif shopper.open_ticket:
            assert (outcome, rule) == ("suppressed", "open_ticket")
        elif shopper.bad_survey:
            assert (outcome, rule) == ("suppressed", "bad_survey")
    sent = {int(d[5]) for d in decisions if d[1] == "sent"}
    assert sent == {a.offer.offer_id for _, a in truth.offers()}
    # Receipts: exactly the coupons the shoppers showed were redeemed.
    assert redeemed == {o for t in truth.trips for o in t.redeemed}
    assert kept is not None
    assert kept[0] == truth.receipts


def test_a_replayed_receipt_changes_nothing_and_a_bad_one_is_a_dead_letter(
    db: Pool, broker: TestBroker, pipeline: Pipeline
) -> None:
    shoppers = [ShopperSpec(1, "Nora Weber", "family", consented=True)]
    truth = simulate(db, broker.port, shoppers, pipeline)
    wait_for(lambda: pipeline.receipts.stats.recorded == 1)
    [record] = truth.trips
    with db.connection() as conn:
        row = conn.execute("SELECT lines, customer_id, at FROM pos_receipts").fetchone()
    assert row is not None
    lines, customer, at = row
    again = {
        "receipt_id": record.receipt_id,
        "at": at.timestamp(),
        "customer_id": customer,
        "total_cents": sum(line["amount_cents"] for line in lines),
        "lines": [{k: v for k, v in line.items() if v is not None} for line in lines],
    }
    store = record.trip.store.code
    with Publisher("127.0.0.1", broker.port, client_id="pos-replay") as pos:
        pos.publish(receipts_topic(store), json.dumps(again).encode())
        changed = {**again, "total_cents": again["total_cents"] + 100}
        pos.publish(receipts_topic(store), json.dumps(changed).encode())
        pos.publish(receipts_topic("NOWHERE"), json.dumps(again).encode())
        pos.publish(receipts_topic(store), b'{"receipt_id": "x\\u0000", "lines": []}')
        pos.publish("pos/oops", b"{}")
        pos.flush(10)
    wait_for(lambda: pipeline.receipts.stats.dead_letters == 4)
    assert pipeline.receipts.stats.duplicates == 1
    assert pipeline.receipts.stats.recorded == 1
    with db.connection() as conn:
        reasons = sorted(r[0] for r in conn.execute("SELECT reason FROM dead_letters"))
        count = conn.execute("SELECT count(*) FROM pos_receipts").fetchone()
    assert reasons == ["invalid", "receipt_conflict", "unknown_store", "unknown_topic"]
    assert count is not None
    assert count[0] == 1
