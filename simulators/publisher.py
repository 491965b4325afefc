"""A fast QoS 1 MQTT publisher (paho-mqtt 2.x) that never has too many messages in flight.

Why not ``loop_start()``: a network thread costs about 2.7 times the throughput (shared
performance notes), so :class:`Publisher` drives paho's loop itself, in the caller's thread:
``publish`` hands the packet to paho, which writes it at once; PUBACKs are read every few
publishes and whenever the publisher waits. It is therefore **not thread-safe**: use one
publisher from one thread.

Why a cap: MQTT message ids are 16 bits, so a publisher with more than 65,535 QoS 1
messages awaiting PUBACK loses messages (paho 2.2 refuses a new message whose id is still
in use). ``publish`` blocks while ``max_in_flight`` (default 1,000) messages await their
PUBACK; with MQTT 5 the cap is also held under the broker's Receive Maximum.

Reconnection: when the broker goes away the publisher reconnects (backoff 0.1 s doubling to
5 s) while it is used, and paho re-sends every message not yet acknowledged. Checked in
paho 2.2's source and against a real Mosquitto: ``reconnect()`` keeps the unacknowledged
QoS 1 messages (``_messages_reconnect_reset_out`` marks those already sent as DUP and due
again), and the CONNACK handler re-sends them whether or not the broker kept a session, so
``clean_session=True`` loses nothing on the way to the broker. The integration test
``test_unacknowledged_messages_are_resent_after_a_broker_crash`` freezes the broker, writes
100 messages it never reads, kills it and restarts it: all 100 arrive, only through that
re-send. Messages published while disconnected are kept by paho and sent after the
reconnect too. Delivery is at least once: a message whose PUBACK was lost arrives twice.

paho's own in-flight limit is switched off (0): the cap here does the limiting, and with a
limit paho scans every stored message on each PUBACK, and its CONNACK handler stops
re-sending at the first message it had queued locally.

Errors are :class:`PublisherError`: :class:`BrokerUnreachableError` when the first connection
fails or the broker stays away longer than ``give_up_after_s`` while a publish waits,
:class:`BrokerRefusedError` when the broker answers CONNECT with a refusal.
"""

from __future__ import annotations

import select
import time
from types import TracebackType
from typing import Any, Final, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from crm_core.kernel.broker_login import BrokerLogin, BrokerTls, BrokerTlsError

MqttVersion = Literal["3.1.1", "5"]

DEFAULT_MAX_IN_FLIGHT: Final = 1_000
MAX_IN_FLIGHT_LIMIT: Final = 60_000  # well below the 65,535 message ids
READ_EVERY: Final = 64  # publishes between two non-blocking reads of PUBACKs
_MIN_BACKOFF_S: Final = 0.1
_MAX_BACKOFF_S: Final = 5.0
_MISC_EVERY_S: Final = 1.0  # keepalive bookkeeping
_KEPT: Final = frozenset(
    # paho keeps the message and sends it (again) once connected
    (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST)
)


class PublisherError(Exception):
    """Base of the errors the publisher raises."""


class BrokerUnreachableError(PublisherError):
    """The broker cannot be reached (at start, or for too long while publishing)."""


class BrokerRefusedError(PublisherError):
    """The broker refused the connection (CONNACK with a failure reason)."""


