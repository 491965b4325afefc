"""The simulator's QoS 1 publisher against a real Mosquitto and a real paho subscriber."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from simulators.broker_link import BrokerUnreachableError
from simulators.publisher import MqttVersion, Publisher
from tests.integration.brokers import TestBroker, running_mosquitto
from tests.services import free_port

pytestmark = pytest.mark.integration


class Collector:
    """A paho subscriber (own network thread) that keeps every payload it receives."""

    def __init__(self, port: int, topic: str, *, persistent: bool = False) -> None:
        self.payloads: list[bytes] = []
        self.subscriptions = 0  # SUBACKs received: one more after each reconnect
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._topic = topic
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"collector-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 2)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "the subscriber did not get its SUBACK"

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        client.subscribe(self._topic, qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self.subscriptions += 1
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.payloads.append(bytes(message.payload))

    def wait_subscribed(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.subscriptions < count:
            assert time.monotonic() < deadline, f"fewer than {count} SUBACKs in {timeout} s"
            time.sleep(0.02)

    def distinct(self) -> set[bytes]:
        with self._lock:
            return set(self.payloads)

    def wait_for(self, count: int, timeout: float) -> set[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.distinct()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.distinct()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def mosquitto() -> Iterator[TestBroker]:
    with running_mosquitto() as broker:
        yield broker


@pytest.fixture
def durable_mosquitto() -> Iterator[TestBroker]:
    """A broker that keeps sessions and queued messages across a restart."""
    with running_mosquitto(persistence=True) as broker:
        yield broker


def _payload(i: int) -> bytes:
    return f'{{"n": {i}}}'.encode()


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_every_message_arrives_and_flush_confirms(
    mosquitto: TestBroker, version: MqttVersion
) -> None:
    collector = Collector(mosquitto.port, "dt/#")
    try:
        with Publisher(
            "127.0.0.1", mosquitto.port, mqtt_version=version, max_in_flight=200
        ) as publisher:
            for i in range(5_000):
                publisher.publish(f"dt/FR-{i % 50 + 1:06d}/senml", _payload(i))
                assert publisher.in_flight <= 200
            assert publisher.flush(30) is True
            assert (publisher.published, publisher.acked, publisher.rejected) == (5_000, 5_000, 0)
        received = collector.wait_for(5_000, timeout=30)
    finally:
        collector.close()
    assert received == {_payload(i) for i in range(5_000)}


def test_mqtt5_cap_respects_the_brokers_receive_maximum(mosquitto: TestBroker) -> None:
    with Publisher(
        "127.0.0.1", mosquitto.port, mqtt_version="5", max_in_flight=60_000
    ) as publisher:
        # This broker announces its max_inflight_messages (1000) as Receive Maximum.
        assert publisher.max_in_flight == 1_000
        for i in range(500):
            publisher.publish("dt/FR-000001/senml", _payload(i))
        assert publisher.flush(30) is True


def test_messages_survive_a_broker_restart(durable_mosquitto: TestBroker) -> None:
    collector = Collector(durable_mosquitto.port, "dt/#", persistent=True)
    total = 3_000
    try:
        with Publisher("127.0.0.1", durable_mosquitto.port, give_up_after_s=30) as publisher:
            for i in range(total):
                if i == total // 2:
                    durable_mosquitto.restart()
                publisher.publish("dt/WM-000001/json", _payload(i))
            assert publisher.flush(60) is True
            assert publisher.reconnects >= 1
            assert publisher.acked == total
        received = collector.wait_for(total, timeout=60)
    finally:
        collector.close()
    assert received == {_payload(i) for i in range(total)}


def test_unacknowledged_messages_are_resent_after_a_broker_crash(mosquitto: TestBroker) -> None:
    collector = Collector(mosquitto.port, "dt/#")
    try:
        with Publisher("127.0.0.1", mosquitto.port, give_up_after_s=30) as publisher:
            for i in range(100):
                publisher.publish("dt/FR-000001/senml", _payload(i))
            assert publisher.flush(10) is True
            mosquitto.pause()
            for i in range(100, 200):  # written to the socket, never read by the broker
                publisher.publish("dt/FR-000001/senml", _payload(i))
            publisher.poll(0.2)
            assert publisher.in_flight == 100
            mosquitto.kill()  # the unread messages die with it
            mosquitto.start()
            collector.wait_subscribed(2, timeout=20)
            # Only paho's re-send on reconnect can deliver messages 100..199 now.
            assert publisher.flush(30) is True
            assert publisher.reconnects == 1
            assert publisher.acked == 200
        received = collector.wait_for(200, timeout=30)
    finally:
        collector.close()
    assert received == {_payload(i) for i in range(200)}


def test_unreachable_broker_is_a_clear_error() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(BrokerUnreachableError, match=f"127.0.0.1:{port}"):
        Publisher("127.0.0.1", port)


def test_gives_up_when_the_broker_stays_away(mosquitto: TestBroker) -> None:
    publisher = Publisher("127.0.0.1", mosquitto.port, max_in_flight=10, give_up_after_s=1.0)
    try:
        mosquitto.stop()
        started = time.monotonic()
        for i in range(10):  # fills the cap; the next one has to wait for the broker
            publisher.publish("dt/FR-000001/senml", _payload(i))
        with pytest.raises(BrokerUnreachableError, match="could not reconnect"):
            publisher.publish("dt/FR-000001/senml", _payload(10))
        assert time.monotonic() - started < 15
        assert publisher.in_flight == 10
    finally:
        publisher.close()
