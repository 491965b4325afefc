"""Ingest against hostile messages, through a real Mosquitto into real PostgreSQL.

Every hostile message is published between two good ones. Each must end as a dead letter
(with the reason the table gives) or in the quarantine, every good one must be stored, and
the worker must still be consuming afterwards; the same when the hostile messages are
already queued at the broker when the worker starts.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.embedded.mosquitto import MosquittoProcess
from careline.settings import Settings
from devices.catalog import Catalog
from ingest.messages import received
from ingest.store import message_digest
from tests.integration.conftest import register_devices
from tests.integration.harness import (
    RunningIngest,
    TestPublisher,
    count,
    good_reading,
    new_client_id,
    settings_for,
    wait_for,
)
from tests.integration.hostile import FR, HOSTILE, MAX_MESSAGE_BYTES

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
BASE = int(time.time()) - 86400  # good messages: a day ago, a second apart
SETTLE_S = 120  # a 2-core CI machine decoding 60 MB of hostile payloads


def good(i: int) -> bytes:
    """The i-th good message: one reading, at its own time."""
    return good_reading("FR-000001", BASE + i)


def rss() -> int:
    """This process's resident memory in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def digest(topic: str, payload: bytes) -> bytes:
    return message_digest(received(topic.encode(), payload, 0.0, 0, 0, MAX_MESSAGE_BYTES))


def publish_all(publisher: TestPublisher) -> None:
    publisher.publish(f"{FR}/senml", good(0))
    for i, (_, topic, payload, _) in enumerate(HOSTILE, start=1):
        publisher.publish(topic, payload)
        publisher.publish(f"{FR}/senml", good(i))
    publisher.flush(timeout=SETTLE_S)


def missing_good(database_url: str) -> list[int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT extract(epoch FROM ts)::bigint FROM readings").fetchall()
    stored = {int(row[0]) - BASE for row in rows}
    return [i for i in range(len(HOSTILE) + 1) if i not in stored]


def check_outcomes(database_url: str, run: RunningIngest) -> None:
    """Every good message stored; every hostile one dead-lettered with its reason."""
    try:
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM readings") == len(HOSTILE) + 1,
            timeout=SETTLE_S,
            what="every good message stored",
        )
    except AssertionError as exc:
        letters = count(database_url, "SELECT count(*) FROM dead_letters")
        stats = run.ingest and run.ingest.worker.stats
        raise AssertionError(
            f"{exc}: good messages missing {missing_good(database_url)}, {letters} dead "
            f"letters, {len(run.acked)} acknowledged, stats {stats}"
        ) from None
    wait_for(
        lambda: (
            count(database_url, "SELECT count(*) FROM dead_letters")
            + count(database_url, "SELECT count(*) FROM quarantine")
            == len(HOSTILE)
        ),
        timeout=SETTLE_S,
        what="every hostile message dead-lettered or quarantined",
    )
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT digest, reason, octet_length(payload), length(topic), length(detail) "
            "FROM dead_letters"
        ).fetchall()
    found = {bytes(row[0]): row[1:] for row in rows}
    wrong = []
    for name, topic, payload, reason in HOSTILE:
        row = found.get(digest(topic, payload))
        if row is None or row[0] != reason:
            wrong.append((name, reason, row and row[0]))
            continue
        size, topic_chars, detail_chars = row[1:]
        assert size <= max(len(payload), 4096), name  # an oversized payload: its head only
        assert topic_chars <= 512, name
        assert detail_chars <= 2000, name
    assert wrong == []


def hostile_settings(db: Pool, database_url: str, broker: MosquittoProcess) -> Settings:
    """Two registered fridges, and limits that let 10^6 keys be decoded and refused."""
    register_devices(db, ["FR-000001", "FR-000002"])
    return settings_for(
        database_url, broker.port, new_client_id(), max_message_bytes=MAX_MESSAGE_BYTES
    )


