"""What ``careline readings purge`` and ``careline readings rollup`` run."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import typer

from careline.runners import _pool
from careline.settings import Settings
from crm_core.kernel.errors import StorageError
from devices.lifecycle.retention import purge_readings
from devices.lifecycle.rollups import refresh_rollups
from devices.lifecycle.settings import LifecycleSettings


def run_readings_purge(settings: Settings, lifecycle: LifecycleSettings) -> int:
    with ExitStack() as stack:
        pool = _pool(settings, stack)
        try:
            report = purge_readings(pool, datetime.now(UTC), lifecycle)
        except StorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
    typer.echo(report.describe())
    return 0


def run_readings_rollup(settings: Settings, since: datetime | None) -> int:
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    lookback = timedelta(hours=settings.lifecycle.rollup_lookback_h)
    with ExitStack() as stack:
        pool = _pool(settings, stack)
        try:
            reports = refresh_rollups(pool, datetime.now(UTC), lookback, since)
        except StorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
    for report in reports:
        if report.until is None:
            typer.echo(f"{report.rollup}: a continuous aggregate, kept by TimescaleDB")
        else:
            typer.echo(
                f"{report.rollup}: {report.buckets} buckets from {report.start} to {report.until}"
            )
    return 0
