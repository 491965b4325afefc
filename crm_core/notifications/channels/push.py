"""Push to the customer's app over MQTT: topic ``app/{customer_id}/notifications``.

The app subscribes to its customer's topic (the broker's ACL should give each app only its
own; careline publishes as ``careline-push``, which may publish there and nowhere else, and
does not issue the apps' accounts: README, "Broker credentials and TLS").
Each message is JSON ``{"id", "type", "title", "body", "data", "expires_at"}`` published
with QoS 1 (``id`` is the idempotency key: the app drops a second copy). Over MQTT 5 the
publish carries a Message Expiry Interval, so the broker drops it for an app that comes
online too late; ``expires_at`` (ISO 8601 UTC) in the payload lets the app honour the same
expiry on brokers that speak only 3.1.1 (the demo's embedded one). The connection is kept
open between messages and re-opened after a failure.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from crm_core.kernel.broker_login import BrokerLogin, BrokerTlsError
from crm_core.notifications.model import (
    DeliveryError,
    MessageExpired,
    OutboxRow,
    PermanentDeliveryError,
)

TOPIC = "app/{customer_id}/notifications"


def push_topic(customer_id: int) -> str:
    """The customer's app topic.

    >>> push_topic(42)
    'app/42/notifications'
    """
    return TOPIC.format(customer_id=customer_id)


def push_payload(row: OutboxRow, expires_at: datetime) -> bytes:
    message = row.message
    return json.dumps(
        {
            "id": message.idempotency_key,
            "type": message.payload.get("type", message.purpose),
            "title": message.subject,
            "body": message.body,
            "data": message.payload,
            "expires_at": expires_at.isoformat(),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


class MqttPushChannel:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        clock: Callable[[], datetime],
        protocol: Literal["5", "3.1.1"] = "5",
        default_ttl_s: float = 86400.0,
        timeout_s: float = 10.0,
        client_id: str = "careline-push",
        login: BrokerLogin | None = None,
    ) -> None:
        self._login = login or BrokerLogin()
        self._host, self._port = host, port
        self._clock = clock
        self._v5 = protocol == "5"
        self._ttl = default_ttl_s
        self._timeout = timeout_s
        self._client_id = client_id
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def _connected(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self.close()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
        )
        ready = threading.Event()
        client.on_connect = lambda c, u, flags, reason, props: ready.set()
        client.max_inflight_messages_set(100)  # a drained batch in flight at once
        try:
            self._login.apply(client)
            client.connect(self._host, self._port, keepalive=30)
        except (OSError, BrokerTlsError) as exc:
            raise DeliveryError(f"MQTT broker {self._host}:{self._port}: {exc}") from exc
        client.loop_start()
        self._client = client
        if not ready.wait(self._timeout) or not client.is_connected():
            self.close()
            raise DeliveryError(f"MQTT broker {self._host}:{self._port} did not accept us")
        return client

    def _prepare(self, row: OutboxRow) -> tuple[str, bytes, Properties | None]:
        if row.message.customer_id is None:
            raise PermanentDeliveryError("a push needs a customer (their app's topic)")
        now = self._clock()
        expires_at = row.message.expires_at or now + timedelta(seconds=self._ttl)
        remaining = math.ceil((expires_at - now).total_seconds())
        if remaining <= 0:
            raise MessageExpired(f"expired at {expires_at.isoformat()} before it could be sent")
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = remaining
        return push_topic(row.message.customer_id), push_payload(row, expires_at), properties

    def send(self, row: OutboxRow) -> None:
        [error] = self.send_many([row])
        if error is not None:
            raise error

    def send_many(self, rows: list[OutboxRow]) -> list[DeliveryError | None]:
        """Publish them all, then wait for each acknowledgement (the waits overlap, so a
        batch costs about one round trip); for each row, None or why it was not sent."""
        results: list[DeliveryError | None] = [None] * len(rows)
        pending = []
        with self._lock:  # the connection and the publishing; not the wait
            try:
                client = self._connected()
            except DeliveryError as exc:
                return [type(exc)(str(exc))] * len(rows)  # without what the cause held
            for n, row in enumerate(rows):
                try:
                    topic, payload, properties = self._prepare(row)
                except DeliveryError as exc:
                    results[n] = exc
                    continue
                info = client.publish(topic, payload, qos=1, properties=properties)
                pending.append((n, info))
        # Several dispatchers wait for their acknowledgements at the same time.
        deadline = time.monotonic() + self._timeout
        broken = False
        for n, info in pending:
            try:
                info.wait_for_publish(max(0.001, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as exc:
                results[n], broken = DeliveryError(f"MQTT publish failed: {exc}"), True
                continue
            if not info.is_published():
                results[n] = DeliveryError("the MQTT broker did not acknowledge the push in time")
                broken = True
        if broken:
            with self._lock:
                if self._client is client:
                    self.close()
        return results

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
