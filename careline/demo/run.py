"""``careline demo``: the whole product in one process, and a running commentary.

Embedded PostgreSQL and broker (unless the settings name real ones), migrations, a seeded
CRM, the ingest worker with detection, the API and console, and a simulated fleet that
replays recent history at speed (with injected faults) and then goes on live.
"""

from __future__ import annotations

import shutil
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import typer

from careline.api.server import ServerThread, build_app, with_secrets
from careline.bootstrap import (
    QUARANTINE_FOLDER,
    Database,
    Endpoints,
    Ingest,
    Pool,
    build_ingest,
    open_database,
    push_endpoint,
    start_endpoints,
    start_ingest,
)
from careline.demo.coldchain_run import ColdChainStory
from careline.demo.commentary import Commentary, Earlier, watch
from careline.demo.fleet_run import FleetRun
from careline.demo.service_team import ServiceTeam
from careline.demo.shoppers_run import ShopperStory
from careline.embedded.smtp import MAIL_FOLDER
from careline.in_store import (
    Presence,
    build_presence,
    build_receipts,
    start_presence,
    start_receipts,
)
from careline.outbound import build_dispatcher, heads_up, start_mail, start_waker
from careline.runners import stop_event
from careline.scheduler import start_scheduler
from careline.settings import Settings
from crm_core.notifications.dispatcher import Dispatcher
from devices.catalog import load_catalog

# What a data folder of ours holds; --fresh deletes nothing else.
OUR_FILES = frozenset(
    {
        "pgdata",
        "run",
        "session-secret",
        "admin-password",
        "bench",
        "simulation.json",
        MAIL_FOLDER,
        QUARANTINE_FOLDER,
    }
)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    fresh: bool
    devices: int
    faults: int
    history_hours: float
    speed: float
    seed: int


def wipe(data_dir: Path) -> None:
    """Delete the data folder, if it holds only what the demo puts there."""
    if not data_dir.exists():
        return
    foreign = {p.name for p in data_dir.iterdir()} - OUR_FILES
    if foreign:
        raise typer.BadParameter(
            f"{data_dir} holds files the demo did not make ({', '.join(sorted(foreign))}); "
            "not deleting it. Remove it yourself or set CARELINE_DATA_DIR."
        )
    typer.echo(
        f"--fresh: deleting {data_dir} (database, mail, simulation state: "
        f"{', '.join(sorted(p.name for p in data_dir.iterdir())) or 'empty'})"
    )
    shutil.rmtree(data_dir)


def with_public_url(settings: Settings) -> Settings:
    """Links in customer mail point at this demo's console, whatever its port (unless set)."""
    if "public_url" in settings.notifications.model_fields_set:
        return settings
    public = f"http://{settings.api.host}:{settings.api.port}"
    notifications = settings.notifications.model_copy(update={"public_url": public})
    return settings.model_copy(update={"notifications": notifications})


def start_notifications(
    settings: Settings, pool: Pool, endpoints: Endpoints, stack: ExitStack
) -> Dispatcher:
    """The mail server (embedded unless configured) and the outbox dispatcher."""
    mail = start_mail(settings, stack)
    if mail.maildir is not None:
        typer.echo(f"embedded mail server on {mail.host}:{mail.port}: the console's Mail page")
    return build_dispatcher(settings, pool, mail, push_endpoint(settings, endpoints), stack)


def plain_http(settings: Settings) -> Settings:
    """The demo serves plain HTTP on localhost, where a browser would not send a cookie
    marked Secure: turn the flag off, unless CARELINE_API__COOKIE_SECURE says otherwise
    (a demo behind a TLS proxy)."""
    if "cookie_secure" in settings.api.model_fields_set:
        return settings
    api = settings.api.model_copy(update={"cookie_secure": False})
    return settings.model_copy(update={"api": api})


def start_offers(
    settings: Settings,
    endpoints: Endpoints,
    database: Database,
    dispatcher: Dispatcher,
    stack: ExitStack,
) -> Presence | None:
    """Shoppers' presence and offers: the presence worker, and the outbox woken at once."""
    start_waker(endpoints.database_url, dispatcher, stack)
    if not settings.presence.enabled:
        return None
    presence = build_presence(settings, endpoints, database)
    start_presence(presence, stack)
    if settings.receipts.enabled:
        start_receipts(build_receipts(settings, endpoints, database), stack)
    return presence


def quiet_hours_off(settings: Settings) -> Settings:
    """The demo's shoppers walk in whatever the hour: no quiet hours, unless
    CARELINE_OFFERS__QUIET_START_HOUR or ..._END_HOUR says otherwise."""
    offers = settings.offers
    if {"quiet_start_hour", "quiet_end_hour"} & offers.model_fields_set:
        return settings
    quiet = offers.model_copy(update={"quiet_start_hour": 0, "quiet_end_hour": 0})
    return settings.model_copy(update={"offers": quiet})


