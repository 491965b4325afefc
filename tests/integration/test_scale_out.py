"""Scale-out on NATS JetStream's MQTT gateway: several ingest workers, each owning some
partitions of devices, against a real nats-server (started here on free ports, JetStream
in a temporary folder) and a real PostgreSQL.

An odd number of devices, so that round-robin could not pass for partitioning; every
device's messages reach exactly one worker, nothing is lost or stored twice, a hot device
opens exactly one fault, and a worker that leaves hands its devices on with their state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest

from devices.catalog import Catalog
from tests.integration.conftest import Pool, register_devices
from tests.integration.harness import RunningIngest, count, settings_for, wait_for
from tests.integration.nats import NatsServer
from tests.integration.test_ingest import readings

pytestmark = pytest.mark.integration

PARTITIONS = 8
DEVICES = [f"FR-{i:06d}" for i in range(1, 12)]  # eleven: odd on purpose
HOT = DEVICES[::3]  # above the 8 °C limit for 30 minutes: one fault each


@pytest.fixture
def nats() -> Iterator[NatsServer]:
    server = NatsServer(PARTITIONS).start()
    try:
        yield server
    finally:
        server.close()


def split(workers: int) -> list[str]:
    """Partitions 0..PARTITIONS-1 in ``workers`` contiguous ranges."""
    size = PARTITIONS // workers
    return [f"{w * size}-{(w + 1) * size - 1}" for w in range(workers)]


def worker(database_url: str, nats: NatsServer, catalog: Catalog, partitions: str) -> RunningIngest:
    settings = settings_for(
        database_url,
        nats.port,
        "careline-ingest",  # the same on every worker: the sessions are per partition
        mqtt={"partitions": partitions, "protocol": "3.1.1"},
        checkpoint_every_s=1.0,
    )
    return RunningIngest(settings, catalog).start()


class CountingPublisher:
    """Publishes QoS 1 over MQTT 3.1.1 and counts every PUBACK."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"publisher-{time.monotonic_ns()}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._pending: list[object] = []
        self.acked = 0

    def publish(self, topic: str, payload: bytes) -> None:
        self._pending.append(self._client.publish(topic, payload, qos=1))

    def flush(self, timeout: float = 30.0) -> None:
        for info in self._pending:
            info.wait_for_publish(timeout)  # type: ignore[attr-defined]
            self.acked += 1
        self._pending.clear()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def reading(serial: str, t: float, temp: float) -> bytes:
    return orjson.dumps(
        [{"bn": f"urn:dev:serial:{serial}:", "bt": t, "n": "cabinet_temp", "v": temp}]
    )


def publish_minutes(publisher: CountingPublisher, start: float, minutes: range) -> int:
    for minute in minutes:
        for serial in DEVICES:
            temp = 12.0 if serial in HOT else 4.0
            publisher.publish(f"dt/{serial}/senml", reading(serial, start + 60 * minute, temp))
    publisher.flush()
    return len(minutes) * len(DEVICES)


def devices_seen(run: RunningIngest) -> set[str]:
    return {message.topic.split("/")[1] for message in run.acked}


@pytest.mark.parametrize("workers", [2, 4])
def test_each_device_reaches_exactly_one_worker(
    db: Pool, database_url: str, nats: NatsServer, catalog: Catalog, workers: int
) -> None:
    register_devices(db, DEVICES)
    runs = [worker(database_url, nats, catalog, p) for p in split(workers)]
    publisher = CountingPublisher(nats.port)
    try:
        sent = publish_minutes(publisher, time.time() - 3 * 3600, range(40))
        assert publisher.acked == sent
        wait_for(lambda: readings(database_url) == sent, timeout=60, what="every reading")
        wait_for(lambda: sum(len(r.acked) for r in runs) == sent, what="every ack")
        seen = [devices_seen(run) for run in runs]
        assert set().union(*seen) == set(DEVICES)
        assert sum(len(s) for s in seen) == len(DEVICES)  # no device on two workers
        assert sum(1 for s in seen if s) >= 2  # the load is shared
        assert count(database_url, "SELECT count(*) FROM readings") == sent  # 0 lost, 0 twice
        faults = "SELECT count(*), count(DISTINCT device_id) FROM faults"
        wait_for(lambda: count(database_url, faults) == len(HOT), what="one fault per hot device")
        assert count(database_url, "SELECT count(DISTINCT device_id) FROM faults") == len(HOT)
    finally:
        publisher.close()
        for run in runs:
            run.stop()


def test_a_worker_that_leaves_hands_its_devices_on_with_their_state(
    db: Pool, database_url: str, nats: NatsServer, catalog: Catalog
) -> None:
    ids = register_devices(db, DEVICES)
    first, second = (worker(database_url, nats, catalog, p) for p in split(2))
    publisher = CountingPublisher(nats.port)
    start = time.time() - 6 * 3600
    try:
        sent = publish_minutes(publisher, start, range(120))  # 24 windows of 5 minutes
        wait_for(lambda: readings(database_url) == sent, timeout=60, what="history stored")
        leaving = devices_seen(first)
        assert leaving
        assert first.ingest is not None
        assert first.ingest.detectors is not None
        learned = {
            s: first.ingest.detectors.monitor(ids[s], "cabinet_temp").detector.learned  # type: ignore[union-attr]
            for s in leaving
        }
        first.stop()  # checkpoints its devices; its sessions stay at the broker
        # published while nobody owns those partitions: the broker queues them
        sent += publish_minutes(publisher, start, range(120, 130))
        successor = worker(database_url, nats, catalog, split(2)[0])
        try:
            sent += publish_minutes(publisher, start, range(130, 140))
            wait_for(lambda: readings(database_url) == sent, timeout=60, what="all stored")
            assert devices_seen(successor) == leaving  # the same devices, and only those
            assert not devices_seen(second) & leaving
            assert successor.ingest is not None
            assert successor.ingest.detectors is not None
            for serial in leaving:
                monitor = successor.ingest.detectors.monitor(ids[serial], "cabinet_temp")
                assert monitor is not None
                assert monitor.detector.learned > learned[serial]  # carried on, no warm-up
            assert count(database_url, "SELECT count(*) FROM faults") == len(HOT)
        finally:
            successor.stop()
    finally:
        publisher.close()
        second.stop()
