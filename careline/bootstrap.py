"""The composition root: the one place that turns settings into running parts.

``demo``, ``serve``, ``ingest`` and ``bench`` all come through here, so the wiring is the
same everywhere; nothing connects at import time.
"""

from __future__ import annotations

import functools
import gc
import logging
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from alerts.heads_up import HeadsUp
from alerts.offers import OfferRule
from alerts.proactive import ProactiveTickets, SelfResolvingTickets
from alerts.recall_rule import ProposeRecall
from alerts.survey_request import SurveyRequest
from careline.embedded.services import EmbeddedBroker, EmbeddedPostgres
from careline.embedded.smtp import MAIL_FOLDER, EmbeddedSmtp
from careline.settings import Settings
from crm_core.campaigns.learner import OfferLearner
from crm_core.campaigns.stock import StockAllocator
from crm_core.consent.links import PreferenceLinks
from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.kernel import migrate
from crm_core.kernel.capabilities import Capabilities, probe
from crm_core.kernel.clock import Clock, utc_now
from crm_core.kernel.events import Event, EventBus
from crm_core.kernel.links import LinkSigner
from crm_core.kernel.pool import open_pool
from crm_core.notifications.channels.email import SmtpChannel
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.channels.webhook import WebhookChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.ports import ChannelAdapter
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.notifications.recipients import PostgresRecipients
from crm_core.notifications.wake import OutboxWaker
from crm_core.surveys.links import SurveyLinks
from crm_core.tickets.follow_postgres import PostgresTicketFaultLinks
from crm_core.tickets.model import TicketOpened, TicketResolved
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.catalog import Catalog
from devices.coldchain.online import ExcursionFound, LegEvaluator
from devices.detection.fleet import FleetDetectors
from devices.detector_state import PostgresStateSource
from devices.faults.model import FaultCleared, FaultClosed, FaultOpened, FaultRecorded
from devices.faults.postgres import PostgresFaultRepository
from devices.faults.queries import ticket_diagnosis
from devices.faults.service import record_cleared, record_opened
from devices.metric_ids import sync_metric_ids
from devices.owners import PostgresDeviceOwners
from devices.product_issues.postgres import PostgresProductIssueRepository
from devices.product_issues.service import Grouping, GroupOnFault
from devices.product_issues.settings import FleetSettings
from devices.registry import DeviceDirectory, PostgresDeviceSource
from devices.registry_listener import RegistryListener
from devices.stored import ReadingsStored
from devices.tuning.feed import TuningFeed
from devices.tuning.feedback import handle_ticket_resolved
from devices.tuning.postgres import PostgresTuningRepository
from ingest.batch import BatchBuilder
from ingest.mqtt_source import MqttSource
from ingest.partitions import PartitionedSource, parse_partitions
from ingest.presence import SUBSCRIPTION as PRESENCE_SUBSCRIPTION
from ingest.presence_worker import PresenceWorker
from ingest.receipt_worker import ReceiptWorker
from ingest.receipts import SUBSCRIPTION as RECEIPTS_SUBSCRIPTION
from ingest.store import BatchStore
from ingest.topics import subscription_filter
from ingest.worker import IngestWorker

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
QUARANTINE_FOLDER = "quarantine"
"""In the data folder: messages neither the dead letters nor the quarantine table took."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the database and the broker are, embedded or not."""

    database_url: str
    mqtt_host: str
    mqtt_port: int
    embedded_database: bool
    embedded_broker: bool


def start_endpoints(settings: Settings, stack: ExitStack, *, broker: bool = True) -> Endpoints:
    """Use the configured services; start embedded ones where the settings name none."""
    url = settings.database.url
    embedded_db = url is None
    if url is None:
        postgres = EmbeddedPostgres(settings.data_dir)
        url = postgres.start()
        stack.callback(postgres.stop)
    host, port = settings.mqtt.host, settings.mqtt.port
    embedded_broker = host is None and broker
    if host is None:
        host = "127.0.0.1"
        if broker:
            embedded = EmbeddedBroker(port)
            port = embedded.start()
            stack.callback(embedded.stop)
    return Endpoints(url, host, port, embedded_db, embedded_broker)


@dataclass(frozen=True, slots=True)
class Database:
    pool: Pool
    capabilities: Capabilities
    metric_ids: dict[str, int]


def open_database(
    settings: Settings, url: str, catalog: Catalog, stack: ExitStack, *, migrate_first: bool
) -> Database:
    if migrate_first:
        migrate.upgrade(url)
    pool = open_pool(
        url,
        min_size=settings.database.pool_min_size,
        max_size=settings.database.pool_max_size,
        reconnect_max_delay_s=settings.database.reconnect_max_delay_s,
    )
    stack.callback(pool.close)
    with pool.connection() as conn:
        if not migrate_first:
            migrate.ensure_current(conn)
        capabilities = probe(conn)
        metric_ids = sync_metric_ids(conn, catalog)
    return Database(pool, capabilities, metric_ids)


