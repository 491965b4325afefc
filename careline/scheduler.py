"""Scheduled jobs (APScheduler): the work nobody asks for but everybody relies on.

The jobs: the outbox dispatcher, every few seconds (customer mail, webhooks and pushes;
claims are ``FOR UPDATE SKIP LOCKED`` with a lease, so even two dispatchers would not send
a row twice); dead-letter retention, daily (at once on a fresh install); the no-data check,
every minute, which opens a fault (and, through the same event handlers ingest uses, a
proactive ticket and its customer's heads-up) for a device silent longer than its type's
``no_data_after_s`` and clears it when the device is heard again; the product-issue sweep,
every ten minutes, which groups recent faults that are in no product issue (what two
ingest workers each saw only half of); report snapshots, nightly (at once on a fresh
install), every report for yesterday; the SLA check, every minute, which raises each SLA warning
and breach once and escalates (:mod:`crm_core.tickets.sla_check`), mailing the assignee and
the escalation target in the same transaction (:mod:`alerts.sla_notices`); the fault
reminders, every minute, which remind the service desk of open faults nobody acknowledged
at growing intervals and escalate to the service lead (:mod:`alerts.fault_reminders`);
readings rollups every five minutes and readings retention daily
(:mod:`careline.lifecycle_jobs`).
Each job takes ``now`` from the scheduler's clock and logs what it did; a failed run is
logged and tried again at the next time.
``careline scheduler`` runs the jobs in their own process; ``careline demo`` runs them in
its own process, beside everything else. The jobs' schedule is kept in PostgreSQL and only
the process holding the scheduler lease runs them (:mod:`careline.leased_scheduler`), so
a restart keeps a daily job daily and two schedulers never run one job twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.heads_up import HeadsUp
from careline.bootstrap import Pool, event_bus
from careline.leased_scheduler import JobSpec, LeasedScheduler
from careline.lifecycle_jobs import lifecycle_jobs
from careline.reports.snapshots import take_snapshots
from careline.service_jobs import fault_reminders, sla_notices, subscribe_sla_notices
from careline.settings import Settings
from crm_core.kernel.clock import Clock, utc_now
from crm_core.kernel.errors import StorageError, database_errors
from crm_core.kernel.events import EventBus
from crm_core.kernel.uow import PostgresUnitOfWork
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.tickets.model import SlaBreached, SlaWarning
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.settings import ServiceSettings, sla_context
from crm_core.tickets.sla_check import check_slas
from devices.catalog import Catalog
from devices.faults.model import FaultRecorded
from devices.faults.no_data import no_data_events
from devices.faults.postgres import silences
from devices.presence.tracking import expire_tracks, prune_seen
from devices.product_issues.model import ProductIssueOpened
from devices.product_issues.postgres import PostgresProductIssueRepository
from devices.product_issues.service import Grouping, sweep
from ingest.retention import purge_dead_letters

log = logging.getLogger(__name__)


def dead_letter_retention(pool: Pool, settings: Settings, clock: Clock) -> Callable[[], None]:
    """The retention job, bound to its pool and settings."""
    days = settings.ingest.dead_letter_retention_days

    def run() -> None:
        try:
            deleted = purge_dead_letters(pool, clock(), days)
        except StorageError as exc:
            log.warning("dead-letter retention did not run: %s; trying again tomorrow", exc)
            return
        if deleted:
            log.info(
                "dead-letter retention: %d dead letters older than %d days deleted", deleted, days
            )

    return run


def no_data_check(pool: Pool, catalog: Catalog, bus: EventBus, clock: Clock) -> Callable[[], None]:
    """The no-data job: one transaction, the events through the bus like a batch's."""

    def run() -> None:
        try:
            with database_errors(), pool.connection() as conn, PostgresUnitOfWork(conn) as uow:
                events = no_data_events(silences(conn), catalog, clock().timestamp())
                handled = bus.publish(events, uow)
                uow.commit()
        except StorageError as exc:
            log.warning("the no-data check did not run: %s; trying again in a minute", exc)
            return
        for event in handled:
            if isinstance(event, FaultRecorded):
                log.info(
                    "device %d is silent: fault %d opened", event.opened.device_id, event.fault_id
                )

    return run


def product_issue_sweep(pool: Pool, settings: Settings, clock: Clock) -> Callable[[], None]:
    """The sweep: faults of the last windows that are in no product issue are grouped again.

    Ingest groups each fault as it is recorded; two workers whose batches commit at the same
    time each see only their own faults, and may both find too few. This job, every ten
    minutes, sees them all.
    """
    rule = Grouping.of(settings.fleet)

    def run() -> None:
        try:
            with database_errors(), pool.connection() as conn, PostgresUnitOfWork(conn) as uow:
                events = sweep(PostgresProductIssueRepository(conn), rule, clock())
                uow.commit()
        except StorageError as exc:
            log.warning("the product-issue sweep did not run: %s; trying again later", exc)
            return
        for event in events:
            if isinstance(event, ProductIssueOpened):
                log.info("product issue %d opened: %s", event.issue_id, event.title)

    return run


def report_snapshots(
    pool: Pool, clock: Clock, service: ServiceSettings | None = None
) -> Callable[[], None]:
    """The nightly job: every report for yesterday (UTC), stored (a rerun replaces it)."""
    sla = sla_context(service or ServiceSettings())

    def run() -> None:
        now = clock()
        day = (now - timedelta(days=1)).date()
        try:
            with database_errors(), pool.connection() as conn:
                stored = take_snapshots(conn, day, now, sla)
        except StorageError as exc:
            log.warning("report snapshots for %s were not taken: %s", day, exc)
            return
        log.info("report snapshots: %d reports for %s", stored, day)

    return run


