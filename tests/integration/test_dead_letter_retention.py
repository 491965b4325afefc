"""Dead letters do not pile up: the retention job, the scheduler that runs it, and replay of
what is kept (an oversized one, of which only the head was kept, is not replayable)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.scheduler import start_scheduler
from careline.settings import load_settings
from devices.catalog import Catalog
from ingest.batch import Batch
from ingest.messages import Rejection, RejectReason, received
from ingest.replay import PAGE, replay_dead_letters
from ingest.retention import SLICE, purge_dead_letters
from ingest.settings import IngestSettings
from ingest.store import BatchStore
from tests.integration.conftest import register_devices
from tests.integration.harness import count, wait_for

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add_letters(db: Pool, n: int, last_seen: datetime, prefix: str) -> None:
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO dead_letters (digest, topic, payload, reason, detail, received_at, "
            "last_received_at) SELECT sha256((%s || i)::bytea), 'dt/x/json', '\\x00'::bytea, "
            "'invalid', 'test', %s, %s FROM generate_series(1, %s) AS i",
            (prefix, last_seen, last_seen, n),
        )


def test_retention_deletes_only_what_was_not_seen_for_the_period(db: Pool) -> None:
    add_letters(db, SLICE + 10, NOW - timedelta(days=31), "old")  # more than one slice
    add_letters(db, 5, NOW - timedelta(days=29), "recent")
    assert purge_dead_letters(db, NOW, 30) == SLICE + 10
    with db.connection() as conn:
        left = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    assert left == (5,)


def test_the_scheduler_runs_retention_at_start_and_daily(
    db: Pool, database_url: str, catalog: Catalog
) -> None:
    add_letters(db, 3, NOW - timedelta(days=40), "old")
    add_letters(db, 2, NOW - timedelta(days=1), "recent")
    settings = load_settings(ingest={"dead_letter_retention_days": 7})
    scheduler = start_scheduler(db, settings, catalog, clock=lambda: NOW)
    try:
        wait_for(lambda: count(database_url, "SELECT count(*) FROM dead_letters") == 2)
        assert "dead-letter retention" in scheduler.job_names
        assert {
            "product-issue sweep",
            "report snapshots",
            "SLA warnings, breaches and escalation",
        } <= set(scheduler.job_names)
        assert count(database_url, "SELECT count(*) FROM apscheduler_jobs") == 10
    finally:
        scheduler.shutdown()


def test_an_oversized_dead_letter_is_kept_by_its_head_and_not_replayed(
    db: Pool, database_url: str, catalog: Catalog
) -> None:
    message = received(b"dt/FR-000001/senml", b"[" * 100_000, 1_763_971_300.0, 1, 1, 10_000)
    store = BatchStore(db)
    try:
        store.write(
            Batch([message], rejections=[Rejection(message, RejectReason.TOO_LARGE, "big")])
        )
    finally:
        store.close()
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT octet_length(payload), payload_complete FROM dead_letters")
        assert row.fetchone() == (4096, False)
    report = replay_dead_letters(db, catalog, IngestSettings(), "dt")
    assert (report.replayed, report.stored, report.still_rejected) == (1, 0, 1)
    with psycopg.connect(database_url) as conn:
        outcome = conn.execute("SELECT replay_outcome FROM dead_letters").fetchone()
    assert outcome is not None
    assert outcome[0].startswith("not replayable")


def test_replay_goes_page_by_page_over_every_dead_letter(
    db: Pool, database_url: str, catalog: Catalog
) -> None:
    now = time.time()
    messages = [
        received(
            b"dt/FR-000099/json",
            orjson.dumps({"time": now - 3600 + i, "values": {"cabinet_temp": 4.0}}),
            now,
            0,
            1,
            1024 * 1024,
        )
        for i in range(PAGE * 2 + 50)
    ]
    store = BatchStore(db)
    try:
        store.write(
            Batch(
                messages,
                rejections=[
                    Rejection(m, RejectReason.UNKNOWN_DEVICE, "no such device") for m in messages
                ],
            )
        )
    finally:
        store.close()
    register_devices(db, ["FR-000099"], with_customer=False)
    report = replay_dead_letters(db, catalog, IngestSettings(), "dt")
    assert (report.replayed, report.stored, report.still_rejected) == (
        len(messages),
        len(messages),
        0,
    )
    assert count(database_url, "SELECT count(*) FROM readings") == len(messages)
    assert replay_dead_letters(db, catalog, IngestSettings(), "dt").replayed == 0