class Publisher:
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
        self.host, self.port = host, port
        self.published = 0
        self.acked = 0
        self.rejected = 0
        self.reconnects = 0
        self._v5 = mqtt_version == "5"
        self._max_in_flight = max_in_flight
        self._cap = max_in_flight
        self._give_up_after_s = give_up_after_s
        self._connected = False
        self._ever_connected = False
        self._refusal: str | None = None
        self._lost_at: float | None = None
        self._last_error: str = ""
        self._backoff = _MIN_BACKOFF_S
        self._next_attempt = 0.0
        self._next_misc = 0.0
        self._since_read = 0

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=None if self._v5 else True,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
        )
        # Our own cap does the limiting; paho's is off (see the module docstring).
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        try:
            BrokerLogin(username, password, tls).apply(client)
        except BrokerTlsError as exc:
            raise BrokerUnreachableError(str(exc)) from exc
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        self._connect(keepalive, connect_timeout_s)

    # -- public API -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Messages published and not yet acknowledged (nor refused)."""
        return self.published - self.acked - self.rejected

    @property
    def connected(self) -> bool:
        return self._connected

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
            self._check_gone()
            self._service(0.05)
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in _KEPT:
            raise PublisherError(f"paho did not take the message: {mqtt.error_string(info.rc)}")
        self.published += 1
        self._since_read += 1
        if self._since_read >= READ_EVERY:
            self._service(0.0)

    def poll(self, timeout: float) -> None:
        """Drive the network for ``timeout`` seconds: read PUBACKs, keep the connection
        alive, reconnect. Use it instead of ``time.sleep`` between publishes.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            self._service(max(min(remaining, 0.25), 0.0))
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
            self._service(min(remaining, 0.05))
        return True

    def close(self) -> None:
        """Disconnect. Messages still awaiting PUBACK are dropped: :meth:`flush` first."""
        if self._connected:
            self._client.disconnect()
            deadline = time.monotonic() + 1.0
            while self._client.want_write() and time.monotonic() < deadline:
                self._client.loop_write()
        self._connected = False
        # Closes the socket if DISCONNECT could not be sent (paho closes it otherwise).
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- paho callbacks (run inside our own calls, in this thread) ---------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._refusal = str(reason_code)
            return
        if self._ever_connected:
            self.reconnects += 1
        self._connected = self._ever_connected = True
        self._lost_at = None
        self._backoff = _MIN_BACKOFF_S
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if self._v5 else None
        if isinstance(receive_maximum, int) and receive_maximum > 0:
            self._cap = min(self._max_in_flight, receive_maximum)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected = False
        self._last_error = str(reason_code)
        if self._lost_at is None:
            self._lost_at = time.monotonic()

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

    # -- the network loop ------------------------------------------------------------------

    def _connect(self, keepalive: int, timeout: float) -> None:
        where = f"{self.host}:{self.port}"
        try:
            if self._v5:
                self._client.connect(self.host, self.port, keepalive, clean_start=True)
            else:
                self._client.connect(self.host, self.port, keepalive)
        except OSError as exc:
            raise BrokerUnreachableError(f"cannot reach the MQTT broker at {where}: {exc}") from exc
        deadline = time.monotonic() + timeout
        while not self._connected:
            if self._refusal is not None:
                self.close()
                raise BrokerRefusedError(f"the MQTT broker at {where} refused us: {self._refusal}")
            if self._client.socket() is None:
                version = "MQTT 5" if self._v5 else "MQTT 3.1.1"
                raise BrokerUnreachableError(
                    f"the MQTT broker at {where} closed the connection before CONNACK "
                    f"(does it speak {version}?)"
                )
            if time.monotonic() > deadline:
                self.close()
                raise BrokerUnreachableError(
                    f"no CONNACK from the MQTT broker at {where} in {timeout} s"
                )
            self._wait_on_socket(0.05)

    def _service(self, timeout: float) -> None:
        """One turn of the loop: reconnect if needed, else read and write what is ready,
        waiting at most ``timeout`` seconds for the socket.
        """
        self._since_read = 0
        if self._refusal is not None:
            raise BrokerRefusedError(
                f"the MQTT broker at {self.host}:{self.port} refused us: {self._refusal}"
            )
        if self._client.socket() is None:
            self._reconnect()
            if self._client.socket() is None:
                time.sleep(min(timeout, max(self._next_attempt - time.monotonic(), 0.0)))
                return
        if timeout > 0:
            self._wait_on_socket(timeout)
        elif self._client.loop_read() == mqtt.MQTT_ERR_SUCCESS and self._client.want_write():
            self._client.loop_write()
        now = time.monotonic()
        if now >= self._next_misc and self._client.socket() is not None:
            self._next_misc = now + _MISC_EVERY_S
            self._client.loop_misc()

    def _wait_on_socket(self, timeout: float) -> None:
        sock = self._client.socket()
        if sock is None:
            return
        writing = [sock] if self._client.want_write() else []
        # Under TLS, bytes already decrypted wait in the SSL object, where select cannot
        # see them: read those first, or PUBACKs would wait for the next byte to arrive.
        pending = getattr(sock, "pending", None)
        buffered = pending is not None and pending() > 0
        try:
            readable, writable, _ = select.select([sock], writing, [], 0.0 if buffered else timeout)
        except (OSError, ValueError):  # closed under us; paho notices on the next call
            readable, writable = [sock], []
        if buffered:
            readable = [sock]
        if readable and self._client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
            return
        if writable or self._client.want_write():
            self._client.loop_write()

    def _reconnect(self) -> None:
        now = time.monotonic()
        if now < self._next_attempt:
            return
        if self._lost_at is None:
            self._lost_at = now
        try:
            self._client.reconnect()
        except OSError as exc:
            self._last_error = str(exc)
            self._next_attempt = now + self._backoff
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)

    def _check_gone(self) -> None:
        if self._lost_at is None or self._connected:
            return
        gone = time.monotonic() - self._lost_at
        if gone > self._give_up_after_s:
            raise BrokerUnreachableError(
                f"lost the MQTT broker at {self.host}:{self.port} {gone:.0f} s ago and "
                f"could not reconnect ({self._last_error}); {self.in_flight} messages unacked"
            )
