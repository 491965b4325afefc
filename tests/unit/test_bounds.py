"""What the network can make grow stays bounded: the unknown-serial cache, the held bytes,
and a batch whose builder trips on one message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from devices.catalog import Catalog
from devices.registry import DeviceDirectory, DeviceRef
from ingest.batch_builder import BatchBuilder
from ingest.inbox import ByteBudget
from ingest.messages import RawMessage, RejectReason


class CountingSource:
    def __init__(self, known: list[str]) -> None:
        self.refs = {s: DeviceRef(i + 1, s, "refrigerator") for i, s in enumerate(known)}
        self.asked: list[str] = []

    def fetch(self, serials: Iterable[str]) -> list[DeviceRef]:
        wanted = list(serials)
        self.asked.extend(wanted)
        return [self.refs[s] for s in wanted if s in self.refs]

    def fetch_all(self) -> list[DeviceRef]:
        return list(self.refs.values())


def test_unknown_serials_are_remembered_in_a_bounded_cache_with_a_time_to_live() -> None:
    now = [0.0]
    source = CountingSource(["FR-000001"])
    directory = DeviceDirectory(
        source, negative_ttl_s=30.0, negative_size=100, clock=lambda: now[0]
    )
    for i in range(10_000):
        directory.resolve([f"XX-{i:06d}"])
    assert directory.unknown_cached == 100  # the least recently used were forgotten
    asked = len(source.asked)
    directory.resolve(["XX-009999"])
    assert len(source.asked) == asked  # remembered: no query
    now[0] += 31
    directory.resolve(["XX-009999"])
    assert len(source.asked) == asked + 1  # expired: asked again
    assert directory.resolve(["FR-000001"])["FR-000001"].id == 1


def test_the_byte_budget_holds_the_producer_until_bytes_are_released() -> None:
    budget = ByteBudget(1000)
    assert budget.acquire(800, timeout=0)
    released = threading.Timer(0.1, budget.release, args=(800,))
    released.start()
    started = time.monotonic()
    assert budget.acquire(800, timeout=5)  # waits for the release
    assert time.monotonic() - started >= 0.05
    assert budget.held == 800
    assert budget.peak == 800
    assert not budget.acquire(300, timeout=0.01)


def test_one_message_larger_than_the_budget_still_passes_alone() -> None:
    budget = ByteBudget(100)
    assert budget.acquire(5000, timeout=0)
    assert not budget.acquire(1, timeout=0)


class ExplodingDetectors:
    """Detectors that fail on device 2, as a bug in a detector would."""

    def observe(
        self, device_id: int, device_type: str, metric: str, when: float, value: float
    ) -> list[object]:
        if device_id == 2:
            raise ZeroDivisionError("a bug in a detector")
        return []

    def devices(self) -> int:
        return 0

    def state_bytes(self, device_id: int) -> bytes:
        return b""


def test_a_message_that_makes_the_builder_fail_becomes_a_dead_letter(catalog: Catalog) -> None:
    builder = BatchBuilder(
        catalog,
        DeviceDirectory(CountingSource(["FR-000001", "FR-000002"])),
        {k: i + 1 for i, k in enumerate(catalog.metric_keys())},
        ExplodingDetectors(),  # type: ignore[arg-type]
    )
    good = b'{"time": 1763971200, "values": {"cabinet_temp": 4.0, "compressor_power": 90}}'
    messages = [
        RawMessage("dt/FR-000002/json", good, 1_763_971_300.0),
        RawMessage("dt/FR-000001/json", good, 1_763_971_300.0),
    ]
    batch = builder.build(messages)
    assert [row[0] for row in batch.rows] == [1, 1]  # the other message's readings, whole
    [rejection] = batch.rejections
    assert rejection.message is messages[0]
    assert rejection.reason is RejectReason.PROCESSING_ERROR
    assert "ZeroDivisionError: a bug in a detector" in rejection.detail
    assert list(batch.spans) == [1]


def test_an_invalidated_serial_is_asked_again_at_the_next_lookup() -> None:
    source = CountingSource([])
    directory = DeviceDirectory(source, negative_ttl_s=3600.0)
    directory.resolve(["FR-000009"])
    source.refs["FR-000009"] = DeviceRef(9, "FR-000009", "refrigerator")  # registered now
    assert directory.resolve(["FR-000009"]) == {}  # the cached answer, an hour long
    directory.invalidate("FR-000009")  # from the registry listener's thread
    assert directory.resolve(["FR-000009"])["FR-000009"].id == 9
    directory.resolve(["XX-1", "XX-2"])
    directory.invalidate(None)  # the listener reconnected: forget every unknown answer
    directory.resolve([])
    assert directory.unknown_cached == 0
