"""A fast QoS 1 MQTT publisher (paho-mqtt 2.x) that never has too many messages in flight.

Why a cap: MQTT message ids are 16 bits, so a publisher with more than 65,535 QoS 1
messages awaiting PUBACK loses messages (paho 2.2 refuses a new message whose id is still
in use). ``publish`` blocks while ``max_in_flight`` (default 1,000) messages await their
PUBACK; with MQTT 5 the cap is also held under the broker's Receive Maximum.

It drives paho's loop itself, in the caller's thread, so it is **not thread-safe**: use one
publisher from one thread. Connecting, reconnecting (nothing acknowledged is lost) and the
errors are :class:`simulators.broker_link.BrokerLink`'s.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Final, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from crm_core.kernel.broker_login import BrokerLogin, BrokerTls, BrokerTlsError
from simulators.broker_link import BrokerLink, BrokerUnreachableError, PublisherError

MqttVersion = Literal["3.1.1", "5"]

DEFAULT_MAX_IN_FLIGHT: Final = 1_000
MAX_IN_FLIGHT_LIMIT: Final = 60_000  # well below the 65,535 message ids
READ_EVERY: Final = 64  # publishes between two non-blocking reads of PUBACKs
_KEPT: Final = frozenset(
    # paho keeps the message and sends it (again) once connected
    (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST)
)


class Publisher(BrokerLink):
    """QoS 1 publisher with a cap on messages awaiting PUBACK; connects when created.

    ``published`` counts messages accepted by :meth:`publish`, ``acked`` those the broker
    acknowledged, ``rejected`` those it refused (MQTT 5 PUBACK reason code 0x80 or more),
    ``reconnects`` the successful reconnections. ``in_flight`` = published - acked -
    rejected.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        client_id: str = "",
        mqtt_version: MqttVersion = "3.1.1",
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        keepalive: int = 60,
        username: str | None = None,
        password: str | None = None,
        tls: BrokerTls | None = None,
        connect_timeout_s: float = 10.0,
        give_up_after_s: float = 60.0,
    ) -> None:
        if not 1 <= max_in_flight <= MAX_IN_FLIGHT_LIMIT:
            raise ValueError(f"max_in_flight must be within 1..{MAX_IN_FLIGHT_LIMIT}")
        self.published = 0
        self.acked = 0
        self.rejected = 0
        self._max_in_flight = max_in_flight
        self._cap = max_in_flight
        self._since_read = 0

        v5 = mqtt_version == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if v5 else True,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        )
        # Our own cap does the limiting; paho's is off (see simulators.broker_link).
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        try:
            BrokerLogin(username, password, tls).apply(client)
        except BrokerTlsError as exc:
            raise BrokerUnreachableError(str(exc)) from exc
        client.on_publish = self._on_publish
        super().__init__(host, port, client, v5=v5, give_up_after_s=give_up_after_s)
        self._connect(keepalive, connect_timeout_s)

    # -- public API -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Messages published and not yet acknowledged (nor refused)."""
        return self.published - self.acked - self.rejected

    @property
    def max_in_flight(self) -> int:
        """The cap in force (MQTT 5: also under the broker's Receive Maximum)."""
        return self._cap

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1; blocks while ``max_in_flight`` messages await their PUBACK.

        Raises :class:`BrokerUnreachableError` when it has to wait and the broker has been gone
        for ``give_up_after_s``; ``ValueError`` for an invalid topic (paho's check).
        """
        while self.published - self.acked - self.rejected >= self._cap:
            self._check_gone(self.in_flight)
            self._turn(0.05)
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in _KEPT:
            raise PublisherError(f"paho did not take the message: {mqtt.error_string(info.rc)}")
        self.published += 1
        self._since_read += 1
        if self._since_read >= READ_EVERY:
            self._turn(0.0)

    def poll(self, timeout: float) -> None:
        """Drive the network for ``timeout`` seconds: read PUBACKs, keep the connection
        alive, reconnect. Use it instead of ``time.sleep`` between publishes.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            self._turn(max(min(remaining, 0.25), 0.0))
            if remaining <= 0:
                return

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every published message is acknowledged
        (or refused); True if so.
        """
        deadline = time.monotonic() + timeout
        while self.in_flight > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._turn(min(remaining, 0.05))
        return True

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _turn(self, timeout: float) -> None:
        """One turn of the network loop; PUBACKs are read, so the count starts again."""
        self._since_read = 0
        self._service(timeout)

    # -- paho callbacks (run inside our own calls, in this thread) ---------------------------

    def _connack(self, properties: Properties | None) -> None:
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if self._v5 else None
        if isinstance(receive_maximum, int) and receive_maximum > 0:
            self._cap = min(self._max_in_flight, receive_maximum)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        if reason_code.is_failure:
            self.rejected += 1
        else:
            self.acked += 1
