"""The shopper simulation's world in careline: stores, zones, beacons, campaigns, shoppers.

Each shopper is a customer with an app installation; the consenting ones granted location
marketing by push in the app; some have an open service ticket, some answered a survey
badly last week (the offer rules must hold back promotions for both). Used by the demo and
by the integration test, through the same use cases the API calls. Seeding twice adds
nothing: a world whose first store exists is taken as seeded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.postgres import add_campaign, list_campaigns
from crm_core.consent.model import ConsentRecord
from crm_core.consent.postgres import PostgresConsentUnitOfWork
from crm_core.consent.service import record_changes
from crm_core.surveys.model import Answer
from crm_core.surveys.store import open_survey, record_answer
from crm_core.tickets.model import TicketDraft
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.service import change_status, open_reactive
from devices.presence.directory import add_beacon, add_store, add_zone, register_installation
from devices.presence.model import DAYS, OpeningHours, ibeacon_identifier
from simulators.shoppers import ShopperSpec
from simulators.store_world import UUID, World

Connection = psycopg.Connection[TupleRow]
ACTOR = "demo"
AROUND_THE_CLOCK = {day: [["00:00", "23:59"]] for day in DAYS}


def seed_world(conn: Connection, world: World, now: datetime, campaign_days: int = 30) -> bool:
    """Stores (open around the clock, so the story plays at any hour), zones with their
    categories, one iBeacon per zone, and the campaigns; False if seeded already."""
    first = world.stores[0].code
    if conn.execute("SELECT 1 FROM presence_stores WHERE code = %s", (first,)).fetchone():
        return False
    zone_ids: dict[tuple[str, str], int] = {}
    for spec in world.stores:
        hours = OpeningHours.parse(AROUND_THE_CLOCK, spec.timezone)
        store = add_store(conn, spec.code, spec.name, hours, now, ACTOR)
        for zone_spec in spec.zones:
            zone = add_zone(
                conn, store.id, zone_spec.code, zone_spec.name, list(zone_spec.categories),
                now, ACTOR,
            )  # fmt: skip
            zone_ids[(spec.code, zone_spec.code)] = zone.id
            identifier = ibeacon_identifier(UUID, spec.major, zone_spec.minor)
            add_beacon(conn, zone.id, identifier, now, ACTOR)
    existing = {c.code for c in list_campaigns(conn)}
    for campaign in world.campaigns:
        if campaign.code in existing:
            continue
        add_campaign(
            conn,
            {
                "code": campaign.code,
                "name": campaign.name,
                "kind": "promotion",
                "message": campaign.message,
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=campaign_days),
                "zone_ids": [],
                "categories": list(campaign.categories),
                "device_types": [],
                "discount_percent": campaign.discount_percent,
                "value_cents": campaign.value_cents,
                "cost_cents": campaign.cost_cents,
                "budget_cents": 1_000_000,
                "stock": 10_000,
                "min_dwell_s": 0,
                "days_apart": 0,
                "max_per_customer": 5,
                "offer_ttl_s": 1800,
            },
            now,
            ACTOR,
        )
    return True


def seed_shoppers(conn: Connection, shoppers: list[ShopperSpec], now: datetime) -> dict[int, int]:
    """The shoppers as customers with an app installation each (idempotent by e-mail):
    shopper index -> customer id."""
    ids: dict[int, int] = {}
    for shopper in shoppers:
        row = conn.execute("SELECT id FROM customers WHERE email = %s", (shopper.email,)).fetchone()
        if row is not None:
            ids[shopper.index] = int(row[0])
            continue
        row = conn.execute(
            "INSERT INTO customers (kind, name, email) VALUES ('person', %s, %s) RETURNING id",
            (shopper.name, shopper.email),
        ).fetchone()
        assert row is not None
        customer = int(row[0])
        ids[shopper.index] = customer
        register_installation(conn, shopper.installation, customer, now, ACTOR)
        if shopper.consented:
            record = ConsentRecord(
                None, customer, "grant", "location_marketing", "push", "app", "2026-12",
                "customer", now - timedelta(days=3),
            )  # fmt: skip
            record_changes(PostgresConsentUnitOfWork(conn), customer, [record], record.at)
        if shopper.open_ticket or shopper.bad_survey:
            _service_story(conn, shopper, customer, now)
    return ids


def _service_story(conn: Connection, shopper: ShopperSpec, customer: int, now: datetime) -> None:
    subject = (
        "Fridge door seal torn, customer called"
        if shopper.open_ticket
        else "Missed delivery slot for a washer, customer called"
    )
    draft = TicketDraft(subject=subject, description=subject, priority=3)
    # The open ticket came in this morning; the bad survey answered one from last week.
    opened = now - (timedelta(days=4) if shopper.bad_survey else timedelta(hours=1))
    ticket_id, _ = open_reactive(
        PostgresTicketsUnitOfWork(conn), draft, customer_id=customer, device_id=None,
        by=ACTOR, now=opened,
    )  # fmt: skip
    if shopper.bad_survey:
        change_status(
            PostgresTicketsUnitOfWork(conn), ticket_id, "cancelled", opened + timedelta(hours=2),
            ACTOR, "slot rebooked by the carrier",
        )  # fmt: skip
        survey = open_survey(conn, ticket_id, customer, opened + timedelta(hours=3))
        answer = Answer.checked(csat=1, nps=2, comment="Nobody came and nobody called.")
        assert survey.id is not None
        record_answer(conn, survey.id, answer, opened + timedelta(days=1))
