"""Fault injection's instruments: a publisher that records every PUBACK, and a checker
that compares what was acknowledged to the device with what the database holds."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

STEP_S = 60.0
"""A reading a minute: 20 readings above 8 °C make the fridge's hard-limit fault."""
BASE = float(int(time.time()) - 14 * 86400)
"""Reading i of a device is taken at BASE + i * STEP_S: two weeks back leaves room for
20,000 readings a device before the future tolerance refuses one."""


class CountingPublisher:
    """Publishes numbered QoS 1 readings over MQTT 3.1.1; ``acked`` holds (serial, i) for
    every message the broker PUBACKed, and nothing else."""

    def __init__(self, port: int) -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"counting-publisher-{time.monotonic_ns()}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self._client.reconnect_delay_set(1, 1)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._pending: list[tuple[tuple[str, int], mqtt.MQTTMessageInfo]] = []
        self.acked: set[tuple[str, int]] = set()

    def publish(self, serial: str, i: int, value: float = 4.0) -> None:
        payload = orjson.dumps(
            [
                {
                    "bn": f"urn:dev:serial:{serial}:",
                    "bt": BASE + i * STEP_S,
                    "n": "cabinet_temp",
                    "v": value,
                }
            ]
        )
        info = self._client.publish(f"dt/{serial}/senml", payload, qos=1)
        self._pending.append(((serial, i), info))

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for the PUBACKs; the number that did not come (not counted as sent)."""
        missing = 0
        deadline = time.monotonic() + timeout
        for key, info in self._pending:
            try:
                info.wait_for_publish(max(deadline - time.monotonic(), 0.01))
            except (ValueError, RuntimeError):
                missing += 1
                continue
            if info.is_published():
                self.acked.add(key)
            else:
                missing += 1
        self._pending.clear()
        return missing

    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@dataclass(frozen=True)
class Check:
    acked: int
    stored: int
    lost: int
    extra: int
    duplicated: int


def check(database_url: str, acked: set[tuple[str, int]]) -> Check:
    """What the database holds of the publisher's readings, against what was PUBACKed."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT d.serial, extract(epoch FROM r.ts)::float8 FROM readings r "
            "JOIN devices d ON d.id = r.device_id"
        ).fetchall()
    stored = [(str(serial), round((float(t) - BASE) / STEP_S)) for serial, t in rows]
    unique = set(stored)
    return Check(
        acked=len(acked),
        stored=len(unique),
        lost=len(acked - unique),
        extra=len(unique - acked),
        duplicated=len(stored) - len(unique),
    )
