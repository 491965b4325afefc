"""Wiring of the in-store path: shoppers' sightings and the zone-entry offer rule, and the
stores' POS receipts that redeem offers; both on the ingest broker."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from alerts.offers import OfferRule
from careline.bootstrap import Database, Endpoints
from careline.settings import Settings
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.stock import StockAllocator
from crm_core.kernel.clock import Clock, utc_now
from ingest.mqtt_source import MqttSource
from ingest.presence import SUBSCRIPTION as PRESENCE_SUBSCRIPTION
from ingest.presence_worker import PresenceWorker
from ingest.receipt_worker import ReceiptWorker
from ingest.receipts import SUBSCRIPTION as RECEIPTS_SUBSCRIPTION


@dataclass(frozen=True, slots=True)
class Presence:
    """The presence worker, its MQTT subscription, and the zone-entry -> offer rule."""

    worker: PresenceWorker
    source: MqttSource
    offers: OfferRule


def offer_rule(
    settings: Settings, clock: Clock = utc_now, conninfo: str | None = None
) -> OfferRule:
    """The offer rule; with ``conninfo``, its stock reservations are taken on connections
    of their own (see :mod:`crm_core.campaigns.stock`)."""
    group = settings.offers
    return OfferRule(
        OfferLearner(explore=group.explore_percent / 100),
        group.limits(),
        group.holdout_percent,
        clock=clock,
        allocator=StockAllocator(conninfo),
    )


def build_presence(
    settings: Settings, endpoints: Endpoints, database: Database, clock: Clock = utc_now
) -> Presence:
    """Shoppers' sightings (``ps/<installation>/sightings``) on the ingest broker, each zone entry
    decided as an offer in the same transaction."""
    rule = offer_rule(settings, clock, endpoints.database_url)
    worker = PresenceWorker(
        database.pool, settings.presence.rules(), rule, threads=settings.presence.threads
    )
    where: dict[str, object] = {
        "host": endpoints.mqtt_host,
        "port": endpoints.mqtt_port,
        "client_id": settings.presence.client_id,
    }
    if endpoints.embedded_broker and settings.mqtt.protocol == "auto":
        where["protocol"] = "3.1.1"
    if settings.presence.mqtt_username:  # its own account (the ACL's careline-presence)
        where["username"] = settings.presence.mqtt_username
        where["password"] = settings.presence.mqtt_password
    filter_ = PRESENCE_SUBSCRIPTION
    if settings.mqtt.share_group:
        filter_ = f"$share/{settings.mqtt.share_group}-presence/{PRESENCE_SUBSCRIPTION}"
    source = MqttSource(settings.mqtt.model_copy(update=where), filter_, worker.deliver)
    worker.set_acknowledger(source.ack)
    return Presence(worker, source, rule)


def start_presence(presence: Presence, stack: ExitStack) -> None:
    """Start the worker, then the subscription; on the way out, the reverse (and the offer
    rule's unused stock reservations go back to their campaigns)."""
    stack.callback(presence.offers.close)
    presence.worker.start()
    stack.callback(presence.worker.stop)
    presence.source.start()
    stack.callback(presence.source.stop)


@dataclass(frozen=True, slots=True)
class Receipts:
    """The receipts worker and its MQTT subscription (``pos/<store>/receipts``)."""

    worker: ReceiptWorker
    source: MqttSource


def build_receipts(settings: Settings, endpoints: Endpoints, database: Database) -> Receipts:
    """Stores' POS receipts on the ingest broker; each redeems the coupons it carries."""
    worker = ReceiptWorker(database.pool)
    where: dict[str, object] = {
        "host": endpoints.mqtt_host,
        "port": endpoints.mqtt_port,
        "client_id": settings.receipts.client_id,
    }
    if endpoints.embedded_broker and settings.mqtt.protocol == "auto":
        where["protocol"] = "3.1.1"
    filter_ = RECEIPTS_SUBSCRIPTION
    if settings.mqtt.share_group:
        filter_ = f"$share/{settings.mqtt.share_group}-receipts/{RECEIPTS_SUBSCRIPTION}"
    source = MqttSource(settings.mqtt.model_copy(update=where), filter_, worker.deliver)
    worker.set_acknowledger(source.ack)
    return Receipts(worker, source)


def start_receipts(receipts: Receipts, stack: ExitStack) -> None:
    """Start the worker, then the subscription; on the way out, the reverse."""
    receipts.worker.start()
    stack.callback(receipts.worker.stop)
    receipts.source.start()
    stack.callback(receipts.source.stop)
