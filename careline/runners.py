"""What the single-purpose commands do: serve, ingest, simulate, migrate and the admin ones.

Each returns the process exit code. Long-running ones stop cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import ExitStack
from datetime import UTC

import typer

from careline.bootstrap import Pool, build_ingest, open_database, start_endpoints, start_ingest
from careline.in_store import build_presence, build_receipts, start_presence, start_receipts
from careline.settings import Settings
from crm_core.kernel import migrate
from crm_core.kernel.capabilities import probe
from crm_core.kernel.errors import StorageError
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


def run_dead_letters_list(settings: Settings, limit: int) -> int:
    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, received_at, topic, reason, detail, occurrences, replay_outcome "
                "FROM dead_letters ORDER BY id DESC LIMIT %s",
                (limit,),
            ).fetchall()
    if not rows:
        typer.echo("no dead letters")
    for letter_id, received, topic, reason, detail, occurrences, outcome in rows:
        when = received.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"#{letter_id} {when} {topic[:120]!r} [{reason}] x{occurrences}: {detail[:300]}")
        if outcome:
            typer.echo(f"    replayed: {outcome[:300]}")
    return 0


def run_evaluate(
    seed: int,
    fridges: int,
    washers: int,
    heat_pumps: int,
    days: float,
    faults: int,
    *,
    as_json: bool,
) -> int:
    import json
    import time

    from careline.evaluate import evaluate, simulate

    started = time.monotonic()
    if not as_json:
        typer.echo(
            f"simulating {fridges} refrigerators, {washers} washing machines and {heat_pumps} "
            f"heat pumps for {days:g} days, a reading a minute, {faults} injected faults "
            f"(seed {seed}) ..."
        )
    catalog = load_catalog()
    run = simulate(
        catalog,
        seed=seed,
        refrigerators=fridges,
        washing_machines=washers,
        heat_pumps=heat_pumps,
        days=days,
        faults=faults,
    )
    device_days = run.device_days
    result = evaluate(run, catalog)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
        return 0
    lead = result.median_lead_hours
    delay = result.median_delay_hours
    accuracy = result.diagnosis_accuracy
    rows = [
        ("faults detected before failure", f"{result.detected_before_failure:.0%}", ">= 95 %"),
        ("median lead time before failure", "-" if lead is None else f"{lead:.1f} h", ""),
        ("median delay after fault start", "-" if delay is None else f"{delay:.1f} h", ""),
        (
            "false alarms per 100 device-days",
            f"{result.false_alarms_per_100_device_days:.2f} ({result.false_alarms})",
            "<= 1",
        ),
        ("diagnosis right", "-" if accuracy is None else f"{accuracy:.0%}", ">= 90 %"),
    ]
    for name, value, target in rows:
        typer.echo(f"  {name:<34} {value:<14} {target}")
    typer.echo("per device type:")
    for kind, row in result.by_type.items():
        typer.echo(
            f"  {kind:<34} {row['detected']:g}/{row['faults']:g} detected, "
            f"{row['diagnosed_right']:g} diagnosed right, {row['false_alarms']:g} false alarms "
            f"in {row['device_days']:g} device-days "
            f"({row['false_alarms_per_100_device_days']:.2f} per 100)"
        )
    typer.echo("per fault kind:")
    for kind, tally in result.by_kind.items():
        typer.echo(
            f"  {kind:<34} {tally['detected']}/{tally['faults']} detected, "
            f"{tally['diagnosed_right']} diagnosed right"
        )
    extra = result.extra
    typer.echo(
        f"  {extra['readings']:,} readings delivered in arrival order; "
        f"{extra['late_readings']:,} arrived late (a buffered upload) and were ignored by the "
        f"detectors; {extra['no_data_faults']} silences long enough for a no-data fault"
    )
    for label in result.missed:
        typer.echo(f"  missed: {label}")
    for label in result.misdiagnosed:
        typer.echo(f"  misdiagnosed: {label}")
    typer.echo(
        f"({result.faults} faults, {device_days:g} device-days, {time.monotonic() - started:.0f} s)"
    )
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


def run_dead_letters_purge(settings: Settings, days: int) -> int:
    from datetime import datetime

    from ingest.retention import purge_dead_letters

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        deleted = purge_dead_letters(pool, datetime.now(UTC), days)
    typer.echo(f"{deleted} dead letters last seen more than {days} days ago deleted")
    return 0


def run_dead_letters_replay(settings: Settings, ids: list[int] | None) -> int:
    from ingest.replay import replay_dead_letters

    with ExitStack() as stack:
        pool = _pool(settings, stack, size=2)
        try:
            report = replay_dead_letters(
                pool, load_catalog(), settings.ingest, settings.mqtt.topic_root, ids
            )
        except StorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
    typer.echo(
        f"replayed {report.replayed}: {report.stored} stored, "
        f"{report.still_rejected} still rejected"
    )
    return 0


def run_create_admin(settings: Settings, email: str, password: str) -> int:
    from crm_core.auth.users import create_user

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            create_user(conn, email=email, name=email, role="admin", password=password)
    typer.echo(f"administrator {email} created")
    return 0


def run_create_api_key(
    settings: Settings, name: str, role: str, customer_ids: list[int] | None = None
) -> int:
    from crm_core.auth.users import create_api_key

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            key = create_api_key(conn, name, role, customer_ids)
    scope = "" if customer_ids is None else f", customers {', '.join(map(str, customer_ids))}"
    typer.echo(f"API key for {name} ({role}{scope}), shown once:\n{key}")
    return 0


def run_technicians_add(
    settings: Settings,
    *,
    name: str,
    email: str,
    skills: list[str],
    region: str,
    home: tuple[float, float] | None,
) -> int:
    from crm_core.kernel.clock import utc_now
    from crm_core.tickets.model import TicketInputError
    from crm_core.tickets.technicians import create_technician

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            try:
                technician_id = create_technician(
                    conn,
                    name=name,
                    email=email,
                    skills=skills,
                    region=region,
                    home=home,
                    by="cli",
                    now=utc_now(),
                )
            except TicketInputError as exc:
                typer.echo(f"error: {exc}", err=True)
                return 2
    typer.echo(f"technician {technician_id}: {name} <{email}>")
    return 0


def run_technicians_list(settings: Settings) -> int:
    from crm_core.tickets.technicians import list_technicians

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            technicians = list_technicians(conn)
    for t in technicians:
        home = (
            f"{t.home_latitude:.4f},{t.home_longitude:.4f}"
            if t.home_latitude is not None and t.home_longitude is not None
            else "-"
        )
        state = "" if t.active else " (inactive)"
        typer.echo(
            f"{t.id}\t{t.name}{state}\t{t.email}\t{','.join(t.skills) or '-'}\t"
            f"{t.region or '-'}\t{home}\t{t.live_tickets} live"
        )
    return 0
