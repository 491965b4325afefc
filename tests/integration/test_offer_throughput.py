"""The set-based offer path on real PostgreSQL: stock reservations under concurrency (never
over stock or budget), a crashed holder's units taken back, batches of sightings that mix
duplicates, strangers and entries, dwell-triggered offers, expired pushes, and the learner's
shared state."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from alerts.offers import OfferRule
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import Limits
from crm_core.campaigns.postgres import list_campaigns
from crm_core.campaigns.stock import StockAllocator
from crm_core.kernel.clock import utc_now
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import Message, OutboxPolicy, OutboxRow
from crm_core.notifications.postgres import PostgresOutbox
from devices.presence.tracking import Applied
from ingest.messages import RawMessage, Rejection, RejectReason
from ingest.presence import apply_messages, installation_topic
from tests.integration.offer_world import RULES, T0, UUID, Pool, World, build_world

LIMITS = Limits(per_customer_per_day=100, quiet_start_hour=0, quiet_end_hour=0)


def _sightings(world: World, customer: int, zone: str, at: Any, seconds: range) -> RawMessage:
    body = {
        "sightings": [
            {"t": (at + timedelta(seconds=s)).timestamp(), "rssi": -60,
             "ibeacon": {"uuid": UUID, "major": 1, "minor": world.minors[zone]}}
            for s in seconds
        ]
    }  # fmt: skip
    return RawMessage(
        installation_topic(f"app-{customer}"), json.dumps(body).encode(), at.timestamp()
    )


def _decide_in_threads(world: World, database_url: str, shoppers: list[int], threads: int) -> None:
    """Each thread a deciding thread of its own (its own reservations), batches of 5."""
    errors: list[BaseException] = []

    def run(mine: list[int]) -> None:
        try:
            for start in range(0, len(mine), 5):
                batch = [
                    _sightings(world, c, "dairy", T0, range(3)) for c in mine[start : start + 5]
                ]
                with world.db.connection() as conn:
                    outcomes = apply_messages(conn, batch, RULES)
                    events = [e for o in outcomes if isinstance(o, Applied) for e in o.events]
                    world.rule(conn, events)
        except BaseException as exc:
            errors.append(exc)

    workers = [
        threading.Thread(target=run, args=(shoppers[n::threads],), name=f"decider-{n}")
        for n in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not errors, errors


def _sent(db: Pool) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM offer_decisions WHERE outcome = 'sent'").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("limit", ["stock", "budget"])
def test_concurrent_deciders_never_exceed_stock_or_budget(
    db: Pool, database_url: str, limit: str
) -> None:
    world = build_world(db, limits=LIMITS)
    world.rule.allocator = StockAllocator(database_url, chunk=4)
    if limit == "stock":
        world.campaign("yoghurt", stock=23, budget_cents=1_000_000, cost_cents=50)
    else:
        world.campaign("yoghurt", stock=1000, budget_cents=50 * 17 + 49, cost_cents=50)
    cap = 23 if limit == "stock" else 17
    shoppers = [world.shopper(f"S{n}") for n in range(60)]
    _decide_in_threads(world, database_url, shoppers, threads=4)
    sent = _sent(db)
    assert 0 < sent <= cap
    with db.connection() as conn:
        [before] = list_campaigns(conn)
        returned = world.rule.allocator.release(conn)
        [after] = list_campaigns(conn)
        raw = conn.execute("SELECT stock, spent_cents FROM campaigns").fetchone()
    # Reserved units count as stock in the read model before and after they are returned.
    assert (before.stock, before.spent_cents) == (after.stock, after.spent_cents)
    assert after.spent_cents == sent * 50
    assert raw == (after.stock, after.spent_cents)  # nothing held any more
    assert returned >= 0
    if limit == "stock":
        assert after.stock == 23 - sent
    # What one thread held back near the end is offered again once it is returned.
    late = world.shopper("Late")
    _decide_in_threads(world, database_url, [late], threads=1)
    world.rule.allocator.release()
    assert _sent(db) == min(cap, sent + 1)


def test_units_of_a_holder_that_died_are_taken_back_after_its_lease(
    db: Pool, database_url: str
) -> None:
    world = build_world(db, limits=LIMITS)
    world.campaign("scarce", stock=10)
    dead = StockAllocator(database_url, chunk=8, lease_s=-1)  # its lease is over at once
    with db.connection() as conn:
        [scarce] = list_campaigns(conn)
    dead.top_up(None, [scarce], {scarce.id: 8}, T0)  # then it "crashes": never released
    dead.close()
    with db.connection() as conn:
        held = conn.execute("SELECT units, used FROM campaign_reservations").fetchall()
    assert held == [(8, 0)]
    world.rule.allocator = StockAllocator(database_url, chunk=10)
    shoppers = [world.shopper(f"S{n}") for n in range(10)]
    _decide_in_threads(world, database_url, shoppers, threads=1)
    world.rule.allocator.close()
    assert _sent(db) == 10  # the dead holder's 8 came back: all 10 offered, none twice
    with db.connection() as conn:
        [after] = list_campaigns(conn)
    assert (after.stock, after.spent_cents) == (0, 10 * 50)


def test_a_batch_mixing_entries_duplicates_and_strangers(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    world.campaign("yoghurt")
    iris, noor = world.shopper("Iris"), world.shopper("Noor")
    enter = _sightings(world, iris, "dairy", T0, range(3))
    stranger = RawMessage(installation_topic("app-nobody"), enter.payload, T0.timestamp())
    leave = _sightings(world, noor, "dairy", T0, range(3))
    back = _sightings(world, noor, "dairy", T0 + timedelta(minutes=5), range(3))
    with db.connection() as conn:
        outcomes = apply_messages(conn, [enter, enter, stranger, leave, back], RULES)
        events = [e for o in outcomes if isinstance(o, Applied) for e in o.events]
        world.rule(conn, events)
    first, again, refused, noor_in, noor_back = outcomes
    assert isinstance(first, Applied)
    assert [e.kind.value for e in first.events] == ["zone_enter"]
    assert isinstance(again, Applied)
    assert again.duplicate
    assert isinstance(refused, Rejection)
    assert refused.reason is RejectReason.UNKNOWN_INSTALLATION
    assert isinstance(noor_back, Applied)
    kinds = [e.kind.value for e in noor_back.events if e.kind.value != "zone_dwell"]
    assert kinds == ["zone_exit", "zone_enter"]  # left (hysteresis) and came back: 2 visits
    assert isinstance(noor_in, Applied)
    with db.connection() as conn:
        visits = conn.execute(
            "SELECT customer_id, exited_at IS NOT NULL FROM presence_visits ORDER BY id"
        ).fetchall()
        counts = conn.execute("SELECT sum(visits), sum(exits) FROM presence_zone_counts").fetchone()
    assert visits == [(iris, False), (noor, True), (noor, False)]
    assert counts == (3, 1)
    assert [d[0] for d in world.decisions(iris)] == ["sent"]
    assert [d[0] for d in world.decisions(noor)] == ["sent", "sent"]


def test_an_offer_that_asks_for_dwell_fires_when_the_dwell_is_reached(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    world.campaign("linger", min_dwell_s=60)
    iris = world.shopper("Iris")
    world.deliver(_sightings(world, iris, "dairy", T0, range(3)))  # entry at T0 + 2 s
    [entry] = world.decisions(iris)
    assert entry[:2] == ("suppressed", "no_campaign")
    assert entry[5]["campaigns"] == {"linger": "dwell_not_reached"}
    world.deliver(_sightings(world, iris, "dairy", T0, range(20, 41, 10)))  # dwell 38 s
    assert len(world.decisions(iris)) == 1
    world.deliver(_sightings(world, iris, "dairy", T0, range(50, 71, 10)))  # dwell 68 s
    decisions = world.decisions(iris)
    assert [d[:2] for d in decisions] == [("suppressed", "no_campaign"),
                                          ("sent", "best_expected_value")]  # fmt: skip
    assert decisions[1][5]["zone_event"]["kind"] == "zone_dwell"
    assert decisions[1][5]["zone_event"]["dwell_s"] == pytest.approx(68)
    world.deliver(_sightings(world, iris, "dairy", T0, range(80, 91, 10)))  # still there
    assert len(world.decisions(iris)) == 2  # one dwell decision per visit
    with db.connection() as conn:
        keys = [r[0] for r in conn.execute("SELECT idempotency_key FROM outbox").fetchall()]
    assert len(keys) == 1
    assert keys[0].endswith("/dwell")


class _Channel:
    def __init__(self) -> None:
        self.sent: list[OutboxRow] = []

    def send(self, row: OutboxRow) -> None:
        self.sent.append(row)


def test_a_push_past_its_expiry_is_marked_expired_not_retried(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    iris = world.shopper("Iris")
    now = utc_now()
    with db.connection() as conn:
        outbox = PostgresOutbox(conn)
        for key, expires in (
            ("late", now - timedelta(seconds=1)),
            ("fine", now + timedelta(hours=1)),
        ):
            outbox.enqueue(Message(
                idempotency_key=key, customer_id=iris, channel="push",
                purpose="location_marketing", recipient=f"app/{iris}/notifications",
                subject="Deal", body="15 % off", payload={}, expires_at=expires,
            ), now - timedelta(minutes=1))  # fmt: skip
    channel = _Channel()
    dispatcher = Dispatcher(db, {"push": channel}, policy=OutboxPolicy(), clock=utc_now)
    assert dispatcher.run_once() == {"expired": 1, "sent": 1}
    assert [r.message.idempotency_key for r in channel.sent] == ["fine"]
    assert dispatcher.run_once() == {}  # never retried
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT idempotency_key, status, last_error FROM outbox ORDER BY idempotency_key"
        ).fetchall()
    assert rows[0][:2] == ("fine", "sent")
    assert rows[1][:2] == ("late", "expired")
    assert "expired at" in rows[1][2]


def test_two_processes_share_one_learned_policy_that_survives_a_restart(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    yoghurt = world.campaign("yoghurt")
    cheese = world.campaign("cheese")
    shoppers = [world.shopper(f"S{n}") for n in range(12)]
    for n, customer in enumerate(shoppers):
        world.enter(customer, "dairy", T0 + timedelta(seconds=n))
    with db.connection() as conn:
        conn.execute(  # half of them bought: settled as redeemed; the rest expire unused
            "UPDATE offer_decisions SET redeemed_at = at + interval '1 minute', "
            "receipt_id = 'r' || id WHERE id % 2 = 0"
        )
    later = T0 + timedelta(hours=2)  # every offer settled (30 minute expiry)
    a = OfferLearner(explore=0.0, seed=1, writer="a")
    b = OfferLearner(explore=0.0, seed=1, writer="b")
    with db.connection() as conn:
        assert a.catch_up(conn, later) == 12
    with db.connection() as conn:
        assert b.catch_up(conn, later + timedelta(seconds=10)) == 0  # learned once, by a
    assert a.learned == b.learned == 12
    context = {"bias": 1.0, "segment:none": 1.0, "zone:dairy": 1.0, "hour:midday": 1.0}
    for campaign in (yoghurt, cheese):
        assert a.upper_bound(campaign.id, context) == pytest.approx(
            b.upper_bound(campaign.id, context)
        )
    # The same model as learning the settled offers one by one, on its own.
    alone = OfferLearner(explore=0.0, seed=1, shared=False)
    with db.connection() as conn:
        alone.catch_up(conn, later)
    for campaign in (yoghurt, cheese):
        assert a.upper_bound(campaign.id, context) == pytest.approx(
            alone.upper_bound(campaign.id, context), rel=1e-6
        )
    restarted = OfferLearner(explore=0.0, seed=1, writer="a")
    with db.connection() as conn:
        assert restarted.catch_up(conn, later + timedelta(seconds=20)) == 0
        row = conn.execute("SELECT learned, writer FROM offer_learner_state").fetchone()
    assert restarted.learned == 12
    assert row == (12, "a")


def test_the_offer_rule_keeps_its_caches_honest(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    iris, noor = world.shopper("Iris"), world.shopper("Noor")
    world.enter(iris, "dairy", T0)
    assert [d[1] for d in world.decisions(iris)] == ["no_campaign"]
    world.campaign("yoghurt")  # created meanwhile (the API's process): counts at once
    world.enter(noor, "dairy", T0)
    assert [d[0] for d in world.decisions(noor)] == ["sent"]
    assert isinstance(world.rule, OfferRule)