def outbox_dispatch(dispatcher: Dispatcher) -> Callable[[], None]:
    """The outbox job: deliver what is due; a database outage waits for the next run."""

    def run() -> None:
        try:
            with database_errors():
                outcomes = dispatcher.drain()
        except StorageError as exc:
            log.warning("the outbox dispatcher did not run: %s; trying again shortly", exc)
            return
        if outcomes:
            log.info("outbox: %s", ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())))

    return run


def sla_check(
    pool: Pool, service: ServiceSettings, bus: EventBus, clock: Clock
) -> Callable[[], int]:
    """The SLA job: every live ticket's clocks; each warning and breach raised once, its
    events (``SlaWarning``, ``SlaBreached``, ``TicketEscalated``) published on the bus in
    the same transaction. Returns how many events it raised (0 on a repeated run)."""
    ctx = sla_context(service)

    def run() -> int:
        try:
            with (
                database_errors(),
                pool.connection() as conn,
                PostgresTicketsUnitOfWork(conn) as uow,
            ):
                events = check_slas(
                    uow.tickets, ctx.levels, ctx.calendar, ctx.warning_share, clock()
                )
                bus.publish(events, uow)
                uow.commit()
        except StorageError as exc:
            log.warning("the SLA check did not run: %s; trying again in a minute", exc)
            return 0
        for event in events:
            if isinstance(event, SlaBreached | SlaWarning):
                kind = "breached" if isinstance(event, SlaBreached) else "warning"
                log.info("ticket %d: SLA %s %s", event.ticket_id, event.metric, kind)
        return len(events)

    return run


def presence_sweep(pool: Pool, settings: Settings, clock: Clock) -> Callable[[], None]:
    """Close the visits of shoppers no longer seen (exit hysteresis, dwell) and forget
    sightings digests older than a day (redeliveries come within minutes)."""
    rules = settings.presence.rules()

    def run() -> None:
        now = clock()
        try:
            with pool.connection() as conn:
                exits = expire_tracks(conn, now, rules)
                pruned = prune_seen(conn, now - timedelta(days=1))
        except StorageError as exc:
            log.warning("presence sweep: %s; next run retries", exc)
            return
        if exits or pruned:
            log.info("presence sweep: %d zone exits, %d old digests pruned", len(exits), pruned)

    return run


def default_jobs(
    pool: Pool,
    settings: Settings,
    catalog: Catalog,
    clock: Clock = utc_now,
    *,
    dispatcher: Dispatcher | None = None,
    notify: HeadsUp | None = None,
) -> list[JobSpec]:
    """Every scheduled job of the product, with its schedule.

    ``dispatcher`` adds the outbox job (every ``notifications.dispatch_every_s``); ``notify``
    tells customers about the tickets the no-data check opens.
    """
    jobs = [
        JobSpec(
            "dead-letter-retention",
            "dead-letter retention",
            IntervalTrigger(days=1),
            dead_letter_retention(pool, settings, clock),
            first_run_now=True,
        ),
        JobSpec(
            "no-data-check",
            "no-data check",
            IntervalTrigger(minutes=1),
            no_data_check(
                pool,
                catalog,
                event_bus(catalog, clock, settings.fleet, notify=notify),
                clock,
            ),
        ),
        JobSpec(
            "presence-sweep",
            "presence sweep",
            IntervalTrigger(seconds=15),
            presence_sweep(pool, settings, clock),
        ),
        JobSpec(
            "product-issue-sweep",
            "product-issue sweep",
            IntervalTrigger(minutes=10),
            product_issue_sweep(pool, settings, clock),
        ),
        JobSpec(
            "report-snapshots",
            "report snapshots",
            CronTrigger(hour=0, minute=15, timezone="UTC"),
            report_snapshots(pool, clock, settings.service),
            first_run_now=True,
        ),
        JobSpec(
            "sla-check",
            "SLA warnings, breaches and escalation",
            IntervalTrigger(minutes=1),
            _discard(
                sla_check(
                    pool,
                    settings.service,
                    subscribe_sla_notices(
                        event_bus(catalog, clock, settings.fleet), sla_notices(settings, clock)
                    ),
                    clock,
                )
            ),
        ),
        JobSpec(
            "fault-reminders",
            "fault acknowledgement reminders",
            IntervalTrigger(minutes=1),
            _discard(fault_reminders(pool, settings, clock)),
        ),
    ]
    jobs += lifecycle_jobs(pool, settings.lifecycle, clock)
    if dispatcher is not None:
        jobs.append(
            JobSpec(
                "outbox-dispatch",
                "outbox dispatch",
                IntervalTrigger(seconds=settings.notifications.dispatch_every_s),
                outbox_dispatch(dispatcher),
                first_run_now=True,
            )
        )
    return jobs


def _discard(job: Callable[[], object]) -> Callable[[], None]:
    """The job as the scheduler runs it: what it returns (a count, for tests) is dropped."""

    def run() -> None:
        job()

    return run


def start_scheduler(
    pool: Pool,
    settings: Settings,
    catalog: Catalog,
    *,
    clock: Clock = utc_now,
    dispatcher: Dispatcher | None = None,
    notify: HeadsUp | None = None,
) -> LeasedScheduler:
    """Run the jobs while this process holds the scheduler lease; ``shutdown()`` to stop."""
    jobs = default_jobs(pool, settings, catalog, clock, dispatcher=dispatcher, notify=notify)
    return LeasedScheduler(pool, jobs).start()
