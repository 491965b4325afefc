"""How one of our MQTT clients logs in to the broker: its account, and TLS.

Every MQTT client careline runs (ingest, the presence worker, the push channel, the
simulator) is configured from one :class:`BrokerLogin`, so that TLS is set up the same way
everywhere: the broker's certificate is always verified, against ``ca_file`` or the
system's trusted CAs, and its name checked against the host we dialled; a client
certificate is sent when one is configured. There is deliberately no switch to turn
verification off.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt


class BrokerTlsError(ValueError):
    """The TLS files could not be loaded (missing, unreadable, or not what they claim)."""


class _ClosingSSLSocket(ssl.SSLSocket):
    """An SSL socket that closes itself when its handshake fails.

    paho wraps the TCP socket and shakes hands in one step and, when the broker's
    certificate is refused, raises without closing the socket: each refused attempt (ingest
    retries every few seconds) would leave a socket open until the garbage collector found it.
    """

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


@dataclass(frozen=True, slots=True)
class BrokerTls:
    """TLS to the broker. ``ca_file`` None: the system's trusted CAs."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2 or later, certificate and host name verified."""
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=str(self.ca_file) if self.ca_file is not None else None,
            )
            if self.cert_file is not None:
                context.load_cert_chain(
                    str(self.cert_file), str(self.key_file) if self.key_file else None
                )
        except (OSError, ssl.SSLError) as exc:
            raise BrokerTlsError(f"cannot load the broker TLS files: {exc}") from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.sslsocket_class = _ClosingSSLSocket
        return context


@dataclass(frozen=True, slots=True)
class BrokerLogin:
    """An account (or none) and TLS (or none) for one MQTT client."""

    username: str | None = None
    password: str | None = None
    tls: BrokerTls | None = None

    def apply(self, client: mqtt.Client) -> None:
        """Configure a paho client before it connects."""
        if self.tls is not None:
            client.tls_set_context(self.tls.context())
        if self.username is not None:
            client.username_pw_set(self.username, self.password)

    def with_account(self, username: str | None, password: str | None) -> BrokerLogin:
        """The same TLS with another account (another service's, or a device's)."""
        return BrokerLogin(username, password, self.tls)

    def __repr__(self) -> str:  # never print the password
        return f"BrokerLogin(username={self.username!r}, tls={self.tls is not None})"