def kept_secret(path: Path) -> str:
    """A random key made once and kept (owner-only) in the data folder."""
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value + "\n", "utf-8")
    path.chmod(0o600)
    return value


SESSION_SECRET_FILE = "session-secret"  # noqa: S105 - a file name, not a secret


def link_signer(settings: Settings) -> LinkSigner:
    """Signs the links in customer mail with the installation's secret (the console's
    session secret, or the one the demo keeps in the data folder), so the web app accepts
    them; every process that writes mail (ingest, scheduler, demo) makes the same links."""
    return LinkSigner(
        settings.api.session_secret or kept_secret(settings.data_dir / SESSION_SECRET_FILE)
    )


def preference_links(settings: Settings) -> PreferenceLinks:
    days = settings.notifications.link_max_age_days
    return PreferenceLinks(link_signer(settings), max_age_s=days * 86400)


def heads_up(settings: Settings, clock: Clock = utc_now) -> HeadsUp:
    """The proactive-ticket heads-up handler, with its links and webhook target."""
    group = settings.notifications
    return HeadsUp(
        recipients=lambda uow: PostgresRecipients(uow.connection),
        tickets=lambda uow: PostgresTicketRepository(uow.connection),
        consents=lambda uow: PostgresConsentLedger(uow.connection),
        outbox=lambda uow: PostgresOutbox(uow.connection),
        # the secret is read (or made, for the demo) when the first message needs a link
        links=functools.cache(lambda: preference_links(settings)),
        diagnosis=lambda uow, ticket_id: ticket_diagnosis(uow.connection, ticket_id),
        public_url=group.public_url,
        clock=clock,
        webhook_url=group.webhook_url if group.webhook_secret else None,
    )


def survey_request(settings: Settings, clock: Clock = utc_now) -> SurveyRequest:
    """The handler that mails the satisfaction survey when a ticket is resolved."""

    def links() -> tuple[SurveyLinks, PreferenceLinks]:
        return SurveyLinks(link_signer(settings)), preference_links(settings)

    return SurveyRequest(
        recipients=lambda uow: PostgresRecipients(uow.connection),
        consents=lambda uow: PostgresConsentLedger(uow.connection),
        outbox=lambda uow: PostgresOutbox(uow.connection),
        links=functools.cache(links),
        public_url=settings.notifications.public_url,
        clock=clock,
    )


def event_bus(
    catalog: Catalog,
    clock: Clock = utc_now,
    fleet: FleetSettings | None = None,
    *,
    notify: HeadsUp | None = None,
    surveys: SurveyRequest | None = None,
    metric_ids: dict[str, int] | None = None,
) -> EventBus:
    """Every handler of the domain events ingest produces, on the PostgreSQL adapters.

    A new rule family is a handler module in ``alerts/`` and one ``subscribe`` line here.
    Product issues are grouped after the proactive ticket is opened, so that the ticket is
    there to link (both in the batch's transaction).
    ``notify`` (from :func:`heads_up`) tells customers about their proactive tickets;
    ``surveys`` (from :func:`survey_request`) asks them how we did once one is resolved.
    With ``metric_ids`` the cold-chain loggers' readings are judged as they arrive and a
    broken rule proposes a recall.
    """
    bus = EventBus()

    def opened(event: FaultOpened, uow: Any) -> list[Event]:
        device = PostgresDeviceOwners(uow.connection).owner_of(event.device_id)
        kind = catalog.device_types.get(device.device_type) if device is not None else None
        return record_opened(event, PostgresFaultRepository(uow.connection), kind)

    bus.subscribe(FaultOpened, opened)
    bus.subscribe(
        FaultCleared, lambda e, uow: record_cleared(e, PostgresFaultRepository(uow.connection))
    )
    bus.subscribe(
        FaultRecorded,
        ProactiveTickets(
            catalog,
            owners=lambda uow: PostgresDeviceOwners(uow.connection),
            tickets=lambda uow: PostgresTicketRepository(uow.connection),
            clock=clock,
            links=lambda uow: PostgresTicketFaultLinks(uow.connection),
        ),
    )
    bus.subscribe(
        FaultClosed,
        SelfResolvingTickets(
            links=lambda uow: PostgresTicketFaultLinks(uow.connection), clock=clock
        ),
    )
    bus.subscribe(
        FaultRecorded,
        GroupOnFault(
            repository=lambda uow: PostgresProductIssueRepository(uow.connection),
            rule=Grouping.of(fleet or FleetSettings()),
            clock=clock,
        ),
    )
    if notify is not None:
        bus.subscribe(TicketOpened, notify)
    # A repair resets the device's learned baseline; "no fault found" desensitises it.
    bus.subscribe(TicketResolved, ticket_resolution_feedback(catalog, clock))
    if surveys is not None:
        bus.subscribe(TicketResolved, surveys)
    if metric_ids is not None:
        bus.subscribe(ReadingsStored, cold_chain_evaluator(catalog, metric_ids, clock))
        bus.subscribe(ExcursionFound, ProposeRecall(clock))
    return bus


