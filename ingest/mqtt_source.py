"""The MQTT side of ingest: a persistent QoS 1 subscription whose messages we ack ourselves.

paho-mqtt 2.x with the VERSION2 callbacks. MQTT 5 when the broker speaks it (Clean Start
off, a Session Expiry and a Receive Maximum, so the broker queues for us while we are away
and lets many messages be in flight while a batch commits), else MQTT 3.1.1 with
clean_session=False. ``manual_ack=True``: nothing is acknowledged until :meth:`ack` is
called, which the worker does only after the batch holding the message is committed.

The callback only converts to a :class:`RawMessage` (cutting an oversized payload to its
head, so that a 10 MB message costs 4 KB once it is past paho) and hands it on;
subscribing happens in ``on_connect`` so that every reconnect subscribes again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from crm_core.kernel.broker_login import BrokerTlsError
from ingest.messages import IngestError, RawMessage, received
from ingest.settings import MqttSettings

log = logging.getLogger(__name__)


class BrokerUnavailable(IngestError):
    """The broker could not be reached or refused us."""


class ReadAheadSocket:
    """A socket whose ``recv`` is served from a 64 KiB read-ahead buffer.

    paho reads each packet in three or four ``recv`` calls (command byte, length bytes one
    at a time, body) with a ``select`` before each packet: several system calls per message.
    Reading ahead makes that one call per 64 KiB; ``pending`` tells paho's loop not to wait
    in ``select`` while buffered bytes remain. Under TLS the socket read is an
    ``ssl.SSLSocket``, which can hold decrypted bytes of its own that ``select`` cannot see
    (they have left the kernel's buffer): ``pending`` counts those too, or they would wait
    for the next byte from the broker (a keep-alive away). A 64 KiB read takes a whole TLS
    record (16 KiB at most), so in practice it holds none between reads; this keeps it so
    if the read size ever shrinks.
    Everything else is the socket's own.
    """

    __slots__ = ("_buffer", "_inner_pending", "_position", "_socket")

    def __init__(self, sock: Any) -> None:
        self._socket = sock
        self._buffer = b""
        self._position = 0
        self._inner_pending: Callable[[], int] | None = getattr(sock, "pending", None)

    def recv(self, size: int) -> bytes:
        if self._position >= len(self._buffer):
            data: bytes = self._socket.recv(65536)
            if not data:
                return data  # closed by the peer
            self._buffer, self._position = data, 0
        start = self._position
        self._position = min(start + size, len(self._buffer))
        return self._buffer[start : self._position]

    def pending(self) -> int:
        """Bytes readable without waiting: ours, plus the TLS layer's decrypted ones."""
        held = len(self._buffer) - self._position
        if self._inner_pending is not None:
            held += self._inner_pending()
        return held

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)


class _ReadAheadClient(mqtt.Client):
    """paho's client, reading through :class:`ReadAheadSocket` (TCP, or TLS over it)."""

    def _create_socket(self) -> Any:
        return ReadAheadSocket(super()._create_socket())


def _connect_properties(settings: MqttSettings) -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = settings.session_expiry
    props.ReceiveMaximum = settings.receive_maximum
    return props


