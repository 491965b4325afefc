"""Fault injection with real processes and services: a counting publisher records every
PUBACK, a checker compares with the database. Each case asserts 0 lost, 0 duplicated,
ingest writing again within the recovery bound, and exactly one fault and one proactive
ticket for each fridge held above its limit (redelivery and hand-over open no second).
(A database outage is in test_recovery.)

``CARELINE_TEST_FAULT_LOAD`` multiplies the readings published around each fault
(``scripts/fault_injection.py`` runs the whole set at ten times the CI load)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.catalog import Catalog
from tests.integration.brokers import TestBroker, running_mosquitto
from tests.integration.conftest import Pool, register_devices
from tests.integration.counting import CountingPublisher, check
from tests.integration.harness import (
    RunningIngest,
    count,
    new_client_id,
    wait_for,
)
from tests.integration.nats import NatsServer
from tests.integration.test_recovery import RECOVERY_BOUND_S
from tests.integration.test_scale_out import split, worker

pytestmark = pytest.mark.integration

SERIALS = [f"FR-{i:06d}" for i in range(1, 8)]
HOT = SERIALS[::3]  # above 8 °C throughout: the hard limit opens one fault each
LOAD = int(os.environ.get("CARELINE_TEST_FAULT_LOAD", "1"))


def stored(database_url: str) -> int:
    return count(database_url, "SELECT count(*) FROM readings")


def publish(publisher: CountingPublisher, numbers: range) -> None:
    for i in numbers:
        for serial in SERIALS:
            publisher.publish(serial, i, 12.0 if serial in HOT else 4.0)


def readings(n: int) -> range:
    """The first ``n`` readings of each device, times the load factor."""
    return range(n * LOAD)


def span(start: int, end: int) -> range:
    return range(start * LOAD, end * LOAD)


def one_fault_and_ticket_per_hot_fridge(database_url: str) -> None:
    """Waits for the hot fridges' faults and tickets, then asserts there is exactly one of
    each per hot fridge and none elsewhere (the database would refuse a second open one;
    this also catches a second *occurrence* opened after a lost detector state)."""
    faults = (
        "SELECT count(*) FROM faults f JOIN devices d ON d.id = f.device_id "
        "WHERE d.serial = ANY(%s)"
    )
    wait_for(lambda: count(database_url, faults, HOT) >= len(HOT), what="the hot fridges' faults")
    tickets = (
        "SELECT count(*) FROM tickets t JOIN devices d ON d.id = t.device_id "
        "WHERE d.serial = ANY(%s)"
    )
    wait_for(lambda: count(database_url, tickets, HOT) >= len(HOT), what="their tickets")
    time.sleep(0.5)  # anything opened twice would show by now
    assert count(database_url, faults, HOT) == len(HOT)
    assert count(database_url, tickets, HOT) == len(HOT)
    assert count(database_url, "SELECT count(*) FROM faults") == len(HOT)
    assert count(database_url, "SELECT count(*) FROM tickets") == len(HOT)


@pytest.fixture
def ingest_process() -> Iterator[list[subprocess.Popen[bytes]]]:
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
        publish(publisher, readings(200))
        assert publisher.flush() == 0
        wait_for(lambda: stored(database_url) > 0, timeout=30, what="the worker writing")
        publish(publisher, span(200, 600))  # under load ...
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
        one_fault_and_ticket_per_hot_fridge(database_url)
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
            publish(publisher, readings(300))
            assert publisher.flush() == 0  # in JetStream: PUBACKed
            nats.kill()
            time.sleep(2.0)
            nats.start()
            back_at = time.monotonic()
            before = stored(database_url)
            wait_for(publisher.connected, what="the publisher back")
            publish(publisher, span(300, 400))
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
            assert result.acked == 400 * LOAD * len(SERIALS)
            assert recovery < RECOVERY_BOUND_S
            one_fault_and_ticket_per_hot_fridge(database_url)
            print(f"NATS SIGKILL: {result}; writing again {recovery:.2f} s after restart")
        finally:
            publisher.close()
    finally:
        for run in runs:
            run.stop()
        nats.close()


def test_mosquitto_sigterm_under_load_loses_nothing_and_ingest_resumes_within_the_bound(
    db: Pool,
    database_url: str,
    ingest_process: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """A broker stopped cleanly (SIGTERM: it saves its sessions) in the middle of a burst
    and started again: paho resends what was not PUBACKed, the broker delivers ingest's
    queued session, nothing is lost or stored twice. Ingest runs in its own process, as
    in production (in this one, the publisher's resending would hold the GIL)."""
    register_devices(db, SERIALS)
    with running_mosquitto(persistence=True) as broker:
        client_id = new_client_id()
        ingest_process.append(start_ingest_process(database_url, broker.port, client_id, tmp_path))
        wait_for(lambda: subscribed(tmp_path, 1), timeout=30, what="the worker subscribed")
        time.sleep(0.5)  # the broker confirms the subscription (SUBACK) just after
        publisher = CountingPublisher(broker.port)
        try:
            publish(publisher, readings(200))
            assert publisher.flush() == 0
            wait_for(lambda: stored(database_url) > 0, what="ingest writing")
            publish(publisher, span(200, 600))  # under load ...
            broker.stop()  # ... the broker is stopped (SIGTERM)
            time.sleep(1.0)
            broker.start()
            back_at = time.monotonic()
            wait_for(lambda: subscribed(tmp_path, 2), timeout=60, what="resubscribed")
            resubscribed = time.monotonic() - back_at
            assert resubscribed < RECOVERY_BOUND_S, f"resubscribed {resubscribed:.1f} s after"
            assert publisher.flush(timeout=60) == 0  # paho resent what had no PUBACK
            publish(publisher, span(600, 650))
            assert publisher.flush() == 0
            wait_for(
                lambda: stored(database_url) == len(publisher.acked), timeout=60, what="everything"
            )
            recovery = time.monotonic() - back_at
            result = check(database_url, publisher.acked)
            assert (result.lost, result.duplicated, result.extra) == (0, 0, 0)
            assert result.acked == 650 * LOAD * len(SERIALS)
            one_fault_and_ticket_per_hot_fridge(database_url)
            print(
                f"Mosquitto SIGTERM: {result}; resubscribed {resubscribed:.2f} s and all "
                f"stored {recovery:.2f} s after the restart"
            )
        finally:
            publisher.close()


def test_workers_joining_and_leaving_under_load_lose_and_repeat_nothing(
    db: Pool, database_url: str, catalog: Catalog
) -> None:
    """Scale-out on NATS while a publisher keeps sending: a third worker joins (the
    operator moves partitions 2-3 to it), then leaves again (they move back)."""
    register_devices(db, SERIALS)
    nats = NatsServer(8).start()
    runs: dict[str, RunningIngest] = {}
    publisher = CountingPublisher(nats.port)
    total = 900 * LOAD
    done = threading.Event()
    failure: list[BaseException] = []

    def keep_publishing() -> None:
        try:
            for start in range(0, total, 50):
                publish(publisher, range(start, min(start + 50, total)))
                time.sleep(0.05)
            publisher.flush(timeout=60)
        except BaseException as exc:  # reported by the test below
            failure.append(exc)
        finally:
            done.set()

    try:
        first, second = split(2)  # "0-3", "4-7"
        runs["a"] = worker(database_url, nats, catalog, first)
        runs["b"] = worker(database_url, nats, catalog, second)
        sender = threading.Thread(target=keep_publishing, daemon=True)
        sender.start()
        wait_for(lambda: stored(database_url) > 300, timeout=60, what="load under way")
        runs.pop("a").stop()  # join: partitions 0-3 become 0-1 here and 2-3 on a newcomer
        runs["a"] = worker(database_url, nats, catalog, "0-1")
        runs["c"] = worker(database_url, nats, catalog, "2-3")
        joined = stored(database_url)
        wait_for(lambda: stored(database_url) > joined + 300, timeout=60, what="load goes on")
        runs.pop("c").stop()  # leave: the newcomer goes, its partitions come back
        runs.pop("a").stop()
        runs["a"] = worker(database_url, nats, catalog, "0-3")
        wait_for(done.is_set, timeout=180, what="the publisher finished")
        assert not failure, failure
        wait_for(
            lambda: stored(database_url) == len(publisher.acked), timeout=60, what="everything"
        )
        result = check(database_url, publisher.acked)
        assert (result.lost, result.duplicated, result.extra) == (0, 0, 0)
        assert result.acked == total * len(SERIALS)
        one_fault_and_ticket_per_hot_fridge(database_url)
        print(f"join and leave under load: {result}")
    finally:
        done.wait(5)
        publisher.close()
        for run in runs.values():
            run.stop()
        nats.close()
