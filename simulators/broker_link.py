"""The connection a publisher keeps to its MQTT broker: paho's loop, driven in the caller's
thread, reconnecting while it is used.

Why not ``loop_start()``: a network thread costs about 2.7 times the throughput (shared
performance notes), so :class:`~simulators.publisher.Publisher` drives paho's loop itself,
in the caller's thread: ``publish`` hands the packet to paho, which writes it at once;
PUBACKs are read every few publishes and whenever the publisher waits. It is therefore
**not thread-safe**: use one publisher from one thread.

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

paho's own in-flight limit is switched off (0): the publisher's cap does the limiting; with a
limit paho scans every stored message on each PUBACK, and its CONNACK handler stops
re-sending at the first message it had queued locally.

Errors are :class:`PublisherError`: :class:`BrokerUnreachableError` when the first connection
fails or the broker stays away longer than ``give_up_after_s`` while a publish waits,
:class:`BrokerRefusedError` when the broker answers CONNECT with a refusal.
"""

from __future__ import annotations

import select
import time
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

_MIN_BACKOFF_S: Final = 0.1
_MAX_BACKOFF_S: Final = 5.0
_MISC_EVERY_S: Final = 1.0  # keepalive bookkeeping


class PublisherError(Exception):
    """Base of the errors the publisher raises."""


class BrokerUnreachableError(PublisherError):
    """The broker cannot be reached (at start, or for too long while publishing)."""


class BrokerRefusedError(PublisherError):
    """The broker refused the connection (CONNACK with a failure reason)."""


class BrokerLink:
    """A paho client's connection, read and written only inside our own calls.

    ``reconnects`` counts the successful reconnections. Subclasses publish through
    ``_client`` and learn of each CONNACK's properties in :meth:`_connack`.
    """

    def __init__(
        self, host: str, port: int, client: mqtt.Client, *, v5: bool, give_up_after_s: float
    ) -> None:
        self.host, self.port = host, port
        self.reconnects = 0
        self._v5 = v5
        self._give_up_after_s = give_up_after_s
        self._connected = False
        self._ever_connected = False
        self._refusal: str | None = None
        self._lost_at: float | None = None
        self._last_error: str = ""
        self._backoff = _MIN_BACKOFF_S
        self._next_attempt = 0.0
        self._next_misc = 0.0
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self._client = client

    @property
    def connected(self) -> bool:
        return self._connected

    def close(self) -> None:
        """Disconnect. Messages still awaiting PUBACK are dropped: a publisher's ``flush`` first."""
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

    def _connack(self, properties: Properties | None) -> None:
        """Called on each successful CONNACK, with its properties (MQTT 5)."""

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
        self._connack(properties)

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

    def _check_gone(self, unacked: int) -> None:
        if self._lost_at is None or self._connected:
            return
        gone = time.monotonic() - self._lost_at
        if gone > self._give_up_after_s:
            raise BrokerUnreachableError(
                f"lost the MQTT broker at {self.host}:{self.port} {gone:.0f} s ago and "
                f"could not reconnect ({self._last_error}); {unacked} messages unacked"
            )
