"""What ``careline evaluate`` runs: simulate a fleet with injected faults, print how detection did.

Returns the process exit code; ``--json`` prints the figures as one JSON object.
"""

from __future__ import annotations

import typer

from devices.catalog import load_catalog


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