def cold_chain_evaluator(
    catalog: Catalog, metric_ids: dict[str, int], clock: Clock = utc_now
) -> LegEvaluator:
    logger = catalog.device_type("temperature_logger")
    return LegEvaluator(metric_ids, interval_s=logger.report_interval_s, clock=clock)


def ticket_resolution_feedback(
    catalog: Catalog, clock: Clock = utc_now
) -> Callable[[Any, Any], list[Event]]:
    """The handler for a resolved ticket's event (``TicketResolved``, with ``device_id``,
    ``resolution_code``, ``actor`` and ``ticket_id``): a repair resets the device's learned
    baseline, "no fault found" desensitises its detectors a bounded step
    (:func:`devices.tuning.service.handle_ticket_resolved`). Subscribe it with
    ``bus.subscribe(TicketResolved, ticket_resolution_feedback(catalog, clock))``, as
    :func:`event_bus` does.
    """

    def handle(event: Any, uow: Any) -> list[Event]:
        device_id = getattr(event, "device_id", None)
        if device_id is None:  # a ticket about no device
            return []
        done = handle_ticket_resolved(
            PostgresTuningRepository(uow.connection),
            PostgresFaultRepository(uow.connection),
            catalog,
            int(device_id),
            str(event.resolution_code),
            str(event.actor),
            clock(),
            ticket_id=getattr(event, "ticket_id", None),
        )
        for line in done:
            log.info("ticket resolution feedback: %s", line)
        return []

    return handle


@dataclass(frozen=True, slots=True)
class MailEndpoint:
    host: str
    port: int
    maildir: Path | None  # the embedded server's mailbox; None for a real server


def start_mail(settings: Settings, stack: ExitStack) -> MailEndpoint:
    """The configured SMTP server, or an embedded one storing mail in the data folder."""
    group = settings.notifications
    if group.smtp_host:
        return MailEndpoint(group.smtp_host, group.smtp_port, None)
    folder = settings.data_dir / MAIL_FOLDER
    server = EmbeddedSmtp(folder, group.smtp_port)
    port = server.start()
    stack.callback(server.stop)
    return MailEndpoint("127.0.0.1", port, folder)


def build_dispatcher(
    settings: Settings,
    pool: Pool,
    mail: MailEndpoint | None,
    mqtt: tuple[str, int, Literal["5", "3.1.1"]] | None,
    stack: ExitStack,
    clock: Clock = utc_now,
) -> Dispatcher:
    """The outbox dispatcher with every channel the settings (and services) allow."""
    group = settings.notifications
    channels: dict[str, ChannelAdapter] = {}
    if mail is not None:
        channels["email"] = SmtpChannel(
            mail.host,
            mail.port,
            group.mail_from,
            starttls=group.smtp_starttls,
            username=group.smtp_username,
            password=group.smtp_password,
        )
    if group.webhook_secret:
        channels["webhook"] = WebhookChannel(group.webhook_secret, clock)
    if group.push and mqtt is not None:
        push = MqttPushChannel(
            mqtt[0],
            mqtt[1],
            clock=clock,
            protocol=mqtt[2],
            default_ttl_s=group.push_ttl_s,
            login=settings.mqtt.login(group.push_username or None, group.push_password),
        )
        stack.callback(push.close)
        channels["push"] = push
    log.info("outbox channels: %s", ", ".join(sorted(channels)) or "none")
    return Dispatcher(pool, channels, policy=group.policy(), clock=clock)


@dataclass(frozen=True, slots=True)
class Ingest:
    worker: IngestWorker
    source: MqttSource | PartitionedSource
    directory: DeviceDirectory
    detectors: FleetDetectors | None
    listener: RegistryListener


def push_protocol(settings: Settings) -> Literal["5", "3.1.1"]:
    return "3.1.1" if settings.mqtt.protocol == "3.1.1" else "5"


