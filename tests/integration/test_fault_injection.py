"""Fault injection with real processes and services: a counting publisher records every
PUBACK, a checker compares with the database. Each case asserts 0 lost, 0 duplicated, and
ingest writing again within the recovery bound. (A database outage is in test_recovery.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.catalog import Catalog
from tests.integration.brokers import TestBroker
from tests.integration.conftest import Pool, register_devices
from tests.integration.counting import CountingPublisher, check
from tests.integration.harness import RunningIngest, count, new_client_id, wait_for
from tests.integration.nats import NatsServer
from tests.integration.test_recovery import RECOVERY_BOUND_S
from tests.integration.test_scale_out import split, worker

pytestmark = pytest.mark.integration

SERIALS = [f"FR-{i:06d}" for i in range(1, 8)]


def stored(database_url: str) -> int:
    return count(database_url, "SELECT count(*) FROM readings")


def publish(publisher: CountingPublisher, numbers: range) -> None:
    for i in numbers:
        for serial in SERIALS:
            publisher.publish(serial, i)


@pytest.fixture
def ingest_process(
    database_url: str, broker: TestBroker, tmp_path: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Started on demand by the test (``start(...)``); every one is ended afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_ingest_process(
    database_url: str, port: int, client_id: str, data_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CARELINE_DATABASE__URL": database_url,
        "CARELINE_MQTT__HOST": "127.0.0.1",
        "CARELINE_MQTT__PORT": str(port),
        "CARELINE_MQTT__CLIENT_ID": client_id,
        "CARELINE_MQTT__PROTOCOL": "3.1.1",
        "CARELINE_DATA_DIR": str(data_dir),
        "CARELINE_INGEST__RETRY_MAX_DELAY_S": "1",
    }
    with (data_dir / "ingest.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from careline.cli import app; app()", "ingest"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def subscribed(data_dir: Path, times: int) -> bool:
    log = data_dir / "ingest.log"
    return log.exists() and log.read_text("utf-8", "replace").count("subscribing to") >= times


def test_a_worker_sigkilled_under_load_loses_and_repeats_nothing(
    db: Pool,
    database_url: str,
    broker: TestBroker,
    ingest_process: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    register_devices(db, SERIALS)
    client_id = new_client_id()
    ingest_process.append(start_ingest_process(database_url, broker.port, client_id, tmp_path))
    wait_for(lambda: subscribed(tmp_path, 1), timeout=30, what="the worker subscribed")
    time.sleep(0.5)  # the broker confirms the subscription (SUBACK) just after
    publisher = CountingPublisher(broker.port)
    try:
        publish(publisher, range(200))
        assert publisher.flush() == 0
        wait_for(lambda: stored(database_url) > 0, timeout=30, what="the worker writing")
        publish(publisher, range(200, 600))  # under load ...
        ingest_process[0].send_signal(signal.SIGKILL)  # ... the worker dies
        ingest_process[0].wait()
        assert publisher.flush() == 0  # the broker queues for the worker's session
        before = stored(database_url)
        started = time.monotonic()
        ingest_process.append(start_ingest_process(database_url, broker.port, client_id, tmp_path))
        wait_for(lambda: stored(database_url) > before, timeout=30, what="writing again")
        restart = time.monotonic() - started  # includes the process's start-up
        wait_for(
            lambda: stored(database_url) == len(publisher.acked), timeout=60, what="everything"
        )
        result = check(database_url, publisher.acked)
        assert (result.lost, result.duplicated, result.extra) == (0, 0, 0)
        print(f"worker SIGKILL: {result}; writing {restart:.1f} s after the restart")
    finally:
        publisher.close()


def test_nats_sigkilled_under_load_loses_nothing_and_workers_resume_within_the_bound(
    db: Pool, database_url: str, catalog: Catalog
) -> None:
    register_devices(db, SERIALS)
    nats = NatsServer(8).start()
    runs: list[RunningIngest] = []
    try:
        runs = [worker(database_url, nats, catalog, p) for p in split(2)]
        publisher = CountingPublisher(nats.port)
        try:
            publish(publisher, range(300))
            assert publisher.flush() == 0  # in JetStream: PUBACKed
            nats.kill()
            time.sleep(2.0)
            nats.start()
            back_at = time.monotonic()
            before = stored(database_url)
            wait_for(publisher.connected, what="the publisher back")
            publish(publisher, range(300, 400))
            publisher.flush(timeout=30)  # what the broker did not PUBACK is not counted
            wait_for(lambda: stored(database_url) > before, timeout=60, what="writing again")
            recovery = time.monotonic() - back_at
            wait_for(
                lambda: check(database_url, publisher.acked).lost == 0,
                timeout=60,
                what="every PUBACKed message stored",
            )
            result = check(database_url, publisher.acked)
            assert (result.lost, result.duplicated, result.extra) == (0, 0, 0)
            assert result.acked == 400 * len(SERIALS)
            assert recovery < RECOVERY_BOUND_S
            print(f"NATS SIGKILL: {result}; writing again {recovery:.2f} s after restart")
        finally:
            publisher.close()
    finally:
        for run in runs:
            run.stop()
        nats.close()
