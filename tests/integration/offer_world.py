"""A small store world for the offer tests: a store, zones, beacons, shoppers, campaigns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from alerts.offers import OfferRule
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.model import Campaign, Limits
from crm_core.campaigns.postgres import add_campaign
from crm_core.consent.model import ConsentRecord
from crm_core.consent.postgres import PostgresConsentUnitOfWork
from crm_core.consent.service import record_changes
from devices.presence.directory import add_beacon, add_store, add_zone, register_installation
from devices.presence.model import DAYS, OpeningHours, PresenceRules, ibeacon_identifier
from ingest.messages import RawMessage
from ingest.presence import apply_message, installation_topic

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday, 10:00 in the store (UTC)
RULES = PresenceRules(rssi_enter=-75, enter_sightings=3, enter_seconds=10, exit_seconds=30)
OPEN_ALL_WEEK = {day: [["00:00", "23:59"]] for day in DAYS}


@dataclass
class World:
    db: Pool
    rule: OfferRule
    zones: dict[str, int] = field(default_factory=dict)
    minors: dict[str, int] = field(default_factory=dict)
    sent_messages: int = 0

    def shopper(self, name: str, *, consent: bool = True) -> int:
        with self.db.connection() as conn:
            row = conn.execute(
                "INSERT INTO customers (kind, name, email) VALUES ('person', %s, %s) RETURNING id",
                (name, f"{name.lower()}@example.net"),
            ).fetchone()
            assert row is not None
            customer = int(row[0])
            register_installation(conn, f"app-{customer}", customer, T0, "test")
        if consent:
            self.consent(customer, "grant")
        return customer

    def consent(
        self, customer: int, action: str, purpose: str | None = "location_marketing"
    ) -> int:
        channel = None if purpose is None else "push"
        record = ConsentRecord(
            None, customer, action, purpose, channel, "app", "2026-12", "customer",  # type: ignore[arg-type]
            T0 - timedelta(days=1),
        )  # fmt: skip
        with self.db.connection() as conn:
            [stored] = record_changes(
                PostgresConsentUnitOfWork(conn), customer, [record], record.at
            )
        assert stored.id is not None
        return stored.id

    def campaign(self, code: str, **fields: Any) -> Campaign:
        values: dict[str, Any] = {
            "code": code,
            "name": code.title(),
            "kind": "promotion",
            "message": f"{code}: 20 % off today",
            "starts_at": T0 - timedelta(days=1),
            "ends_at": T0 + timedelta(days=30),
            "zone_ids": [],
            "categories": ["dairy"],
            "device_types": [],
            "discount_percent": 20,
            "value_cents": 500,
            "cost_cents": 50,
            "budget_cents": 100_000,
            "stock": 1000,
            "min_dwell_s": 0,
            "days_apart": 0,
            "max_per_customer": 100,
            "offer_ttl_s": 1800,
        }
        values.update(fields)
        with self.db.connection() as conn:
            return add_campaign(conn, values, T0, "test")

    def enter(self, customer: int, zone: str, at: datetime) -> RawMessage:
        """Three strong sightings of the zone's beacon: a zone entry at ``at + 2 s``."""
        body = {
            "sightings": [
                {
                    "t": (at + timedelta(seconds=s)).timestamp(),
                    "rssi": -60,
                    "ibeacon": {"uuid": UUID, "major": 1, "minor": self.minors[zone]},
                }
                for s in range(3)
            ]
        }
        message = RawMessage(
            installation_topic(f"app-{customer}"), json.dumps(body).encode(), at.timestamp()
        )
        self.deliver(message)
        return message

    def deliver(self, message: RawMessage) -> None:
        with self.db.connection() as conn:
            apply_message(conn, message, RULES, self.rule)

    def decisions(self, customer: int) -> list[tuple[Any, ...]]:
        with self.db.connection() as conn:
            return conn.execute(
                "SELECT outcome, rule, campaign_id, consent_record_id, reason, detail "
                "FROM offer_decisions WHERE customer_id = %s ORDER BY id",
                (customer,),
            ).fetchall()


def build_world(
    db: Pool,
    *,
    hours: dict[str, list[list[str]]] | None = None,
    limits: Limits | None = None,
    holdout_percent: float = 0.0,
) -> World:
    rule = OfferRule(
        OfferLearner(explore=0.0, seed=1),
        limits or Limits(quiet_start_hour=22, quiet_end_hour=7),
        holdout_percent,
        clock=lambda: T0,
    )
    world = World(db, rule)
    with db.connection() as conn:
        store = add_store(
            conn, "LYON-1", "Lyon", OpeningHours.parse(hours or OPEN_ALL_WEEK, "UTC"), T0, "t"
        )
        for minor, (code, categories) in enumerate(
            (("dairy", ["dairy"]), ("appliances", ["appliances", "spare_parts"])), start=1
        ):
            zone = add_zone(conn, store.id, code, code.title(), categories, T0, "t")
            add_beacon(conn, zone.id, ibeacon_identifier(UUID, 1, minor), T0, "t")
            world.zones[code] = zone.id
            world.minors[code] = minor
    return world