def push_endpoint(
    settings: Settings, endpoints: Endpoints
) -> tuple[str, int, Literal["5", "3.1.1"]]:
    """Where pushes go: the ingest broker, in the MQTT version it speaks (the embedded
    rumqttd listens for 3.1.1, so pushes carry their expiry in the payload only)."""
    protocol = "3.1.1" if endpoints.embedded_broker else push_protocol(settings)
    return endpoints.mqtt_host, endpoints.mqtt_port, protocol


def build_ingest(
    settings: Settings, endpoints: Endpoints, database: Database, catalog: Catalog
) -> Ingest:
    """An ingest worker and its MQTT source, wired but not started."""
    limits = settings.ingest
    directory = DeviceDirectory(
        PostgresDeviceSource(database.pool),
        negative_ttl_s=limits.unknown_device_ttl_s,
        negative_size=limits.unknown_device_cache_size,
    )
    known = directory.preload()
    log.info("device registry: %d devices", known)
    detectors = FleetDetectors(catalog) if limits.detection else None
    builder = BatchBuilder(
        catalog,
        directory,
        database.metric_ids,
        detectors,
        topic_root=settings.mqtt.topic_root,
        future_tolerance_s=limits.future_tolerance_s,
        past_tolerance_s=limits.past_tolerance_s,
        max_readings=limits.max_readings_per_message,
        states=PostgresStateSource(database.pool),
        checkpoint_every_s=limits.checkpoint_every_s,
        tuning=TuningFeed(database.pool, catalog, poll_s=limits.tuning_poll_s),
    )
    store = BatchStore(
        database.pool,
        bus=event_bus(
            catalog,
            fleet=settings.fleet,
            notify=heads_up(settings),
            surveys=survey_request(settings),
            metric_ids=database.metric_ids,
        ),
        max_reason_chars=limits.max_reason_chars,
    )
    worker = IngestWorker(
        limits, builder, store, quarantine_dir=settings.data_dir / QUARANTINE_FOLDER
    )
    where: dict[str, object] = {"host": endpoints.mqtt_host, "port": endpoints.mqtt_port}
    if endpoints.embedded_broker and settings.mqtt.protocol == "auto":
        # The embedded rumqttd listens for MQTT 3.1.1 (its v5 listener needs a TOML
        # configuration we have not shown to keep persistent sessions): ask for what it
        # speaks rather than try 5 and log a fallback at every start.
        where["protocol"] = "3.1.1"
    mqtt_settings = settings.mqtt.model_copy(update=where)
    source: MqttSource | PartitionedSource
    if settings.mqtt.partitions:  # the broker partitions by device: a session per partition
        source = PartitionedSource(
            mqtt_settings,
            parse_partitions(settings.mqtt.partitions),
            worker.deliver,
            max_payload_bytes=limits.max_message_bytes,
        )
    else:
        source = MqttSource(
            mqtt_settings,
            subscription_filter(settings.mqtt.topic_root, settings.mqtt.share_group),
            worker.deliver,
            max_payload_bytes=limits.max_message_bytes,
        )
    worker.set_acknowledger(source.ack)
    listener = RegistryListener(endpoints.database_url, directory)
    return Ingest(worker, source, directory, detectors, listener)


# Ingest allocates a few objects per reading and keeps tens of thousands of long-lived ones
# (a monitor per device and metric, the registry): with CPython's default threshold of 700
# the cyclic collector ran so often that it took about 40 % of the batch builder's time
# (measured: 48 -> 30 us per 10-reading message). Young collections every 50,000
# allocations instead; the older generations keep their default ratios, so that cyclic
# garbage which does reach them is still collected (with (50_000, 20, 100) a full collection
# never ran and the ingest process grew past 500 MB).
GC_THRESHOLDS = (50_000, 10, 10)


def start_ingest(ingest: Ingest, stack: ExitStack) -> None:
    """Start the worker, then the subscription.

    On the way out the worker drains first, so that what it commits is acknowledged while
    the connection is still up; then the connection closes.
    """
    gc.set_threshold(*GC_THRESHOLDS)
    gc.freeze()  # what start-up built (catalog, registry, pool) is never garbage
    ingest.listener.start()  # a device registered from now on is known at once
    stack.callback(ingest.listener.stop)
    ingest.worker.start()
    try:
        ingest.source.start()
    except BaseException:
        ingest.worker.stop()
        raise
    stack.callback(ingest.source.stop)
    stack.callback(ingest.worker.stop)


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


def start_waker(database_url: str, dispatcher: Dispatcher, stack: ExitStack) -> OutboxWaker:
    """Drain the outbox as soon as a writer NOTIFYs (offers go out at once)."""
    waker = OutboxWaker(database_url, dispatcher).start()
    stack.callback(waker.stop)
    return waker
