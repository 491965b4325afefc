"""Detector checkpoints ride along with batches, spread out so no batch stalls on them."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from devices.catalog import Catalog
from devices.detection.fleet import FleetDetectors
from devices.registry import DeviceDirectory, DeviceRef
from ingest.batch_builder import CHECKPOINT_SLICE, BatchBuilder
from ingest.messages import RawMessage


class Registry:
    def __init__(self, count: int) -> None:
        self.refs = [DeviceRef(i + 1, f"FR-{i + 1:06d}", "refrigerator") for i in range(count)]

    def fetch(self, serials: Iterable[str]) -> list[DeviceRef]:
        wanted = set(serials)
        return [ref for ref in self.refs if ref.serial in wanted]

    def fetch_all(self) -> list[DeviceRef]:
        return self.refs


def messages(count: int, at: float) -> list[RawMessage]:
    return [
        RawMessage(
            f"dt/FR-{i + 1:06d}/json",
            orjson.dumps({"time": at, "values": {"cabinet_temp": 4.0}}),
            at + 1,
        )
        for i in range(count)
    ]


def test_states_are_saved_after_the_interval_a_slice_per_batch(catalog: Catalog) -> None:
    clock = [1000.0]
    devices = CHECKPOINT_SLICE * 2 + 100
    builder = BatchBuilder(
        catalog,
        DeviceDirectory(Registry(devices)),
        {key: i + 1 for i, key in enumerate(catalog.metric_keys())},
        FleetDetectors(catalog),
        checkpoint_every_s=60.0,
        clock=lambda: clock[0],
    )
    first = builder.build(messages(devices, 1_763_971_200.0))
    assert len(first.rows) == devices
    assert first.checkpoints == []  # changed just now: not due yet

    clock[0] += 30
    assert builder.build([]).checkpoints == []

    clock[0] += 31  # 61 s after the change: due, a slice at a time, oldest first
    sizes = [len(builder.build([]).checkpoints) for _ in range(4)]
    assert sizes == [CHECKPOINT_SLICE, CHECKPOINT_SLICE, 100, 0]


def test_the_last_batch_saves_every_changed_device(catalog: Catalog) -> None:
    builder = BatchBuilder(
        catalog,
        DeviceDirectory(Registry(CHECKPOINT_SLICE + 7)),
        {key: i + 1 for i, key in enumerate(catalog.metric_keys())},
        FleetDetectors(catalog),
        clock=lambda: 5.0,
    )
    builder.build(messages(CHECKPOINT_SLICE + 7, 1_763_971_200.0))
    final = builder.build([], final=True)
    assert sorted(device for device, _ in final.checkpoints) == list(range(1, CHECKPOINT_SLICE + 8))
    assert all(state for _, state in final.checkpoints)
