"""What the service commands run: serve, ingest, simulate, schedule, migrate.

Each returns the process exit code. Long-running ones stop cleanly on Ctrl-C or SIGTERM.
The admin commands' runners live beside this one (``runners_staff``,
``runners_dead_letters``, ``runners_lifecycle``, ``runners_evaluate``); they share its
small pool.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import ExitStack

import typer

from careline.bootstrap import Pool, build_ingest, open_database, start_endpoints, start_ingest
from careline.in_store import build_presence, build_receipts, start_presence, start_receipts
from careline.settings import Settings
from crm_core.kernel import migrate
from crm_core.kernel.capabilities import probe
from crm_core.kernel.pool import open_pool
from devices.catalog import load_catalog

log = logging.getLogger(__name__)


def stop_event() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM (docker stop), so loops can end cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _pool(settings: Settings, stack: ExitStack, size: int = 1) -> Pool:
    """A small pool on the configured (or embedded) database, closed with ``stack``."""
    endpoints = start_endpoints(settings, stack, broker=False)
    pool = open_pool(endpoints.database_url, min_size=1, max_size=size)
    stack.callback(pool.close)
    return pool


def run_migrate(settings: Settings) -> int:
    with ExitStack() as stack:
        endpoints = start_endpoints(settings, stack, broker=False)
        typer.echo("migrating the schema ...")
        migrate.upgrade(endpoints.database_url)
        pool = open_pool(endpoints.database_url, min_size=1, max_size=1)
        stack.callback(pool.close)
        with pool.connection() as conn:
            typer.echo(f"schema up to date; {probe(conn).describe()}")
    return 0


def run_serve(settings: Settings) -> int:
    import uvicorn

    from careline.api.server import build_app, with_secrets

    with ExitStack() as stack:
        endpoints = start_endpoints(settings, stack, broker=False)
        catalog = load_catalog()
        database = open_database(
            settings, endpoints.database_url, catalog, stack, migrate_first=False
        )
        app = build_app(with_secrets(settings), database, catalog, stack)
        uvicorn.run(app, host=settings.api.host, port=settings.api.port, log_level="info")
    return 0


def run_ingest(settings: Settings) -> int:
    stop = stop_event()
    with ExitStack() as stack:
        endpoints = start_endpoints(settings, stack)
        catalog = load_catalog()
        database = open_database(
            settings, endpoints.database_url, catalog, stack, migrate_first=False
        )
        ingest = build_ingest(settings, endpoints, database, catalog)
        start_ingest(ingest, stack)
        if settings.presence.enabled:
            start_presence(build_presence(settings, endpoints, database), stack)
        if settings.receipts.enabled:
            start_receipts(build_receipts(settings, endpoints, database), stack)
        typer.echo(
            f"ingesting from {endpoints.mqtt_host}:{endpoints.mqtt_port} "
            f"(MQTT {ingest.source.protocol}); Ctrl-C stops"
        )
        last = 0
        while not stop.wait(10):
            stats = ingest.worker.stats
            if stats.messages != last:
                typer.echo(
                    f"{stats.messages:,} messages, {stats.readings:,} readings, "
                    f"{stats.dead_letters:,} dead letters, {stats.faults_opened} faults, "
                    f"{stats.tickets_opened} tickets"
                )
                last = stats.messages
        typer.echo("stopping: committing and acknowledging what was received ...")
    return 0


def run_simulate(
    settings: Settings,
    *,
    devices: int,
    faults: int,
    history_hours: float,
    speed: float,
    seed: int,
    register: bool,
) -> int:
    from careline.demo.fleet_run import FleetRun

    stop = stop_event()
    with ExitStack() as stack:
        endpoints = start_endpoints(settings, stack, broker=False)
        run = FleetRun.plan(
            devices=devices, faults=faults, history_hours=history_hours, speed=speed, seed=seed
        )
        if register:
            catalog = load_catalog()
            database = open_database(
                settings, endpoints.database_url, catalog, stack, migrate_first=False
            )
            with database.pool.connection() as conn:
                added = run.register(conn)
            typer.echo(f"registered {added} new devices")
        for fault in run.faults:
            typer.echo(f"injecting {fault.label}")
        run.start(endpoints.mqtt_host, endpoints.mqtt_port, stack, settings.mqtt.login())
        while not stop.wait(5):
            progress = run.progress
            if progress is not None:
                typer.echo(run.describe(progress))
    return 0


def run_scheduler(settings: Settings) -> int:
    from careline.outbound import build_dispatcher, heads_up, push_protocol, start_mail, start_waker
    from careline.scheduler import start_scheduler

    stop = stop_event()
    with ExitStack() as stack:
        endpoints = start_endpoints(settings, stack, broker=False)
        pool = open_pool(endpoints.database_url, min_size=1, max_size=2)
        stack.callback(pool.close)
        with pool.connection() as conn:
            migrate.ensure_current(conn)
        mail = start_mail(settings, stack)
        mqtt = settings.mqtt
        push = None if mqtt.host is None else (mqtt.host, mqtt.port, push_protocol(settings))
        dispatcher = build_dispatcher(settings, pool, mail, push, stack)
        scheduler = start_scheduler(
            pool,
            settings,
            load_catalog(),
            dispatcher=dispatcher,
            notify=heads_up(settings),
        )
        stack.callback(scheduler.shutdown)
        start_waker(endpoints.database_url, dispatcher, stack)
        typer.echo(
            f"scheduler {scheduler.holder}: runs {', '.join(scheduler.job_names)} while it "
            "holds the scheduler lease (another scheduler process stands by)"
        )
        stop.wait()
        typer.echo("stopping the scheduler ...")
    return 0
