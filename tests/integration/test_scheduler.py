"""The scheduler: jobs kept in PostgreSQL across restarts, one leader among several.

Real PostgreSQL; short leases (2 s, renewed every 0.3 s) so that take-overs happen in test
time. The jobs here count their runs; the product's jobs run through the same machinery.
"""

from __future__ import annotations

import pickle
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.interval import IntervalTrigger
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.leased_scheduler import JobSpec, LeasedScheduler
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
TTL, RENEW = 2.0, 0.3


class Runs:
    """Which scheduler ran the job, how often."""

    def __init__(self) -> None:
        self.by = Counter[str]()
        self._lock = threading.Lock()

    def job(self, who: str) -> JobSpec:
        def run() -> None:
            with self._lock:
                self.by[who] += 1

        return JobSpec("tick", "tick", IntervalTrigger(seconds=0.2), run)

    def total(self) -> int:
        with self._lock:
            return sum(self.by.values())


def scheduler(db: Pool, spec: JobSpec, holder: str) -> LeasedScheduler:
    return LeasedScheduler(db, [spec], holder=holder, ttl_s=TTL, renew_s=RENEW).start()


def test_two_schedulers_one_leader_and_the_standby_takes_over_when_it_stops(db: Pool) -> None:
    runs = Runs()
    first = scheduler(db, runs.job("first"), "first")
    assert first.leading.wait(5)
    second = scheduler(db, runs.job("second"), "second")
    try:
        wait_for(lambda: runs.by["first"] >= 5)
        assert not second.leading.is_set()
        assert runs.by["second"] == 0
        first.shutdown()  # gives the lease up: the standby need not wait for it to run out
        assert second.leading.wait(RENEW * 4)
        wait_for(lambda: runs.by["second"] >= 3)
        before = runs.by["first"]
        wait_for(lambda: runs.by["second"] >= 8)
        assert runs.by["first"] == before  # the old leader runs nothing any more
    finally:
        first.shutdown()
        second.shutdown()


def test_a_leader_that_dies_is_replaced_after_its_lease_runs_out(db: Pool) -> None:
    runs = Runs()
    first = scheduler(db, runs.job("first"), "first")
    assert first.leading.wait(5)
    second = scheduler(db, runs.job("second"), "second")
    try:
        first._stop.set()  # the lease keeper dies without giving the lease up: a crash
        first._thread.join()
        first._stand_down()
        died = datetime.now(UTC)
        assert second.leading.wait(TTL + 2 * RENEW + 1)
        assert datetime.now(UTC) - died >= timedelta(seconds=TTL - RENEW * 2)
        wait_for(lambda: runs.by["second"] >= 2)
    finally:
        second.shutdown()


def test_a_run_is_fenced_off_once_the_lease_is_someone_elses(db: Pool) -> None:
    runs = Runs()
    first = scheduler(db, runs.job("first"), "first")
    try:
        assert first.leading.wait(5)
        wait_for(lambda: runs.by["first"] >= 2)
        first._stop.set()  # stop renewing, keep the jobs running: a stalled leader
        first._thread.join()
        with db.connection() as conn:
            conn.execute("UPDATE leases SET holder = 'usurper', token = token + 1")
        before = runs.by["first"]
        threading.Event().wait(1.0)
        assert runs.by["first"] == before
    finally:
        first._stand_down()


def next_run(db: Pool, job_id: str) -> float | None:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT next_run_time FROM apscheduler_jobs WHERE id = %s", (job_id,)
        ).fetchone()
    return None if row is None else float(row[0])


def test_a_restart_keeps_each_jobs_next_run_and_runs_what_fell_due_once(db: Pool) -> None:
    runs = Runs()
    daily = JobSpec("daily", "daily", IntervalTrigger(days=1), lambda: runs.by.update(["daily"]))
    first = LeasedScheduler(db, [daily], holder="a", ttl_s=TTL, renew_s=RENEW).start()
    assert first.leading.wait(5)
    planned = next_run(db, "daily")
    first.shutdown()
    assert planned is not None
    assert planned > datetime.now(UTC).timestamp() + 86_000

    again = LeasedScheduler(db, [daily], holder="b", ttl_s=TTL, renew_s=RENEW).start()
    assert again.leading.wait(5)
    again.shutdown()
    assert next_run(db, "daily") == planned  # not reset to a day from the restart
    assert runs.by["daily"] == 0


def test_runs_that_fell_due_while_no_scheduler_was_up_run_once_on_restart(
    db: Pool, database_url: str
) -> None:
    runs = Runs()
    hourly = JobSpec("hourly", "hourly", IntervalTrigger(hours=1), lambda: runs.by.update(["h"]))
    first = LeasedScheduler(db, [hourly], holder="a", ttl_s=TTL, renew_s=RENEW).start()
    assert first.leading.wait(5)
    first.shutdown()
    engine = sqlalchemy.create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(database_url)
    )
    store = SQLAlchemyJobStore(engine=engine)
    job = store.lookup_job("hourly")  # as if the scheduler had been down for three runs
    assert job is not None
    engine.dispose()
    state = job.__getstate__()
    state["next_run_time"] = overdue = datetime.now(UTC) - timedelta(hours=3)
    with db.connection() as conn:
        conn.execute(
            "UPDATE apscheduler_jobs SET job_state = %s, next_run_time = %s WHERE id = 'hourly'",
            (pickle.dumps(state, pickle.HIGHEST_PROTOCOL), overdue.timestamp()),
        )
    again = LeasedScheduler(db, [hourly], holder="b", ttl_s=TTL, renew_s=RENEW).start()
    try:
        assert again.leading.wait(5)
        wait_for(lambda: runs.by["h"] >= 1)
        threading.Event().wait(0.5)
        assert runs.by["h"] == 1  # coalesced: once, not three times
        planned = next_run(db, "hourly")
        assert planned is not None
        assert planned > datetime.now(UTC).timestamp() + 3000
    finally:
        again.shutdown()


def test_a_job_no_longer_defined_leaves_the_store(db: Pool) -> None:
    runs = Runs()
    old = LeasedScheduler(db, [runs.job("x")], holder="a", ttl_s=TTL, renew_s=RENEW).start()
    assert old.leading.wait(5)
    old.shutdown()
    daily = JobSpec("daily", "daily", IntervalTrigger(days=1), lambda: None)
    new = LeasedScheduler(db, [daily], holder="b", ttl_s=TTL, renew_s=RENEW).start()
    try:
        assert new.leading.wait(5)
        assert next_run(db, "tick") is None
        assert next_run(db, "daily") is not None
    finally:
        new.shutdown()
