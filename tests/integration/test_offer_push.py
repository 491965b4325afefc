"""Zone entry to offer on the phone, through every real piece: sightings published to
Mosquitto, the presence worker, the offer decision, the outbox woken by NOTIFY, the MQTT 5
push with its expiry; and a consent withdrawn while the offer waits suppresses it."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from crm_core.campaigns.model import Limits
from crm_core.kernel.clock import utc_now
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import OutboxPolicy
from crm_core.notifications.wake import OutboxWaker
from ingest.mqtt_source import MqttSource
from ingest.presence import SUBSCRIPTION, installation_topic
from ingest.presence_worker import PresenceWorker
from ingest.settings import MqttSettings
from tests.integration.brokers import TestBroker
from tests.integration.offer_world import RULES, UUID, Pool, build_world

NEVER_QUIET = Limits(quiet_start_hour=0, quiet_end_hour=0)


def sightings(minor: int, at: float) -> bytes:
    return json.dumps(
        {
            "sightings": [
                {"t": at + s, "rssi": -58, "ibeacon": {"uuid": UUID, "major": 1, "minor": minor}}
                for s in range(3)
            ]
        }
    ).encode()


class App:
    """The shopper's phone: subscribed to its customer's topic over MQTT 5."""

    def __init__(self, port: int, customer: int) -> None:
        self.got: list[mqtt.MQTTMessage] = []
        self.arrived = threading.Event()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"app-{customer}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(
            f"app/{customer}/notifications", qos=1
        )
        self.client.on_subscribe = lambda c, u, m, r, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.got.append(message)
        self.arrived.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_a_zone_entry_reaches_the_phone_within_a_second(
    db: Pool, broker: TestBroker, database_url: str
) -> None:
    world = build_world(db, limits=NEVER_QUIET)
    world.rule.clock = utc_now
    now = utc_now()
    world.campaign("yoghurt", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    iris = world.shopper("Iris")
    app = App(broker.port, iris)
    push = MqttPushChannel("127.0.0.1", broker.port, clock=utc_now)
    dispatcher = Dispatcher(db, {"push": push}, policy=OutboxPolicy(), clock=utc_now)
    waker = OutboxWaker(database_url, dispatcher, idle_s=0.2).start()
    worker = PresenceWorker(db, RULES, world.rule)
    settings = MqttSettings(host="127.0.0.1", port=broker.port, client_id="presence-test")
    source = MqttSource(settings, SUBSCRIPTION, worker.deliver)
    worker.set_acknowledger(source.ack)
    worker.start()
    source.start()
    shop = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="shop-backend")
    shop.connect("127.0.0.1", broker.port)
    shop.loop_start()
    try:
        started = time.time()
        shop.publish(installation_topic(f"app-{iris}"), sightings(1, started - 3), qos=1)
        shop.publish(installation_topic("app-nobody"), b"{}", qos=1)  # dead-lettered
        assert app.arrived.wait(10)
        latency = time.time() - started
    finally:
        shop.loop_stop()
        shop.disconnect()
        source.stop()
        worker.stop()
        waker.stop()
        push.close()
        app.close()
    assert latency < 1.0, f"zone entry to push took {latency:.3f} s"
    [message] = app.got
    payload = json.loads(message.payload)
    assert payload["type"] == "offer"
    assert payload["data"]["campaign"] == "yoghurt"
    assert payload["data"]["zone"] == "Dairy"
    expires_at = datetime.fromisoformat(payload["expires_at"])
    assert timedelta(minutes=29) < expires_at - datetime.now(UTC) <= timedelta(minutes=30)
    expiry = message.properties.MessageExpiryInterval  # type: ignore[union-attr]
    assert 1700 < expiry <= 1800
    assert worker.stats.dead_letters == 1


def test_consent_withdrawn_while_the_offer_waits_suppresses_it(db: Pool) -> None:
    world = build_world(db, limits=NEVER_QUIET)
    world.rule.clock = utc_now
    now = utc_now()
    world.campaign("yoghurt", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    iris = world.shopper("Iris")
    world.enter(iris, "dairy", now)
    assert world.decisions(iris)[0][0] == "sent"
    withdrawal = world.consent(iris, "withdraw")
    # No channel needed: the dispatcher re-checks consent before it would send.
    dispatcher = Dispatcher(db, {}, policy=OutboxPolicy(), clock=utc_now)
    assert dispatcher.drain() == {"suppressed": 1}
    with db.connection() as conn:
        row = conn.execute("SELECT status, last_error FROM outbox").fetchone()
    assert row is not None
    assert row[0] == "suppressed"
    assert f"#{withdrawal}" in row[1]
