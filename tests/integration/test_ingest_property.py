"""Property: any bytes on any topic end stored or dead-lettered, and ingest goes on.

Arbitrary topics and payloads (hypothesis) go through the worker's whole store path (the
builder, the committer, the real PostgreSQL with TimescaleDB); the MQTT client is left out
so that topics a broker would refuse (NUL, lone surrogates) get through too. After each
example a good message must be stored.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import event_bus
from devices.catalog import Catalog
from devices.detection.fleet import FleetDetectors
from devices.detector_state import PostgresStateSource
from devices.metric_ids import sync_metric_ids
from devices.registry import DeviceDirectory, PostgresDeviceSource
from ingest.batch_builder import BatchBuilder
from ingest.decoding import decode_message
from ingest.messages import RawMessage
from ingest.settings import IngestSettings
from ingest.store import BatchStore, message_digest
from ingest.worker import IngestWorker
from tests.integration.conftest import register_devices
from tests.integration.harness import good_reading, wait_for

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
_times = itertools.count(int(time.time()) - 86400)


class Harness:
    def __init__(self, pool: Pool, catalog: Catalog, quarantine: Path) -> None:
        with pool.connection() as conn:
            metric_ids = sync_metric_ids(conn, catalog)
        builder = BatchBuilder(
            catalog,
            DeviceDirectory(PostgresDeviceSource(pool)),
            metric_ids,
            FleetDetectors(catalog),
            states=PostgresStateSource(pool),
        )
        self.worker = IngestWorker(
            IngestSettings(batch_max_wait_ms=5, max_message_bytes=64 * 1024),
            builder,
            BatchStore(pool, bus=event_bus(catalog)),
            quarantine_dir=quarantine,
        )
        self.acked: list[RawMessage] = []
        self.worker.set_acknowledger(self.acked.append)
        self.pool = pool

    def deliver_and_wait(self, messages: list[RawMessage]) -> None:
        expected = len(self.acked) + len(messages)
        for message in messages:
            self.worker.deliver(message)
        wait_for(lambda: len(self.acked) == expected, timeout=30, what="acknowledgements")


def good() -> RawMessage:
    payload = good_reading("FR-000001", next(_times))
    return RawMessage("dt/FR-000001/senml", payload, time.time(), qos=1)


@pytest.fixture
def harness(db: Pool, catalog: Catalog, tmp_path: Path) -> Iterator[Harness]:
    register_devices(db, ["FR-000001", "FR-000002"])
    h = Harness(db, catalog, tmp_path)
    h.worker.start()
    yield h
    h.worker.stop()


int64 = st.integers(-(2**63), 2**63 - 1)  # orjson writes no larger integer
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    int64,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
metric = st.sampled_from(["cabinet_temp", "door_open", "compressor_power", "x"]) | st.text(
    max_size=12
)
senml_record = st.fixed_dictionaries(
    {"n": metric},
    optional={
        "bn": st.sampled_from(["urn:dev:serial:FR-000001:", "urn:dev:serial:FR-000002:"])
        | st.text(max_size=30),
        "bt": st.floats(allow_nan=False) | int64,
        "t": st.floats(allow_nan=False, allow_infinity=False) | int64,
        "v": json_scalars,
        "vb": json_scalars,
        "vs": json_scalars,
        "u": st.sampled_from(["Cel", "W", ""]) | st.text(max_size=5),
    },
)
json_shape = st.fixed_dictionaries(
    {"values": st.dictionaries(metric, json_scalars, max_size=4) | json_values},
    optional={
        "device": st.sampled_from(["FR-000001", "FR-000002"]) | json_scalars,
        "time": st.floats(allow_nan=False, allow_infinity=False) | int64 | st.text(max_size=30),
    },
)
payloads = st.one_of(
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    st.lists(senml_record, min_size=1, max_size=4).map(orjson.dumps),
    json_shape.map(orjson.dumps),
)
# Any code point, lone surrogates and NUL included, and the characters topics give meaning.
hostile_text = st.lists(
    st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800", "\udfff", "/"]),
    max_size=40,
).map("".join)
topics = st.one_of(
    hostile_text,
    st.tuples(
        st.sampled_from(["FR-000001", "FR-000002", "FR-999999"]) | st.text(max_size=12),
        st.sampled_from(["senml", "json", "xml"]),
    ).map(lambda parts: f"dt/{parts[0]}/{parts[1]}"),
)


def outcome(pool: Pool, message: RawMessage) -> str:
    with pool.connection() as conn:
        letter = conn.execute(
            "SELECT reason FROM dead_letters WHERE digest = %s", (message_digest(message),)
        ).fetchone()
        quarantined = conn.execute(
            "SELECT count(*) FROM quarantine WHERE topic = %s AND payload = %s",
            (message.topic.encode("utf-8", "surrogatepass"), message.payload),
        ).fetchone()
    if letter is not None:
        return f"dead letter: {letter[0]}"
    if quarantined is not None and quarantined[0]:
        return "quarantined"
    return "stored"


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.tuples(topics, payloads), min_size=1, max_size=4))
def test_any_message_ends_stored_or_dead_lettered(
    harness: Harness, batch: list[tuple[str, bytes]]
) -> None:
    messages = [RawMessage(topic, payload, time.time(), qos=1) for topic, payload in batch]
    harness.deliver_and_wait(messages)
    for message in messages:
        if outcome(harness.pool, message) == "stored":
            # nothing refused: it decoded, and every one of its readings is in the table
            topic, samples = decode_message(message)
            with harness.pool.connection() as conn:
                for sample in samples:
                    found = conn.execute(
                        "SELECT 1 FROM readings r JOIN devices d ON d.id = r.device_id "
                        "JOIN metrics m ON m.id = r.metric_id "
                        "WHERE d.serial = %s AND m.key = %s AND r.ts = to_timestamp(%s)",
                        (topic.device_id, sample.metric, sample.time),
                    ).fetchone()
                    assert found is not None, (message, sample)
    after = good()
    harness.deliver_and_wait([after])
    assert outcome(harness.pool, after) == "stored"
    with harness.pool.connection() as conn:
        stored = conn.execute(
            "SELECT count(*) FROM readings WHERE ts = to_timestamp(%s)",
            (orjson.loads(after.payload)[0]["bt"],),
        ).fetchone()
    assert stored == (1,)
