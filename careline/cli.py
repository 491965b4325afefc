"""``careline``: the one command-line program (demo, serve, ingest, simulate, migrate, bench, ...).

Start with ``careline demo``: it runs the whole product on embedded services. Every
setting is an environment variable (``careline settings`` lists them); when
``CARELINE_DATABASE__URL`` and ``CARELINE_MQTT__HOST`` are set, nothing embedded starts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from careline.commands.apps import apps_app
from careline.commands.broker import broker_app, devices_app
from careline.commands.context import cli_settings
from careline.commands.data import dead_letters_app, readings_app
from careline.commands.epcis import epcis_app
from careline.commands.staff import technicians_app, users_app
from careline.settings import settings_table

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
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(readings_app, name="readings")
app.add_typer(users_app, name="users")
app.add_typer(technicians_app, name="technicians")
app.add_typer(devices_app, name="devices")  # broker credentials
app.add_typer(broker_app, name="broker")
app.add_typer(apps_app, name="apps")  # shopper apps' broker accounts
app.add_typer(epcis_app, name="epcis")


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

    settings = cli_settings()
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

    sys.exit(run_serve(cli_settings()))


@app.command()
def ingest() -> None:
    """Run the ingest worker: MQTT in, readings committed, detectors, faults and tickets."""
    from careline.runners import run_ingest

    sys.exit(run_ingest(cli_settings()))


@app.command()
def scheduler() -> None:
    """Run the scheduled jobs until Ctrl-C: outbox, SLA clocks, reminders, no-data,
    product issues, reports, presence, retention and rollups (one process holds the lease)."""
    from careline.runners import run_scheduler

    sys.exit(run_scheduler(cli_settings()))


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
            cli_settings(),
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

    sys.exit(run_migrate(cli_settings()))


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
    from careline.runners_evaluate import run_evaluate

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
                cli_settings(), entries_per_second, min(seconds, 600), mosquitto, as_json=as_json
            )
        )
    if target == "trace":
        from careline.bench.trace import TraceSizes, run_trace_bench

        sizes = TraceSizes(customers, lots, shipments, readings, queries)
        sys.exit(run_trace_bench(cli_settings(), sizes, as_json=as_json))
    if target != "ingest":
        raise typer.BadParameter(
            f"{target!r}: expected ingest, offers or trace", param_hint="TARGET"
        )
    from careline.bench.measure import BenchOptions
    from careline.bench.report import run_bench, run_suite

    sys.exit(
        (run_suite if suite else run_bench)(
            cli_settings(),
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
def showcli_settings() -> None:
    """List every setting: environment variable, default and meaning."""
    for name, default, description in settings_table():
        typer.echo(f"{name}={default}\n    {description}")


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
