"""Running a real ingest worker, wired by the production bootstrap, against real services."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from careline.bootstrap import Endpoints, Ingest, build_ingest, open_database, start_ingest
from careline.settings import Settings, load_settings
from devices.catalog import Catalog
from ingest.messages import RawMessage


def good_reading(serial: str, t: float, value: float = 4.0) -> bytes:
    """A SenML pack of one valid cabinet temperature at time ``t``."""
    return orjson.dumps(
        [{"bn": f"urn:dev:serial:{serial}:", "bt": t, "n": "cabinet_temp", "v": value}]
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def count(database_url: str, sql: str, *params: object) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def settings_for(
    database_url: str,
    broker_port: int,
    client_id: str,
    *,
    mqtt: dict[str, object] | None = None,
    **ingest: object,
) -> Settings:
    return load_settings(
        database={"url": database_url, "pool_min_size": 1, "pool_max_size": 4},
        mqtt={"host": "127.0.0.1", "port": broker_port, "client_id": client_id, **(mqtt or {})},
        ingest={"batch_max_wait_ms": 20, "retry_max_delay_s": 0.5, **ingest},
    )


@dataclass
class RunningIngest:
    """An ingest worker and its MQTT subscription; records every acknowledgement."""

    settings: Settings
    catalog: Catalog
    stack: ExitStack = field(default_factory=ExitStack)
    acked: list[RawMessage] = field(default_factory=list)
    ingest: Ingest | None = None

    def start(self) -> RunningIngest:
        endpoints = Endpoints(
            self.settings.database.url or "",
            self.settings.mqtt.host or "127.0.0.1",
            self.settings.mqtt.port,
            embedded_database=False,
            embedded_broker=False,
        )
        database = open_database(
            self.settings, endpoints.database_url, self.catalog, self.stack, migrate_first=False
        )
        self.ingest = build_ingest(self.settings, endpoints, database, self.catalog)
        source = self.ingest.source

        def ack(message: RawMessage) -> None:
            self.acked.append(message)
            source.ack(message)

        self.ingest.worker.set_acknowledger(ack)
        start_ingest(self.ingest, self.stack)
        return self

    def stop(self) -> None:
        self.stack.close()


def new_client_id() -> str:
    return f"careline-test-{uuid.uuid4().hex[:8]}"


class TestPublisher:
    """A plain paho QoS 1 publisher for tests: publish, and wait for every PUBACK."""

    __test__ = False  # not a pytest test class

    def __init__(self, port: int) -> None:
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=new_client_id())
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._pending: list[mqtt.MQTTMessageInfo] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self._pending.append(self._client.publish(topic, payload, qos=1))

    def flush(self, timeout: float = 20.0) -> None:
        for info in self._pending:
            info.wait_for_publish(timeout)
        self._pending.clear()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
