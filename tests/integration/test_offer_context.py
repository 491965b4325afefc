"""The learner's context from our data: receipts build the purchase profile once per
receipt, decisions carry the segment and shares, erasure removes the profile, an older
learner state is reset with a log line, and the policy report compares the learner with
the holdout and the random policy."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from psycopg.types.json import Jsonb

from crm_core.campaigns.context import FEATURES_VERSION
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import Limits
from crm_core.campaigns.policy_report import compare_policies
from crm_core.campaigns.postgres import erase_offers
from crm_core.campaigns.receipts import Receipt, ReceiptLine, record_receipt
from tests.integration.offer_world import T0, Pool, build_world

pytestmark = pytest.mark.integration
LIMITS = Limits(per_customer_per_day=100, quiet_start_hour=0, quiet_end_hour=0)


def _receipt(customer: int, rid: str, *lines: tuple[str, int]) -> Receipt:
    return Receipt(
        "LYON-1", rid, T0 - timedelta(days=3), customer, sum(c for _, c in lines),
        tuple(ReceiptLine(cat, cents, sku=cat.upper()) for cat, cents in lines),
    )  # fmt: skip


def test_receipts_make_the_profile_the_decision_sees_and_erasure_removes_it(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    world.campaign("yoghurt")
    world.campaign("filter", categories=["spare_parts"])
    ada = world.shopper("Ada")
    receipt = _receipt(ada, "R1", ("dairy", 349), ("dairy", 899), ("spare_parts", 2490),
                       ("groceries", 4000))  # fmt: skip
    with db.connection() as conn:
        record_receipt(conn, receipt, T0)
        assert record_receipt(conn, receipt, T0).duplicate  # a replay adds nothing
        record_receipt(conn, _receipt(ada, "R2", ("dairy", 349)), T0)
        rows = conn.execute(
            "SELECT category, spend_cents, lines FROM customer_category_spend "
            "WHERE customer_id = %s ORDER BY category",
            (ada,),
        ).fetchall()
    assert rows == [("dairy", 1597, 3), ("groceries", 4000, 1), ("spare_parts", 2490, 1)]
    world.enter(ada, "dairy", T0)
    [(outcome, _, _, _, _, detail)] = world.decisions(ada)
    assert outcome == "sent"
    assert detail["features_version"] == FEATURES_VERSION
    features = detail["features"]
    # Dairy bought three times: the segment, though one filter cost more than all of it.
    assert features["segment:dairy"] == 1.0
    assert features["share:dairy"] == pytest.approx(1597 / (1597 + 2490), abs=1e-4)
    assert features["share:spare_parts"] == pytest.approx(2490 / (1597 + 2490), abs=1e-4)
    assert features["zone:dairy"] == 1.0
    assert "share:groceries" not in features  # not a promoted category
    with db.connection() as conn:
        removed = erase_offers(conn, ada)
        left = conn.execute(
            "SELECT count(*) FROM customer_category_spend WHERE customer_id = %s", (ada,)
        ).fetchone()
    assert removed["purchase_profile"] == 3
    assert left == (0,)


def test_an_older_learner_state_is_reset_with_a_log_line(
    db: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    world = build_world(db, limits=LIMITS)
    yoghurt = world.campaign("yoghurt")
    shoppers = [world.shopper(f"S{n}") for n in range(4)]
    for n, customer in enumerate(shoppers):
        world.enter(customer, "dairy", T0 + timedelta(seconds=n))
    later = T0 + timedelta(hours=2)
    old = {"format": 1, "arms": {str(yoghurt.id): {"names": ["bias", "hour_sin"],
           "xx": [[9.0, 0.0], [0.0, 4.0]], "xy": [3.0, 1.0], "n": 9}}}  # fmt: skip
    with db.connection() as conn:
        conn.execute(  # one decision logged by the old code: old features, no version
            "UPDATE offer_decisions SET detail = detail - 'features_version' "
            "WHERE customer_id = %s",
            (shoppers[0],),
        )
        conn.execute(
            "INSERT INTO offer_learner_state (name, state, watermark, learned, writer, "
            "updated_at) VALUES ('linucb', %s, %s, 9, 'old', %s) ON CONFLICT (name) DO UPDATE "
            "SET state = excluded.state, watermark = excluded.watermark, learned = 9",
            (Jsonb(old), later - timedelta(hours=1), later),
        )
    learner = OfferLearner(explore=0.0, seed=1, writer="new")
    with caplog.at_level(logging.WARNING), db.connection() as conn:
        assert learner.catch_up(conn, later) == 3  # the three logged with today's features
        state = conn.execute("SELECT state->>'format', learned FROM offer_learner_state").fetchone()
    assert state == ("2", 3)
    assert "offer learner state reset" in caplog.text
    assert "9 offer(s) learned before are dropped" in caplog.text


def test_the_policy_report_puts_the_learner_against_holdout_and_random(db: Pool) -> None:
    world = build_world(db, limits=LIMITS)
    world.campaign("yoghurt")
    world.campaign("cheese")
    shoppers = [world.shopper(f"S{n}") for n in range(40)]
    for n, customer in enumerate(shoppers):
        world.enter(customer, "dairy", T0 + timedelta(seconds=n))
    with db.connection() as conn:
        # Offers 1-20 the learner's, 21-30 random ones, 31-40 held out (20 learner, 10
        # random); the learner's redeemed one in two, the random one in five, the holdout's
        # one in ten.
        conn.execute(
            "UPDATE offer_decisions SET detail = detail || jsonb_build_object('policy', "
            "CASE WHEN id BETWEEN 21 AND 30 OR id > 35 THEN 'explore' ELSE 'linucb' END), "
            "outcome = CASE WHEN id > 30 THEN 'holdout' ELSE outcome END, "
            "outbox_key = CASE WHEN id > 30 THEN NULL ELSE outbox_key END"
        )
        conn.execute(
            "UPDATE offer_decisions SET redeemed_at = at + interval '1 minute', "
            "receipt_id = 'r' || id WHERE (id <= 20 AND id % 2 = 0) "
            "OR (id BETWEEN 21 AND 30 AND id % 5 = 0) OR id = 31"
        )
        report = compare_policies(conn, T0 + timedelta(hours=2))
    learner, rnd = report.learner, report.random
    assert (learner.offered, learner.redeemed, learner.holdout, learner.holdout_conversions) == (
        20, 10, 5, 1,
    )  # fmt: skip
    assert (rnd.offered, rnd.redeemed, rnd.holdout, rnd.holdout_conversions) == (10, 2, 5, 0)
    assert learner.conversion == 50.0
    assert rnd.conversion == 20.0
    assert report.conversion_difference == 30.0
    assert learner.uplift == 30.0
    assert learner.value_per_offer == pytest.approx((10 * 4.5 - 10 * 0.5) / 20)
    assert report.value_difference == pytest.approx(2.0 - (2 * 4.5 - 8 * 0.5) / 10)
    low, high = report.value_difference_low, report.value_difference_high
    assert low is not None
    assert high is not None
    assert low < 1.3 < high
    assert learner.conversion_low is not None
    assert learner.conversion_low < 50.0
