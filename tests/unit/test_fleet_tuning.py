"""Overrides and baseline resets reach a worker's monitors between batches: retuning in
place, resets that clear what they drop, and checkpoints tagged with the reset they include."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import orjson

from devices.catalog import Catalog
from devices.detection.fleet import FleetDetectors
from devices.faults.model import FaultCleared, FaultOpened
from devices.registry import DeviceDirectory, DeviceRef
from devices.tuning.feed import Reset, TuningChanges
from devices.tuning.model import MetricTuning, Override, effective, model_defaults, tuned
from ingest.batch_builder import BatchBuilder
from ingest.messages import RawMessage

START = 1_763_971_200.0  # a window boundary


def tuning_of(catalog: Catalog, metric: str, layer: Override) -> MetricTuning:
    kind = catalog.device_type("refrigerator")
    return tuned(kind.metrics[metric], effective(model_defaults(kind, metric), None, layer))


def warm(fleet: FleetDetectors, device_id: int, value: float, minutes: int) -> list[object]:
    events: list[object] = []
    for minute in range(minutes):
        events += fleet.observe(
            device_id, "refrigerator", "cabinet_temp", START + 60 * minute, value
        )
    return events


def test_an_override_moves_a_running_limit_and_removing_it_moves_it_back(
    catalog: Catalog,
) -> None:
    fleet = FleetDetectors(catalog)
    warm(fleet, 1, 4.0, 2)
    fleet.retune(
        {1: {"cabinet_temp": tuning_of(catalog, "cabinet_temp", Override(limit_high=6.0))}}
    )
    monitor = fleet.monitor(1, "cabinet_temp")
    assert monitor is not None
    assert [w.limit.value for w in monitor.limits] == [6.0]

    opened = [
        e
        for minute in range(2, 25)
        for e in fleet.observe(1, "refrigerator", "cabinet_temp", START + 60 * minute, 7.0)
    ]
    assert [(type(e).__name__, e.detector) for e in opened] == [("FaultOpened", "limit_high")]

    cleared = fleet.retune({})  # back to the catalog's 8 °C: the 6 °C watch and its fault go
    assert [(type(e).__name__, e.detector) for e in cleared] == [("FaultCleared", "limit_high")]
    assert [w.limit.value for w in monitor.limits] == [8.0]


def test_a_threshold_override_keeps_what_was_learned(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    warm(fleet, 1, 4.0, 30)
    monitor = fleet.monitor(1, "cabinet_temp")
    assert monitor is not None
    learned = monitor.detector.learned
    fleet.retune({1: {"cabinet_temp": tuning_of(catalog, "cabinet_temp", Override(threshold=7.0))}})
    assert monitor.spec.threshold == 7.0
    assert fleet.monitor(1, "cabinet_temp") is monitor
    assert monitor.detector.learned == learned


def test_a_disabled_metric_has_no_monitor_and_new_devices_get_none(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    warm(fleet, 1, 4.0, 2)
    off = {"cabinet_temp": tuning_of(catalog, "cabinet_temp", Override(enabled=False))}
    fleet.retune({1: off, 2: off})
    assert fleet.monitor(1, "cabinet_temp") is None
    assert fleet.observe(2, "refrigerator", "cabinet_temp", START, 30.0) == []
    assert fleet.monitor(2, "cabinet_temp") is None
    assert fleet.observe(3, "refrigerator", "cabinet_temp", START, 4.0) == []
    assert fleet.monitor(3, "cabinet_temp") is not None  # others keep the defaults


def test_a_reset_starts_over_and_clears_what_was_open(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    events = warm(fleet, 1, 9.0, 25)  # above 8 °C for 20 minutes
    assert any(isinstance(e, FaultOpened) for e in events)
    fleet.observe(1, "refrigerator", "compressor_power", START, 95.0)

    cleared = fleet.reset(1, "cabinet_temp")

    assert [(type(e).__name__, e.metric, e.detector) for e in cleared] == [
        ("FaultCleared", "cabinet_temp", "limit_high")
    ]
    assert fleet.monitor(1, "cabinet_temp") is None
    assert fleet.monitor(1, "compressor_power") is not None  # one metric only
    assert fleet.reset(1) == []
    assert fleet.devices() == 0


class Registry:
    refs: ClassVar[list[DeviceRef]] = [DeviceRef(1, "FR-1", "refrigerator")]

    def fetch(self, serials: Iterable[str]) -> list[DeviceRef]:
        return [r for r in self.refs if r.serial in set(serials)]

    def fetch_all(self) -> list[DeviceRef]:
        return self.refs


class FakeStates:
    def __init__(self) -> None:
        self.saved: dict[int, bytes] = {}

    def load(self, device_ids: Sequence[int]) -> dict[int, bytes]:
        return {d: self.saved[d] for d in device_ids if d in self.saved}


class FakeFeed:
    """Stands in for PostgreSQL: the resets committed, and the generation saved per device."""

    def __init__(self) -> None:
        self.resets: list[Reset] = []
        self.generation: dict[int, int] = {}
        self.seen = 0

    def poll(self, now: float) -> TuningChanges | None:
        new = [r for r in self.resets if r[0] > self.seen]
        self.seen = max([self.seen, *(r[0] for r in new)])
        return TuningChanges(resets=new) if new else None

    def load(self, device_ids: Sequence[int]) -> dict[int, tuple[int, list[Reset]]]:
        result: dict[int, tuple[int, list[Reset]]] = {}
        for d in device_ids:
            g = self.generation.get(d, 0)
            result[d] = (g, [r for r in self.resets if r[1] == d and r[0] > g])
        return result


def message(at: float, value: float) -> RawMessage:
    return RawMessage(
        "dt/FR-1/json", orjson.dumps({"time": at, "values": {"cabinet_temp": value}}), at
    )


def builder(
    catalog: Catalog, states: FakeStates, feed: FakeFeed, clock: list[float]
) -> BatchBuilder:
    return BatchBuilder(
        catalog,
        DeviceDirectory(Registry()),
        {key: i + 1 for i, key in enumerate(catalog.metric_keys())},
        FleetDetectors(catalog),
        states=states,
        checkpoint_every_s=60.0,
        clock=lambda: clock[0],
        tuning=feed,
    )


def test_checkpoints_carry_the_reset_they_include_and_a_restart_applies_a_newer_one(
    catalog: Catalog,
) -> None:
    clock = [0.0]
    states, feed = FakeStates(), FakeFeed()
    first = builder(catalog, states, feed, clock)
    for minute in range(25):
        first.build([message(START + 60 * minute, 9.0)])  # a limit fault opens
    clock[0] = 100.0
    before = first.build([message(START + 60 * 25, 9.0)])
    assert before.generations == {1: 0}
    assert [d for d, _ in before.checkpoints] == [1]
    states.saved[1] = before.checkpoints[0][1]

    # A reset is committed while that checkpoint (of the old state) is on its way: the
    # database keeps the old bytes under generation 0, and the reset's row says 1.
    feed.resets.append((1, 1, None))
    clock[0] = 200.0
    after = first.build([message(START + 60 * 26, 4.0)])
    assert [(type(e).__name__, e.detector) for e in after.fault_events] == [
        ("FaultCleared", "limit_high")
    ]
    assert 1 not in after.spans  # the reset's event belongs to no message
    # the next checkpoint says it includes reset 1
    assert first.build([], final=True).generations == {1: 1}

    # A restarted worker loading the *old* bytes (generation 0) applies reset 1 itself.
    restarted = builder(catalog, states, feed, [0.0])  # feed: the same database
    batch = restarted.build([message(START + 60 * 27, 9.0)])
    assert [(type(e).__name__, e.detector) for e in batch.fault_events] == [
        ("FaultCleared", "limit_high")
    ]
    assert restarted.build([], final=True).generations == {1: 1}
    # ...and once saved under generation 1, loading it applies nothing again.
    feed.generation[1] = 1
    again = builder(catalog, states, feed, [0.0])
    assert again.build([message(START + 60 * 28, 4.0)]).fault_events == []


def test_split_keeps_the_events_no_message_owns(catalog: Catalog) -> None:
    clock = [0.0]
    feed = FakeFeed()
    build = builder(catalog, FakeStates(), feed, clock)
    for minute in range(25):
        build.build([message(START + 60 * minute, 9.0)])
    feed.resets.append((1, 1, "cabinet_temp"))
    batch = build.build([message(START + 1600, 4.0), message(START + 1660, 4.0)])
    parts = batch.split()
    events = [e for part in parts for e in part.fault_events]
    assert [type(e) for e in events] == [FaultCleared]
    assert [len(p.messages) for p in parts] == [1, 1, 0]


def test_a_door_switchs_limit_duration_can_be_tuned_in_place(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.observe(1, "refrigerator", "door_open", START, 0.0)
    monitor = fleet.monitor(1, "door_open")
    assert monitor is not None
    kind = catalog.device_type("refrigerator")
    longer = tuned(
        kind.metrics["door_open"],
        effective(model_defaults(kind, "door_open"), None, Override(limit_high_for_s=900.0)),
    )
    fleet.retune({1: {"door_open": longer}})
    assert fleet.monitor(1, "door_open") is monitor
    assert monitor.spec.kind == "limits_only"
    assert [(w.limit.value, w.limit.for_s) for w in monitor.limits] == [(0.5, 900.0)]
    opened = [
        e
        for minute in range(1, 15)
        for e in fleet.observe(1, "refrigerator", "door_open", START + 60 * minute, 1.0)
    ]
    assert opened == []  # 13 minutes open: past the model's 10, within this fridge's 15