class MqttSource:
    """Subscribes to ``topic_filter`` and hands every message to ``deliver``."""

    def __init__(
        self,
        settings: MqttSettings,
        topic_filter: str,
        deliver: Callable[[RawMessage], None],
        *,
        max_payload_bytes: int = 1024 * 1024,
        clock: Callable[[], float] = time.time,
        strip_prefix: bytes = b"",
        origin: int = 0,
    ) -> None:
        self._strip = strip_prefix  # a partition's p/<k>/: the device's own topic remains
        self._origin = origin
        self._settings = settings
        self._max_payload_bytes = max_payload_bytes
        self._filter = topic_filter
        self._deliver = deliver
        self._clock = clock
        self._client: mqtt.Client | None = None
        self.protocol: str | None = None
        self.connected = threading.Event()
        self._outage_logged = False
        self._restoring = False
        self._stopping = False
        self.reconnects = 0

    # -- paho callbacks: convert, hand on, log changes of state -------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        # Sessions made before ingest subscribed to {root}/# hold {root}/+/+ as well:
        # drop it, or a broker may deliver a message once per matching subscription.
        legacy = self._filter.removesuffix("#") + "+/+"
        if legacy != self._filter:
            client.unsubscribe(legacy)
        client.subscribe(self._filter, qos=1)
        if self._outage_logged:
            log.info("broker connection restored (session present: %s)", flags.session_present)
            self._outage_logged = False
            self._restoring = True
        else:
            log.info(
                "connected to %s:%s with MQTT %s (session present: %s), subscribing to %s",
                self._settings.host,
                self._settings.port,
                self.protocol,
                flags.session_present,
                self._filter,
            )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        """Ready only once the broker confirms the subscription: a message published
        before that, on a new session, would not be ours."""
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            log.warning("the broker refused the subscription to %s: %s", self._filter, refused)
            return
        if self._restoring:
            self._restoring = False
            self.reconnects += 1
        self.connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if was_connected and not self._outage_logged and not self._stopping:
            log.warning("lost the broker (%s); reconnecting", reason_code)
            self._outage_logged = True

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # message.topic would raise on a topic that is not UTF-8: take the bytes.
        topic = message._topic
        if self._strip and topic.startswith(self._strip):
            topic = topic[len(self._strip) :]
        self._deliver(
            received(
                topic,
                bytes(message.payload),
                self._clock(),
                message.mid,
                message.qos,
                self._max_payload_bytes,
                self._origin,
            )
        )

    # -- lifecycle ----------------------------------------------------------------------

    def _make_client(self, protocol: MQTTProtocolVersion) -> mqtt.Client:
        kwargs: dict[str, Any] = {}
        if protocol == MQTTProtocolVersion.MQTTv311:
            kwargs["clean_session"] = False
        client = _ReadAheadClient(
            CallbackAPIVersion.VERSION2,
            client_id=self._settings.client_id,
            protocol=protocol,
            manual_ack=True,
            reconnect_on_failure=True,
            **kwargs,
        )
        client.reconnect_delay_set(min_delay=1, max_delay=self._settings.reconnect_max_delay_s)
        client.max_queued_messages_set(0)
        self._settings.login().apply(client)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _try_connect(self, protocol: MQTTProtocolVersion, timeout: float) -> mqtt.Client | None:
        try:
            client = self._make_client(protocol)
        except BrokerTlsError as exc:
            raise BrokerUnavailable(str(exc)) from exc
        self.protocol = "5" if protocol == MQTTProtocolVersion.MQTTv5 else "3.1.1"
        host = self._settings.host or "127.0.0.1"
        try:
            if protocol == MQTTProtocolVersion.MQTTv5:
                client.connect(
                    host,
                    self._settings.port,
                    self._settings.keepalive,
                    clean_start=False,
                    properties=_connect_properties(self._settings),
                )
            else:
                client.connect(host, self._settings.port, self._settings.keepalive)
        except OSError as exc:
            raise BrokerUnavailable(f"cannot reach the broker at {host}: {exc}") from exc
        client.loop_start()
        if self.connected.wait(timeout):
            return client
        client.loop_stop()
        client.disconnect()
        return None

    def start(self, timeout: float = 10.0) -> None:
        """Connect (negotiating the MQTT version) and start paho's network thread."""
        wanted = self._settings.protocol
        if wanted in ("auto", "5"):
            self._client = self._try_connect(
                MQTTProtocolVersion.MQTTv5, timeout if wanted == "5" else 3.0
            )
            if self._client is None and wanted == "auto":
                log.info("the broker did not accept MQTT 5; using MQTT 3.1.1")
        if self._client is None and wanted in ("auto", "3.1.1"):
            self._client = self._try_connect(MQTTProtocolVersion.MQTTv311, timeout)
        if self._client is None:
            raise BrokerUnavailable(
                f"not connected and subscribed to {self._filter} at {self._settings.host}:"
                f"{self._settings.port} within {timeout:.0f} s (MQTT {wanted})"
            )

    def ack(self, message: RawMessage) -> None:
        """Acknowledge a message: PUBACK for QoS 1. Safe from any thread."""
        if self._client is not None and message.qos > 0:
            self._client.ack(message.mid, message.qos)

    def stop(self) -> None:
        self._stopping = True
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self.connected.clear()