def start_stories(
    endpoints: Endpoints,
    database: Database,
    ingest: Ingest,
    presence: Presence | None,
    console_url: str,
    stack: ExitStack,
) -> None:
    """The cold-chain and in-store stories, each in its own thread beside the fleet."""
    host, port = endpoints.mqtt_host, endpoints.mqtt_port
    ColdChainStory(
        database.pool, host, port, typer.echo, console_url,
        refresh_devices=ingest.directory.preload,
    ).start_in(stack)  # fmt: skip
    if presence is not None:
        ShopperStory(
            database.pool, host, port, typer.echo, console_url, presence.worker.backlog
        ).start_in(stack)


def run_demo(settings: Settings, options: DemoOptions) -> int:
    stop = stop_event()
    if options.fresh:
        wipe(settings.data_dir)
    settings = quiet_hours_off(plain_http(with_public_url(with_secrets(settings))))
    catalog = load_catalog()
    with ExitStack() as stack:
        typer.echo("starting the database and the MQTT broker ...")
        endpoints = start_endpoints(settings, stack)
        typer.echo("migrating the schema ...")
        database = open_database(
            settings, endpoints.database_url, catalog, stack, migrate_first=True
        )
        typer.echo(f"  {database.capabilities.describe()}")

        with database.pool.connection() as conn:
            latest = conn.execute("SELECT extract(epoch FROM max(ts)) FROM readings").fetchone()
        run = FleetRun.plan(
            devices=options.devices,
            faults=options.faults,
            history_hours=options.history_hours,
            speed=options.speed,
            seed=options.seed,
            saved=settings.data_dir / "simulation.json",
            resume_from=float(latest[0]) if latest and latest[0] is not None else None,
        )
        with database.pool.connection() as conn:
            added = run.register(conn)
        typer.echo(f"CRM seeded: {len(run.fleet)} devices ({added} new) owned by 12 customers")

        ingest = build_ingest(settings, endpoints, database, catalog)
        start_ingest(ingest, stack)
        broker = "embedded broker" if endpoints.embedded_broker else "broker"
        typer.echo(
            f"ingest subscribed to the {broker} at {endpoints.mqtt_host}:{endpoints.mqtt_port} "
            f"(MQTT {ingest.source.protocol})"
        )

        def ingest_status() -> dict[str, object]:
            stats = ingest.worker.stats
            return {
                "mqtt_connected": ingest.source.connected.is_set(),
                "database_ok": ingest.worker.database_ok.is_set(),
                "messages": stats.messages,
                "backlog": ingest.worker.backlog,
            }

        dispatcher = start_notifications(settings, database.pool, endpoints, stack)
        scheduler = start_scheduler(
            database.pool,
            settings,
            catalog,
            dispatcher=dispatcher,
            notify=heads_up(settings),
        )
        stack.callback(scheduler.shutdown)
        presence = start_offers(settings, endpoints, database, dispatcher, stack)

        app = build_app(settings, database, catalog, stack, ingest_status)
        server = ServerThread(app, settings.api.host, settings.api.port)
        server.start()
        stack.callback(server.stop)
        console_url = f"http://{settings.api.host}:{settings.api.port}"
        typer.secho(
            f"\nconsole:  {console_url}   sign in as {settings.api.admin_email} / "
            f"{settings.api.admin_password}\napi docs: {console_url}/docs\n",
            bold=True,
        )

        for fault in run.faults:
            typer.echo(f"{'still injecting' if run.resumed else 'injecting'} {fault.label}")
        if run.resumed:
            typer.echo("resuming the fleet where the stored data stops, then live ...")
        else:
            typer.echo(
                f"replaying the last {options.history_hours:g} h of telemetry at "
                f"{options.speed:g}x, then live ..."
            )
        run.start(endpoints.mqtt_host, endpoints.mqtt_port, stack)
        start_stories(endpoints, database, ingest, presence, console_url, stack)
        commentary = Commentary(console_url)
        earlier = Earlier.read(database.pool)
        commentary.resume(earlier)
        team = ServiceTeam(database.pool, console_url)
        threading.Thread(target=team.run, args=(stop,), name="demo-team", daemon=True).start()
        watch(run, database.pool, commentary, stop, messages_after=earlier.last_message)
        typer.echo("stopping: committing what was received, closing services ...")
    typer.echo(f"stopped. Data kept in {settings.data_dir}; `careline demo` resumes.")
    return 0
