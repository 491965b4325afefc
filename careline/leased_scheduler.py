"""APScheduler with its jobs kept in PostgreSQL, run by one process at a time.

Jobs survive a restart: their next run times live in the ``apscheduler_jobs`` table
(APScheduler's SQLAlchemy job store), so a daily job stays daily however often the process
restarts, and a run that fell due while no scheduler was up runs once when one comes back
(``coalesce``, no misfire limit).

Two scheduler processes never run a job twice: each tries to take the ``scheduler`` lease
(:mod:`crm_core.kernel.lease`); the one that gets it starts APScheduler, the other stands
by and retries every ``renew_s`` seconds. The leader renews the lease every ``renew_s``
seconds for ``ttl_s``; if it cannot, it stops its scheduler at once, and a standby takes
over after ``ttl_s`` at the latest. Every run also checks that the lease is still held
with the token it was taken with (fencing), so a leader that stalled past its lease does
not run a job the new leader is also running.

The job store keeps a job as a name (``run_job("no-data-check")``), never as a closure:
the leader registers the live callables under those names when it starts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import sqlalchemy
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.lease import Lease, release, still_held, take

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
LEASE = "scheduler"
JOB_TABLE = "apscheduler_jobs"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A scheduled job: its stable id (the key in the job store), a name, when, and what.

    ``first_run_now``: when the job is new to the store, run it at once rather than one
    interval from now (a daily retention job should not wait a day on a fresh install).
    """

    id: str
    name: str
    trigger: BaseTrigger
    run: Callable[[], None]
    first_run_now: bool = False


_active: dict[str, Callable[[], None]] = {}


def run_job(job_id: str) -> None:
    """What the job store keeps: the job's id, looked up among the leader's callables."""
    job = _active.get(job_id)
    if job is None:
        log.warning("job %s is in the job store but not known to this program; skipped", job_id)
        return
    job()


def holder_name() -> str:
    """This process, as a lease holder: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeasedScheduler:
    """Runs ``jobs`` while this process holds the scheduler lease; stands by otherwise."""

    def __init__(
        self,
        pool: Pool,
        jobs: Sequence[JobSpec],
        *,
        holder: str | None = None,
        ttl_s: float = 30.0,
        renew_s: float = 10.0,
    ) -> None:
        if not 0 < renew_s < ttl_s:
            raise ValueError(f"renew every {renew_s} s must be shorter than the lease ({ttl_s} s)")
        self._pool = pool
        self._jobs = tuple(jobs)
        self.holder = holder or holder_name()
        self._ttl_s = ttl_s
        self._renew_s = renew_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="scheduler-lease", daemon=True)
        self._scheduler: BackgroundScheduler | None = None
        self._engine: sqlalchemy.Engine | None = None
        self._lease: Lease | None = None
        self._registered: dict[str, Callable[[], None]] = {}
        self.leading = threading.Event()

    @property
    def job_names(self) -> list[str]:
        return [job.name for job in self._jobs]

    def start(self) -> LeasedScheduler:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop the jobs and give the lease up, so that a standby takes over at once."""
        self._stop.set()
        self._thread.join(timeout=self._ttl_s)
        lease = self._lease
        self._stand_down()
        if lease is not None:
            try:
                with self._pool.connection() as conn:
                    release(conn, lease)
            except psycopg.Error as exc:
                log.warning("scheduler lease not given up (%s): it runs out by itself", exc)

    def _keep(self) -> None:
        waiting_logged = False
        while True:
            try:
                with self._pool.connection() as conn:
                    lease = take(conn, LEASE, self.holder, self._ttl_s)
            except psycopg.Error as exc:
                log.warning("scheduler lease: cannot reach the database (%s)", exc)
                lease = None
            if lease is not None and self._scheduler is None:
                self._lead(lease)
                waiting_logged = False
            elif lease is None and self._scheduler is not None:
                log.warning("scheduler lease lost: stopping the jobs until it is taken again")
                self._stand_down()
            elif lease is None and not waiting_logged:
                log.info("another scheduler holds the lease: standing by")
                waiting_logged = True
            self._lease = lease
            if self._stop.wait(self._renew_s):
                return

    def _lead(self, lease: Lease) -> None:
        conninfo = self._pool.conninfo
        if not isinstance(conninfo, str):
            raise TypeError("the scheduler needs a pool opened with a connection string")
        self._engine = sqlalchemy.create_engine(
            "postgresql+psycopg://",
            creator=lambda: psycopg.connect(conninfo, application_name="careline-scheduler"),
            pool_size=1,
            max_overflow=1,
            pool_pre_ping=True,
        )
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine, tablename=JOB_TABLE)},
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._registered = {spec.id: self._fenced(spec, lease) for spec in self._jobs}
        _active.update(self._registered)
        scheduler.start(paused=True)
        known = {job.id: job for job in scheduler.get_jobs()}
        for spec in self._jobs:
            stored = known.pop(spec.id, None)
            if stored is not None and str(stored.trigger) == str(spec.trigger):
                continue  # keep its stored next run time: that is what survives a restart
            extra = {"next_run_time": datetime.now(UTC)} if spec.first_run_now else {}
            scheduler.add_job(
                run_job,
                spec.trigger,
                args=[spec.id],
                id=spec.id,
                name=spec.name,
                replace_existing=True,
                **extra,
            )
        for gone in known.values():
            log.info("job %s is no longer defined: removed from the job store", gone.id)
            gone.remove()
        scheduler.resume()
        self._scheduler = scheduler
        self.leading.set()
        log.info("scheduler leading (lease token %d): %s", lease.token, ", ".join(self.job_names))

    def _fenced(self, spec: JobSpec, lease: Lease) -> Callable[[], None]:
        def run() -> None:
            try:
                with self._pool.connection() as conn:
                    held = still_held(conn, lease)
            except psycopg.Error as exc:
                log.warning("%s skipped: cannot check the scheduler lease (%s)", spec.name, exc)
                return
            if not held:
                log.warning("%s skipped: the scheduler lease is no longer ours", spec.name)
                return
            spec.run()

        return run

    def _stand_down(self) -> None:
        self.leading.clear()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        for job_id, run in self._registered.items():
            if _active.get(job_id) is run:
                del _active[job_id]
        self._registered = {}
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()
