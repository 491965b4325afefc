"""The scheduler's data-lifecycle jobs: rollups every few minutes and daily, retention daily.

Each job takes ``now`` from the scheduler's clock, logs what it did, and on a database
outage logs once and waits for its next time (like the dead-letter retention job).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.triggers.interval import IntervalTrigger

from careline.bootstrap import Pool
from careline.leased_scheduler import JobSpec
from crm_core.kernel.clock import Clock
from crm_core.kernel.errors import StorageError
from devices.lifecycle.retention import purge_readings
from devices.lifecycle.rollups import refresh_rollups
from devices.lifecycle.settings import LifecycleSettings

log = logging.getLogger(__name__)


def readings_retention(pool: Pool, settings: LifecycleSettings, clock: Clock) -> Callable[[], None]:
    def run() -> None:
        try:
            report = purge_readings(pool, clock(), settings)
        except StorageError as exc:
            log.warning("readings retention did not run: %s; trying again tomorrow", exc)
            return
        log.info("readings retention: %s", report.describe())

    return run


def rollup_refresh(pool: Pool, lookback: timedelta, clock: Clock) -> Callable[[], None]:
    def run() -> None:
        try:
            reports = refresh_rollups(pool, clock(), lookback)
        except StorageError as exc:
            log.warning("rollups not refreshed: %s; trying again at the next run", exc)
            return
        for report in reports:
            if report.buckets:
                log.debug("%s: %d buckets up to %s", report.rollup, report.buckets, report.until)

    return run


def lifecycle_jobs(pool: Pool, settings: LifecycleSettings, clock: Clock) -> list[JobSpec]:
    return [
        JobSpec(
            "readings-retention",
            "readings retention",
            IntervalTrigger(days=1),
            readings_retention(pool, settings, clock),
            first_run_now=True,
        ),
        JobSpec(
            "rollups",
            "readings rollups",
            IntervalTrigger(seconds=settings.rollup_every_s),
            rollup_refresh(pool, timedelta(hours=settings.rollup_lookback_h), clock),
            first_run_now=True,
        ),
        JobSpec(
            "rollups-late",
            "readings rollups (late uploads)",
            IntervalTrigger(days=1),
            rollup_refresh(pool, timedelta(days=settings.rollup_late_days), clock),
        ),
    ]
