"""Ingest scaled out by device: one broker session per partition, each device in one.

The broker partitions: NATS's MQTT gateway with a deterministic subject mapping,

    mappings = { "dt.*.*": "p.{{partition(16,1)}}.dt.{{wildcard(1)}}.{{wildcard(2)}}" }

delivers a device's ``dt/FR-1/senml`` as ``p/<k>/dt/FR-1/senml``, the same ``k`` for a
device every time (a hash of its serial). Each partition has its **own persistent MQTT
session**, client id ``{client_id}-p{k}``, subscribed to ``p/<k>/dt/#``. A worker owning
partitions 0-3 connects those four sessions (:class:`PartitionedSource`); so:

* a device's messages reach exactly one worker at a time: a session is one connection, and
  the broker closes the older of two connections with the same client id;
* a worker that leaves leaves its sessions behind at the broker, which keeps queuing their
  messages (stored in JetStream before the publisher's PUBACK); whichever worker connects
  a session next gets them all, and loads the devices' detector state as it meets them
  (checkpointed by the worker that left: at once when it stops cleanly, at most
  ``ingest.checkpoint_every_s`` old when it died);
* adding a worker is giving it some partitions: the worker that had them stops (or is
  restarted with fewer), checkpointing their devices, and the new one connects them.

The topic is handed on without its ``p/<k>/`` prefix, so everything after the source sees
the device's own topic.

>>> parse_partitions("0-3,7")
(0, 1, 2, 3, 7)
>>> partition_filter("p", 3, "dt")
'p/3/dt/#'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.messages import RawMessage
from ingest.mqtt_source import BrokerUnavailable, MqttSource
from ingest.settings import MqttSettings

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
MAX_PARTITIONS = 1024


def parse_partitions(spec: str) -> tuple[int, ...]:
    """``"0-3,7"`` -> (0, 1, 2, 3, 7); ValueError for anything else."""
    found: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        match = _RANGE.match(part)
        if match is None:
            raise ValueError(f"partitions: {part!r} is not a number or a range like 0-3")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low or high >= MAX_PARTITIONS:
            raise ValueError(f"partitions: {part!r} is not a range within 0-{MAX_PARTITIONS - 1}")
        found.update(range(low, high + 1))
    return tuple(sorted(found))


def partition_filter(prefix: str, partition: int, root: str) -> str:
    return f"{prefix}/{partition}/{root}/#"


class _AllConnected:
    """``connected`` of several sessions: set while every one of them is."""

    def __init__(self, sources: list[MqttSource]) -> None:
        self._sources = sources

    def is_set(self) -> bool:
        return all(source.connected.is_set() for source in self._sources)

    def wait(self, timeout: float | None = None) -> bool:
        return all(source.connected.wait(timeout) for source in self._sources)


class PartitionedSource:
    """The broker sessions of the partitions this worker owns; one MqttSource each."""

    def __init__(
        self,
        settings: MqttSettings,
        partitions: tuple[int, ...],
        deliver: Callable[[RawMessage], None],
        *,
        max_payload_bytes: int = 1024 * 1024,
    ) -> None:
        self.partitions = partitions
        self._sources = [
            MqttSource(
                settings.model_copy(update={"client_id": f"{settings.client_id}-p{k}"}),
                partition_filter(settings.partition_prefix, k, settings.topic_root),
                deliver,
                max_payload_bytes=max_payload_bytes,
                strip_prefix=f"{settings.partition_prefix}/{k}/".encode(),
                origin=i,
            )
            for i, k in enumerate(partitions)
        ]
        self.connected = _AllConnected(self._sources)

    @property
    def protocol(self) -> str | None:
        return self._sources[0].protocol if self._sources else None

    @property
    def reconnects(self) -> int:
        return sum(source.reconnects for source in self._sources)

    def start(self, timeout: float = 10.0) -> None:
        started: list[MqttSource] = []
        try:
            for source in self._sources:
                source.start(timeout)
                started.append(source)
        except BrokerUnavailable:
            for source in started:
                source.stop()
            raise

    def ack(self, message: RawMessage) -> None:
        self._sources[message.origin].ack(message)

    def stop(self) -> None:
        errors: list[BaseException] = []
        for source in self._sources:
            try:
                source.stop()
            except Exception as exc:  # stop the others all the same
                errors.append(exc)
        if errors:
            raise errors[0]