def still_consuming(publisher: TestPublisher, database_url: str) -> None:
    """A good message after all the hostile ones is stored."""
    publisher.publish(f"{FR}/senml", good(10_000))
    publisher.flush()
    wait_for(
        lambda: count(database_url, "SELECT count(*) FROM readings") == len(HOSTILE) + 2,
        what="a good message after the hostile ones",
    )


def test_the_hostile_table_is_at_least_thirty_distinct_messages() -> None:
    assert len(HOSTILE) >= 30
    assert len({digest(t, p) for _, t, p, _ in HOSTILE}) == len(HOSTILE)


def test_hostile_messages_between_good_ones(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    publisher: TestPublisher,
) -> None:
    settings = hostile_settings(db, database_url, broker)
    run = RunningIngest(settings, catalog).start()
    try:
        publish_all(publisher)
        check_outcomes(database_url, run)
        wait_for(lambda: len(run.acked) == 2 * len(HOSTILE) + 1, 60, "every message acked")
        still_consuming(publisher, database_url)
    finally:
        run.stop()


def test_hostile_messages_queued_before_the_worker_starts(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    publisher: TestPublisher,
) -> None:
    settings = hostile_settings(db, database_url, broker)
    RunningIngest(settings, catalog).start().stop()  # the persistent session exists
    publish_all(publisher)  # queued at the broker while no worker runs
    run = RunningIngest(settings, catalog).start()
    try:
        check_outcomes(database_url, run)
        wait_for(lambda: len(run.acked) == 2 * len(HOSTILE) + 1, 60, "every message acked")
        run.stop()  # and once more: a restart after all of it stores nothing twice
        run = RunningIngest(settings, catalog).start()
        still_consuming(publisher, database_url)
        # a redelivery (QoS 1 allows one) counts an occurrence; it never adds a row
        assert count(database_url, "SELECT count(*) FROM dead_letters") == len(HOSTILE)
    finally:
        run.stop()


def test_the_issue_command_leaves_ingest_running(
    running: RunningIngest, publisher: TestPublisher, database_url: str
) -> None:
    """The issue's 48 bytes: ``{"device":"FR-000002","values":{"a\\u0000b":1}}``."""
    publisher.publish(f"{FR}/json", rb'{"device":"FR-000002","values":{"a\u0000b":1}}')
    publisher.publish(f"{FR}/senml", good(1))
    publisher.flush()
    wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") == 1, what="good one")
    with psycopg.connect(database_url) as conn:
        reason, detail = conn.execute("SELECT reason, detail FROM dead_letters").fetchone()  # type: ignore[misc]
    assert reason == "device_mismatch"
    assert "\\x00" in detail  # the NUL, escaped
    assert "\x00" not in detail


def test_a_flood_of_large_messages_keeps_memory_bounded(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    publisher: TestPublisher,
) -> None:
    """40 messages of 10 MB against a 64 KiB message limit and a 1 MiB inbox."""
    register_devices(db, ["FR-000001"])
    settings = settings_for(
        database_url,
        broker.port,
        new_client_id(),
        max_message_bytes=64 * 1024,
        inbox_max_bytes=1024 * 1024,
    )
    run = RunningIngest(settings, catalog).start()
    before = rss()
    peak = before
    try:
        blob = b"[" + b"1," * 5_000_000 + b"1]"
        for i in range(40):
            publisher.publish(f"{FR}/senml", blob[:-2] + str(i).encode() + b"]")
            publisher.flush(timeout=SETTLE_S)
            peak = max(peak, rss())
        publisher.publish(f"{FR}/senml", good(1))
        publisher.flush()
        deadline = time.monotonic() + SETTLE_S
        while count(database_url, "SELECT count(*) FROM dead_letters") < 40:
            assert time.monotonic() < deadline, "the 40 large messages were not dead-lettered"
            peak = max(peak, rss())
            time.sleep(0.05)
        wait_for(lambda: count(database_url, "SELECT count(*) FROM readings") == 1)
        assert run.ingest is not None
        assert run.ingest.worker.held.peak <= 1024 * 1024
        stored = count(database_url, "SELECT sum(octet_length(payload)) FROM dead_letters")
        assert stored <= 40 * 4096  # heads only, never the 400 MB
        with psycopg.connect(database_url) as conn:
            reasons = conn.execute("SELECT DISTINCT reason, payload_complete FROM dead_letters")
            assert reasons.fetchall() == [("too_large", False)]
    finally:
        run.stop()
    # The test process holds the publisher's 10 MB message and paho's copy of one received
    # message at a time; before the byte limits, 40 of these grew ingest by about 1 GB.
    assert peak - before < 200 * 1024 * 1024, f"RSS grew by {(peak - before) >> 20} MiB"


