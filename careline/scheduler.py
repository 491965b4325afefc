"""Scheduled jobs (APScheduler): the work nobody asks for but everybody relies on.

Today one job: dead-letter retention, daily (and once at start-up, so that a scheduler
that is restarted often still gets to it). Each job takes ``now`` from the scheduler's
clock and logs what it did; a failed run is logged and tried again at the next time.
``careline scheduler`` runs the jobs in their own process; ``careline demo`` runs them in
its own process, beside everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from careline.bootstrap import Pool
from careline.settings import Settings
from crm_core.kernel.errors import StorageError
from ingest.retention import purge_dead_letters

log = logging.getLogger(__name__)


def dead_letter_retention(
    pool: Pool, settings: Settings, clock: Callable[[], datetime]
) -> Callable[[], None]:
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


def start_scheduler(
    pool: Pool,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackgroundScheduler:
    """Start the jobs on a background thread; ``shutdown()`` the result to stop them."""
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        dead_letter_retention(pool, settings, clock),
        "interval",
        days=1,
        next_run_time=datetime.now(UTC),  # APScheduler's own time; jobs take clock()
        id="dead-letter-retention",
        name="dead-letter retention",
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    return scheduler
