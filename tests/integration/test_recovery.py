"""Recovery in seconds, against a real PostgreSQL (cut through a TCP proxy) and a real
Mosquitto: ingest writes again within RECOVERY_BOUND_S of the service coming back, keeps
its broker session through a database outage many keep-alives long, checkpoints detector
state while idle, logs each outage once at its start and once at its end, and loses or
duplicates nothing."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from devices.catalog import Catalog
from tests.integration.brokers import TestBroker, running_mosquitto
from tests.integration.conftest import Pool, register_devices
from tests.integration.harness import (
    RunningIngest,
    TestPublisher,
    count,
    new_client_id,
    settings_for,
    wait_for,
)
from tests.integration.proxy import CuttableProxy
from tests.integration.test_ingest import readings, senml

pytestmark = pytest.mark.integration

RECOVERY_BOUND_S = 5.0
KEEPALIVE_S = 5
OUTAGE_S = float(os.environ.get("CARELINE_TEST_OUTAGE_S", "20"))
"""Four times the keep-alive (Mosquitto drops a silent client after 1.5 x); longer on
demand (``CARELINE_TEST_OUTAGE_S=60``)."""


@contextmanager
def through_proxy(database_url: str) -> Iterator[tuple[str, CuttableProxy]]:
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    proxy = CuttableProxy(str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))
    info.update(host="127.0.0.1", port=str(proxy.port))
    try:
        yield psycopg.conninfo.make_conninfo(**info), proxy  # type: ignore[arg-type]
    finally:
        proxy.close()


def duplicates(url: str) -> int:
    return count(
        url,
        "SELECT count(*) - count(DISTINCT (device_id, metric_id, ts)) FROM readings",
    )


def test_a_database_outage_keeps_the_broker_session_and_ends_within_the_bound(
    db: Pool,
    database_url: str,
    broker: TestBroker,
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    register_devices(db, ["FR-000001"])
    with through_proxy(database_url) as (via_proxy, proxy):
        settings = settings_for(
            via_proxy,
            broker.port,
            new_client_id(),
            mqtt={"keepalive": KEEPALIVE_S, "receive_maximum": 100},
            batch_max_messages=10,
            retry_max_delay_s=1.0,
        )
        run = RunningIngest(settings, catalog).start()
        assert run.ingest is not None
        source, worker = run.ingest.source, run.ingest.worker
        publisher = TestPublisher(broker.port)
        try:
            base = time.time() - 3600
            for i in range(20):
                publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
            publisher.flush()
            wait_for(lambda: len(run.acked) == 20, what="the first 20 acknowledged")

            proxy.cut()
            cut_at = time.monotonic()
            for i in range(20, 320):
                publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + i))
            publisher.flush()  # the broker has them all
            while time.monotonic() - cut_at < OUTAGE_S:
                assert source.connected.is_set(), "the broker dropped ingest's session"
                time.sleep(0.2)
            assert len(run.acked) == 20
            assert source.reconnects == 0

            proxy.restore()
            restored_at = time.monotonic()
            wait_for(lambda: len(run.acked) > 20, timeout=RECOVERY_BOUND_S, what="a commit")
            recovery = time.monotonic() - restored_at
            assert recovery < RECOVERY_BOUND_S
            wait_for(lambda: len(run.acked) == 320, timeout=30, what="everything acknowledged")
            assert readings(database_url) == 640  # two readings a message: none lost
            assert duplicates(database_url) == 0
            assert worker.database_ok.is_set()
            assert source.reconnects == 0  # the session held throughout
        finally:
            publisher.close()
            run.stop()
    logged = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("database unavailable") for m in logged) == 1
    assert sum(m.startswith("database back") for m in logged) == 1
    assert not any(m.startswith("lost the broker") for m in logged)
    print(f"recovery after the database came back: {recovery:.2f} s")


def test_ingest_is_subscribed_and_writing_within_the_bound_after_a_broker_crash(
    db: Pool, database_url: str, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    register_devices(db, ["FR-000001"])
    with running_mosquitto(persistence=True) as broker:
        run = RunningIngest(
            settings_for(database_url, broker.port, new_client_id()), catalog
        ).start()
        assert run.ingest is not None
        source = run.ingest.source
        try:
            publisher = TestPublisher(broker.port)
            publisher.publish("dt/FR-000001/senml", senml("FR-000001", time.time() - 100))
            publisher.flush()
            publisher.close()
            wait_for(lambda: readings(database_url) == 2, what="the first message")
            broker.kill()
            time.sleep(8.0)  # long enough for paho's backoff to reach its cap
            broker.start()
            back_at = time.monotonic()
            wait_for(lambda: source.reconnects >= 1, timeout=RECOVERY_BOUND_S, what="resubscribed")
            publisher = TestPublisher(broker.port)
            publisher.publish("dt/FR-000001/senml", senml("FR-000001", time.time() - 50))
            publisher.flush()
            publisher.close()
            wait_for(lambda: readings(database_url) == 4, what="writing again")
            recovery = time.monotonic() - back_at
            assert recovery < RECOVERY_BOUND_S
        finally:
            run.stop()
    logged = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("lost the broker") for m in logged) == 1
    assert sum(m.startswith("broker connection restored") for m in logged) == 1
    print(f"writing again after the broker came back: {recovery:.2f} s")


def test_detector_state_is_checkpointed_while_no_message_arrives(
    db: Pool, database_url: str, broker: TestBroker, catalog: Catalog
) -> None:
    """A burst, then silence: the state is saved on the timer, with no later batch."""
    register_devices(db, ["FR-000001"])
    settings = settings_for(database_url, broker.port, new_client_id(), checkpoint_every_s=1.0)
    run = RunningIngest(settings, catalog).start()
    publisher = TestPublisher(broker.port)
    try:
        base = time.time() - 6 * 3600
        for i in range(120):
            publisher.publish("dt/FR-000001/senml", senml("FR-000001", base + 60 * i))
        publisher.flush()
        wait_for(lambda: readings(database_url) == 240, what="the burst stored")
        wait_for(
            lambda: count(database_url, "SELECT count(*) FROM detector_state") == 1,
            timeout=5,
            what="a checkpoint with no later message",
        )
        documents = "SELECT count(*) FROM detector_state WHERE get_byte(state, 0) = 123"
        assert count(database_url, documents) == 1  # a JSON document ('{'), not a pickle
    finally:
        publisher.close()
        run.stop()