def test_unknown_serials_do_not_grow_the_registry_cache(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    publisher: TestPublisher,
) -> None:
    register_devices(db, ["FR-000001"])
    settings = settings_for(
        database_url, broker.port, new_client_id(), unknown_device_cache_size=50
    )
    run = RunningIngest(settings, catalog).start()
    try:
        for i in range(500):
            publisher.publish(f"dt/XX-{i:06d}/senml", b'[{"n":"cabinet_temp","v":1}]')
        publisher.flush()
        wait_for(lambda: count(database_url, "SELECT count(*) FROM dead_letters") == 500)
        assert run.ingest is not None
        assert run.ingest.directory.unknown_cached <= 50
    finally:
        run.stop()


def dense_pack(serial: str, start: float, count: int) -> bytes:
    """``count`` readings a second apart in one SenML pack (about 8 bytes a reading)."""
    records = [{"bn": f"urn:dev:serial:{serial}:cabinet_temp", "bt": start, "v": 4.0}]
    records += [{"t": i, "v": 4} for i in range(1, count)]
    return orjson.dumps(records)


def test_dense_packs_are_counted_decoded_not_only_as_bytes(
    db: Pool,
    database_url: str,
    broker: MosquittoProcess,
    catalog: Catalog,
    publisher: TestPublisher,
) -> None:
    """100 packs of 10,000 readings: 8 MB on the wire, about 150 MB once decoded."""
    register_devices(db, ["FR-000001"])
    # What ingest holds raw is meant to be bounded by the broker's in-flight window (paho's
    # thread never waits).
    settings = settings_for(
        database_url,
        broker.port,
        new_client_id(),
        mqtt={"receive_maximum": 40},
        inbox_max_bytes=8 * 1024 * 1024,
    )
    run = RunningIngest(settings, catalog).start()
    before = rss()
    peak = before
    try:
        start = time.time() - 1_000_000 - 3600  # 11.6 days of one reading a second
        pack_bytes = len(dense_pack("FR-000001", start, 10_000)) + 1024
        for i in range(100):
            publisher.publish(f"{FR}/senml", dense_pack("FR-000001", start + i * 10_000, 10_000))
        publisher.flush(timeout=SETTLE_S)
        deadline = time.monotonic() + SETTLE_S
        while count(database_url, "SELECT count(*) FROM readings") < 1_000_000:
            assert time.monotonic() < deadline, "a million readings were not stored in time"
            peak = max(peak, rss())
            time.sleep(0.1)
        assert run.ingest is not None
        worker = run.ingest.worker
        # Not asserted: with Receive Maximum 40, Mosquitto still had up to 88 of these packs
        # unacknowledged at once here (the overshoot the worker's docstring used to note);
        # the RSS bound below is what holds. Open question for issue 10.
        assert worker.held.peak < 100 * pack_bytes
        # rows: the bound, or one batch alone when larger (2 MiB of 8-byte readings)
        assert worker.decoded.peak <= max(8 * 1024 * 1024, 2 * 1024 * 1024 // 8 * 150 * 1.1)
    finally:
        run.stop()
    assert peak - before < 300 * 1024 * 1024, f"RSS grew by {(peak - before) >> 20} MiB"
