"""The regression detector in the pipeline: a metric judged against its inputs, windowed
with them, checkpointed with the device, and old checkpoints still restore."""

from __future__ import annotations

import random
from pathlib import Path

from devices.catalog import Catalog
from devices.detection import FleetDetectors
from devices.detection.fleet import relation_key
from devices.detection.regression import RegressionDetector
from devices.detection.relation import RelationMonitor
from devices.detection.standard_score import SCORE_CAP
from devices.faults.model import FaultCleared, FaultEvent, FaultOpened

START = 1_700_006_400.0
DAY_MINUTES = 24 * 60


def feed(
    fleet: FleetDetectors, minutes: range, power_per_duty: float, duty_scale: float, seed: int
) -> list[FaultEvent]:
    """A fridge's duty cycle and power, a reading a minute; power = running power x duty."""
    rng = random.Random(seed)
    events: list[FaultEvent] = []
    for minute in minutes:
        t = START + 60 * minute
        duty = (0.45 + 0.03 * rng.gauss(0, 1)) * duty_scale
        power = power_per_duty * duty * (1 + 0.02 * rng.gauss(0, 1))
        events += fleet.observe(1, "refrigerator", "duty_cycle", t, duty)
        events += fleet.observe(1, "refrigerator", "compressor_power", t, power)
    return events


def regression_events(events: list[FaultEvent]) -> list[FaultEvent]:
    return [e for e in events if e.detector == "regression"]


def test_more_power_for_the_same_duty_is_a_fault_and_a_longer_duty_is_not(
    catalog: Catalog,
) -> None:
    fleet = FleetDetectors(catalog)
    assert regression_events(feed(fleet, range(2 * DAY_MINUTES), 211.0, 1.0, 1)) == []
    # a leaking seal: runs 35 % longer at the same running power: explained by the duty
    leak = feed(fleet, range(2 * DAY_MINUTES, 2 * DAY_MINUTES + 120), 211.0, 1.35, 2)
    assert regression_events(leak) == []
    # a worn compressor: 30 % more power for the same duty cycle
    worn = feed(fleet, range(2 * DAY_MINUTES + 120, 2 * DAY_MINUTES + 240), 274.0, 1.0, 3)
    [opened] = regression_events(worn)
    assert isinstance(opened, FaultOpened)
    assert (opened.metric, opened.detector) == ("compressor_power", "regression")
    assert opened.threshold <= opened.score <= SCORE_CAP
    # the compressor is replaced: back to normal, the fault clears
    back = feed(fleet, range(2 * DAY_MINUTES + 240, 2 * DAY_MINUTES + 360), 211.0, 1.0, 4)
    assert [type(e) for e in regression_events(back)] == [FaultCleared]


def test_the_relation_is_checkpointed_with_the_device(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    feed(fleet, range(DAY_MINUTES + 7), 211.0, 1.0, 5)
    monitor = fleet._devices[1][relation_key("compressor_power")]
    assert isinstance(monitor, RelationMonitor)
    other = FleetDetectors(catalog)
    other.restore(1, fleet.state_bytes(1))
    restored = other._devices[1][relation_key("compressor_power")]
    assert isinstance(restored, RelationMonitor)
    assert restored.detector.learned == monitor.detector.learned > 250
    # both go on identically
    assert feed(fleet, range(DAY_MINUTES + 7, DAY_MINUTES + 300), 274.0, 1.0, 6) == feed(
        other, range(DAY_MINUTES + 7, DAY_MINUTES + 300), 274.0, 1.0, 6
    )


def test_forgetting_an_input_forgets_the_relations_it_feeds(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    feed(fleet, range(30), 211.0, 1.0, 7)
    fleet.forget(1, "duty_cycle")
    assert relation_key("compressor_power") not in fleet._devices[1]
    assert fleet.monitor(1, "compressor_power") is not None


# Written by the release before relations (commit c7730f4): device 1, a refrigerator fed
# 600 minutes of cabinet, freezer, power and door readings: 119 windows learned each.
BEFORE_RELATIONS = Path(__file__).parent / "data" / "detector_state_before_relations.pickle"


def test_a_checkpoint_from_before_relations_keeps_what_it_learned(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.restore(1, BEFORE_RELATIONS.read_bytes())
    for metric in ("cabinet_temp", "compressor_power", "freezer_temp"):
        monitor = fleet.monitor(1, metric)
        assert monitor is not None
        assert monitor.detector.learned == 119
        assert monitor.spec == catalog.device_type("refrigerator").metrics[metric].detector
    # the relation starts from scratch beside them, and ingest goes on
    t = START + 60 * 700
    fleet.observe(1, "refrigerator", "duty_cycle", t, 0.45)
    assert fleet.observe(1, "refrigerator", "compressor_power", t, 95.0) == []
    assert relation_key("compressor_power") in fleet._devices[1]


def test_the_regression_alone_on_one_stream_is_a_level_detector() -> None:
    detector = RegressionDetector(adapt=0.01)
    for i in range(300):
        detector.learn_one({"value": 20.0 + (0.1 if i % 2 else -0.1), "t": START + 300 * i})
    assert detector.score_one({"value": 20.0}) < 2.0
    assert (
        detector.score_one({"value": 25.0}) == SCORE_CAP
        or detector.score_one({"value": 25.0}) > 10.0
    )


def test_a_lasting_new_relationship_is_absorbed_after_the_documented_time(
    catalog: Catalog,
) -> None:
    """A replaced compressor that draws 30 % more for good: one fault, absorbed after
    ``absorb_after`` windows (a day), then learned as the new normal."""
    spec = catalog.device_type("refrigerator").metrics["compressor_power"].relation
    assert spec is not None
    fleet = FleetDetectors(catalog)
    feed(fleet, range(2 * DAY_MINUTES), 211.0, 1.0, 8)
    after = feed(fleet, range(2 * DAY_MINUTES, 5 * DAY_MINUTES), 274.0, 1.0, 9)
    events = regression_events(after)
    assert [type(e) for e in events] == [FaultOpened, FaultCleared]
    opened, cleared = events
    assert isinstance(opened, FaultOpened)
    assert isinstance(cleared, FaultCleared)
    assert cleared.absorbed is True
    windows_open = (cleared.cleared_at - opened.opened_at) / spec.window_s
    assert spec.absorb_after <= windows_open <= spec.absorb_after + spec.open_after
