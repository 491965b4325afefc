"""The composition root: the one place that turns settings into running parts.

``demo``, ``serve``, ``ingest`` and ``bench`` all come through here, so the wiring is the
same everywhere; nothing connects at import time.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from alerts.heads_up import HeadsUp
from alerts.proactive import ProactiveTickets, SelfResolvingTickets
from alerts.recall_rule import ProposeRecall
from alerts.survey_request import SurveyRequest
from careline.embedded.services import EmbeddedBroker, EmbeddedPostgres
from careline.outbound import heads_up, push_protocol, survey_request
from careline.settings import Settings
from crm_core.kernel import migrate
from crm_core.kernel.capabilities import Capabilities, probe
from crm_core.kernel.clock import Clock, utc_now
from crm_core.kernel.events import Event, EventBus
from crm_core.kernel.pool import open_pool
from crm_core.tickets.follow_postgres import PostgresTicketFaultLinks
from crm_core.tickets.model import TicketOpened, TicketResolved
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.catalog import Catalog
from devices.coldchain.online import ExcursionFound, LegEvaluator
from devices.detection.fleet import FleetDetectors
from devices.detector_state import PostgresStateSource
from devices.faults.model import FaultCleared, FaultClosed, FaultOpened, FaultRecorded
from devices.faults.postgres import PostgresFaultRepository
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
from ingest.batch_builder import BatchBuilder
from ingest.mqtt_source import MqttSource
from ingest.partitions import PartitionedSource, parse_partitions
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
class Ingest:
    worker: IngestWorker
    source: MqttSource | PartitionedSource
    directory: DeviceDirectory
    detectors: FleetDetectors | None
    listener: RegistryListener


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
