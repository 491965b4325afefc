"""Offer decisions on real PostgreSQL: consent at the moment of use, suppression with help
instead, every cap, the holdout, redelivery, and redemption."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from crm_core.campaigns.model import Limits
from crm_core.campaigns.postgres import CampaignConflict, list_campaigns, redeem
from crm_core.kernel.errors import NotFound
from tests.api import factories
from tests.integration.offer_world import T0, Pool, build_world


def outbox(db: Pool, customer: int) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(
            "SELECT idempotency_key, channel, purpose, status, expires_at, payload FROM outbox "
            "WHERE customer_id = %s ORDER BY id",
            (customer,),
        ).fetchall()


def test_a_consented_shopper_gets_a_fitting_offer_with_its_reasons(db: Pool) -> None:
    world = build_world(db)
    world.campaign("yoghurt", categories=["dairy"])
    world.campaign("toaster", categories=["appliances"])
    iris = world.shopper("Iris")
    world.enter(iris, "dairy", T0)
    [(outcome, rule, _campaign, consent_id, reason, detail)] = world.decisions(iris)
    assert (outcome, rule) == ("sent", "best_expected_value")
    assert consent_id is not None  # the grant that allowed it
    assert "Yoghurt" in reason
    assert detail["zone_event"]["zone"] == "Dairy"
    [(_key, channel, purpose, status, expires_at, payload)] = outbox(db, iris)
    assert (channel, purpose, status) == ("push", "location_marketing", "pending")
    assert expires_at == T0 + timedelta(seconds=2 + 1800)
    assert payload["campaign"] == "yoghurt"
    with db.connection() as conn:
        [yoghurt] = [c for c in list_campaigns(conn) if c.code == "yoghurt"]
        assert (yoghurt.stock, yoghurt.spent_cents) == (999, 50)  # reserved units count back


def test_no_consent_or_an_objection_means_no_offer_and_says_which_record(db: Pool) -> None:
    world = build_world(db)
    world.campaign("yoghurt")
    never = world.shopper("Never", consent=False)
    objector = world.shopper("Objector")
    objection = world.consent(objector, "object", purpose=None)
    world.enter(never, "dairy", T0)
    world.enter(objector, "dairy", T0)
    assert [d[:2] for d in world.decisions(never)] == [("suppressed", "consent")]
    [objected] = world.decisions(objector)
    assert objected[:2] == ("suppressed", "objection")
    assert objected[3] == objection
    assert outbox(db, never) == []
    assert outbox(db, objector) == []


def test_an_open_ticket_suppresses_promotions_but_the_failing_fridge_gets_its_part(
    db: Pool,
) -> None:
    world = build_world(db)
    world.campaign("yoghurt")
    world.campaign(
        "fridge-parts", kind="service", categories=["spare_parts"], device_types=["refrigerator"],
        message="15 % off spare parts",
    )  # fmt: skip
    plain = world.shopper("Plain")
    failing = world.shopper("Failing")
    with db.connection() as conn:
        for customer in (plain, failing):
            factories.ticket(conn, customer, T0 - timedelta(hours=3))
        fridge = factories.device(conn, "FR-9", customer_id=failing)
        fault = factories.fault(conn, fridge, T0 - timedelta(hours=4))
        conn.execute(
            "UPDATE faults SET diagnosis = %s WHERE id = %s",
            (Jsonb({"part": "condenser fan"}), fault),
        )
    world.enter(plain, "dairy", T0)
    world.enter(failing, "appliances", T0)
    assert [d[:2] for d in world.decisions(plain)] == [("suppressed", "open_ticket")]
    [helped] = world.decisions(failing)
    assert helped[:2] == ("sent", "service_help")
    assert "condenser fan for your CoolLine 300" in helped[4]
    assert helped[5]["instead_of"]["rule"] == "open_ticket"


def test_a_bad_survey_in_the_last_days_suppresses(db: Pool) -> None:
    world = build_world(db)
    world.campaign("yoghurt")
    unhappy = world.shopper("Unhappy")
    with db.connection() as conn:
        ticket = factories.ticket(conn, unhappy, T0 - timedelta(days=5), status="closed")
        conn.execute(
            "INSERT INTO surveys (ticket_id, customer_id, sent_at, answered_at, csat, nps) "
            "VALUES (%s, %s, %s, %s, 1, 2)",
            (ticket, unhappy, T0 - timedelta(days=4), T0 - timedelta(days=3)),
        )
    world.enter(unhappy, "dairy", T0)
    assert [d[:2] for d in world.decisions(unhappy)] == [("suppressed", "bad_survey")]


def test_contact_pressure_caps(db: Pool) -> None:
    world = build_world(db, limits=Limits(per_customer_per_day=2, quiet_start_hour=22,
                                          quiet_end_hour=7))  # fmt: skip
    world.campaign("yoghurt", days_apart=0)
    busy = world.shopper("Busy")
    # Each entry is a new visit: leave (exit hysteresis) and come back.
    for n in range(3):
        world.enter(busy, "dairy", T0 + timedelta(minutes=5 * n))
    assert [d[:2] for d in world.decisions(busy)] == [
        ("sent", "best_expected_value"),
        ("sent", "best_expected_value"),
        ("suppressed", "daily_cap"),
    ]


def test_per_campaign_caps_days_apart_and_stock(db: Pool) -> None:
    world = build_world(db, limits=Limits(per_customer_per_day=10, quiet_start_hour=22,
                                          quiet_end_hour=7))  # fmt: skip
    world.campaign("weekly", days_apart=7)
    once = world.shopper("Once")
    world.enter(once, "dairy", T0)
    world.enter(once, "dairy", T0 + timedelta(hours=1))
    decisions = world.decisions(once)
    assert [d[:2] for d in decisions] == [("sent", "best_expected_value"),
                                          ("suppressed", "no_campaign")]  # fmt: skip
    assert decisions[1][5]["campaigns"] == {"weekly": "days_apart"}

    world.campaign("last-one", categories=["appliances"], stock=1, max_per_customer=1)
    first, second = world.shopper("First"), world.shopper("Second")
    world.enter(first, "appliances", T0)
    world.enter(second, "appliances", T0)
    assert world.decisions(first)[0][0] == "sent"
    assert world.decisions(second)[0][:2] == ("suppressed", "no_campaign")


def test_quiet_hours_and_a_closed_store(db: Pool) -> None:
    world = build_world(db, hours={"mon": [["06:00", "12:00"]]})  # quiet hours 22:00-07:00
    world.campaign("yoghurt")
    late, early = world.shopper("Late"), world.shopper("Early")
    world.enter(late, "dairy", T0 + timedelta(hours=3))  # 13:00: closed
    world.enter(early, "dairy", T0 - timedelta(hours=3, minutes=30))  # 06:30: quiet
    assert [d[1] for d in world.decisions(late)] == ["store_closed"]
    assert [d[1] for d in world.decisions(early)] == ["quiet_hours"]


def test_a_redelivered_entry_decides_nothing_twice(db: Pool) -> None:
    world = build_world(db)
    world.campaign("yoghurt")
    iris = world.shopper("Iris")
    message = world.enter(iris, "dairy", T0)
    world.deliver(message)
    assert len(world.decisions(iris)) == 1
    assert len(outbox(db, iris)) == 1


def test_the_holdout_receives_nothing_but_is_recorded_for_uplift(db: Pool) -> None:
    world = build_world(db, holdout_percent=100)
    world.campaign("yoghurt")
    held = world.shopper("Held")
    world.enter(held, "dairy", T0)
    [(outcome, rule, campaign, *_rest)] = world.decisions(held)
    assert (outcome, rule) == ("holdout", "holdout")
    assert campaign is not None
    assert outbox(db, held) == []


def test_a_receipt_redeems_a_sent_offer_once_and_not_after_expiry(db: Pool) -> None:
    world = build_world(db)
    world.campaign("yoghurt", offer_ttl_s=600)
    iris = world.shopper("Iris")
    world.enter(iris, "dairy", T0)
    [(_key, _c, _p, _s, _e, payload)] = outbox(db, iris)
    key = payload["offer_id"]
    with db.connection() as conn:
        assert redeem(conn, key, "R-1", 349, T0 + timedelta(minutes=5), "till")
        assert not redeem(conn, key, "R-1", 349, T0 + timedelta(minutes=5), "till")
        with pytest.raises(CampaignConflict):
            redeem(conn, key, "R-2", 100, T0 + timedelta(minutes=6), "till")
        with pytest.raises(NotFound):
            redeem(conn, 999, "R-3", 100, T0, "till")
    late = world.shopper("Late")
    world.enter(late, "dairy", T0)
    late_key = outbox(db, late)[0][5]["offer_id"]
    with db.connection() as conn, pytest.raises(CampaignConflict, match="expired"):
        redeem(conn, late_key, "R-4", 100, T0 + timedelta(minutes=11), "till")
