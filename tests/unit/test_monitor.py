"""MetricMonitor and FleetDetectors: windows, warm-up, hysteresis, evidence, checkpoints."""

from __future__ import annotations

import dataclasses
import math
import pickle
import random

import pytest

from devices.catalog import Catalog, CatalogError, DetectorSpec, MetricSpec
from devices.detection import FleetDetectors, MetricMonitor, make_detector
from devices.errors import DetectorStateError
from devices.faults.model import FaultCleared, FaultEvent, FaultOpened

START = 1_700_006_400.0  # 2023-11-15 00:00 UTC, a window boundary
SPEC = DetectorSpec(
    kind="standard_score",
    window_s=300.0,
    threshold=4.0,
    warmup=24,
    open_after=3,
    clear_after=6,
    adapt=0.01,
)
PER_WINDOW = 5  # one reading a minute, five-minute windows
NOISE = 0.25


class Feeder:
    """Feeds a monitor whole windows of readings (one a minute) and collects its events."""

    def __init__(self, monitor: MetricMonitor, seed: int = 0) -> None:
        self.monitor = monitor
        self.rng = random.Random(seed)
        self.window = 0  # index of the next window to feed, from START
        self.events: list[FaultEvent] = []

    def start_of(self, window: int) -> float:
        return START + SPEC.window_s * window

    def feed(self, level: float, windows: int = 1) -> list[FaultEvent]:
        """Feed ``windows`` windows around ``level``; returns the events they caused.

        A window closes when the next one's first reading arrives, so the events of the last
        window fed appear on the next call (or on :meth:`close`).
        """
        new: list[FaultEvent] = []
        for _ in range(windows):
            for minute in range(PER_WINDOW):
                time = self.start_of(self.window) + 60 * minute + 1
                result = self.monitor.observe(time, level + self.rng.gauss(0, NOISE))
                assert result is not None
                new += result
            self.window += 1
        self.events += new
        return new

    def close(self) -> list[FaultEvent]:
        """Close the current window with one reading in the next (at the normal level)."""
        result = self.monitor.observe(self.start_of(self.window), 4.0)
        assert result is not None
        self.events += result
        return result


def monitor(spec: DetectorSpec = SPEC) -> MetricMonitor:
    return MetricMonitor(7, "cabinet_temp", spec, make_detector(spec))


def warmed(windows: int = 100, seed: int = 0) -> Feeder:
    feeder = Feeder(monitor(), seed)
    feeder.feed(4.0, windows)  # the last window stays open; the next reading closes it
    assert feeder.events == []
    return feeder


def opened(events: list[FaultEvent]) -> list[FaultOpened]:
    return [e for e in events if isinstance(e, FaultOpened)]


def cleared(events: list[FaultEvent]) -> list[FaultCleared]:
    return [e for e in events if isinstance(e, FaultCleared)]


# ---- windows and warm-up ----------------------------------------------------------------


def test_windows_are_aligned_to_the_epoch_and_averaged() -> None:
    m = monitor()
    for time, value in ((START + 310, 1.0), (START + 599, 3.0), (START + 400, 5.0)):
        assert m.observe(time, value) == []
    assert (m.start, m.end, m.count) == (START + 300, START + 600, 3)

    assert m.observe(START + 2000, 9.0) == []  # closes the window; the gap is skipped

    window = m.recent()[-1]
    assert (window.start, window.mean, window.count) == (START + 300, 3.0, 3)
    assert (m.start, m.end) == (START + 1800, START + 2100)
    assert len(m.recent()) == 1
    assert m.detector.learned == 1


def test_warm_up_learns_every_window_and_never_opens() -> None:
    feeder = Feeder(monitor())
    feeder.feed(4.0, 12)
    feeder.feed(40.0, 12)  # a huge level change inside the warm-up
    feeder.close()

    assert feeder.events == []
    assert feeder.monitor.detector.learned == SPEC.warmup
    assert not feeder.monitor.is_open


# ---- hysteresis -------------------------------------------------------------------------


def test_a_single_spike_window_does_not_open_a_fault() -> None:
    feeder = warmed()
    feeder.feed(9.0)  # one window far above normal
    feeder.feed(4.0, 20)
    feeder.close()

    spike = feeder.monitor.recent()[-21]
    assert spike.mean > 8.0
    assert spike.score >= SPEC.threshold  # it was flagged...
    assert feeder.events == []  # ...but one window is not a fault (open_after = 3)
    assert not feeder.monitor.is_open


def test_two_anomalous_runs_shorter_than_open_after_do_not_add_up() -> None:
    feeder = warmed()
    feeder.feed(9.0, 2)
    feeder.feed(4.0, 1)
    feeder.feed(9.0, 2)
    feeder.feed(4.0, 5)
    feeder.close()

    assert feeder.events == []


def test_a_sustained_level_shift_opens_exactly_one_fault_with_evidence() -> None:
    feeder = warmed()
    shift_start = feeder.start_of(feeder.window)
    feeder.feed(7.0, 20)
    feeder.close()

    faults = opened(feeder.events)
    assert len(faults) == 1
    assert cleared(feeder.events) == []
    fault = faults[0]
    assert (fault.device_id, fault.metric, fault.detector) == (7, "cabinet_temp", "standard_score")
    assert fault.threshold == SPEC.threshold
    assert fault.opened_at == shift_start  # the onset, not the moment it was confirmed
    assert fault.score >= SPEC.threshold
    run = [w for w in fault.evidence if w.start >= shift_start]
    before = [w for w in fault.evidence if w.start < shift_start]
    assert [w.start for w in run] == [shift_start + 300 * k for k in range(SPEC.open_after)]
    assert fault.score == max(w.score for w in run)
    assert all(w.mean > 6.0 and w.score >= SPEC.threshold for w in run)
    assert len(fault.evidence) == 24
    assert all(w.score < SPEC.threshold and w.count == PER_WINDOW for w in before)
    starts = [w.start for w in fault.evidence]
    assert starts == sorted(starts)
    assert feeder.monitor.is_open


def test_flagged_windows_are_not_learned() -> None:
    feeder = warmed()
    feeder.feed(4.0)  # a normal window...
    first = feeder.monitor.observe(feeder.start_of(feeder.window), 8.0)  # ...closed, learned
    assert first == []
    learned = feeder.monitor.detector.learned
    baseline = pickle.dumps(feeder.monitor.detector)

    for minute in range(1, PER_WINDOW):  # the rest of a window at 8 °C
        feeder.monitor.observe(feeder.start_of(feeder.window) + 60 * minute, 8.0)
    feeder.window += 1
    feeder.feed(8.0, 5)  # and five more: a fault opens
    feeder.close()

    assert len(opened(feeder.events)) == 1
    assert all(w.score >= SPEC.threshold for w in feeder.monitor.recent()[-6:])
    assert feeder.monitor.detector.learned == learned
    assert pickle.dumps(feeder.monitor.detector) == baseline  # the baseline did not move


def test_a_return_to_normal_clears_after_clear_after_windows_and_a_new_shift_reopens() -> None:
    feeder = warmed()
    feeder.feed(7.0, 10)
    back = feeder.start_of(feeder.window)
    feeder.feed(4.0, SPEC.clear_after)  # the last of these closes on the next reading
    assert cleared(feeder.events) == []
    assert feeder.monitor.is_open

    feeder.close()

    assert cleared(feeder.events) == [FaultCleared(7, "cabinet_temp", "standard_score", back)]
    assert not feeder.monitor.is_open
    feeder.feed(4.0, 10)
    feeder.feed(7.0, 10)
    feeder.close()
    assert [type(e) for e in feeder.events] == [FaultOpened, FaultCleared, FaultOpened]


def test_an_anomalous_window_restarts_the_count_towards_clearing() -> None:
    feeder = warmed()
    feeder.feed(7.0, 5)
    feeder.feed(4.0, SPEC.clear_after - 1)
    feeder.feed(7.0, 1)
    feeder.feed(4.0, SPEC.clear_after - 1)
    feeder.close()

    assert cleared(feeder.events) == []
    assert feeder.monitor.is_open


# ---- late and bad readings --------------------------------------------------------------


def test_late_readings_are_counted_and_ignored() -> None:
    feeder = warmed()
    feeder.feed(4.0, 3)
    current = feeder.monitor.start

    assert feeder.monitor.observe(current - 1.0, 500.0) is None  # late: the window closed
    assert feeder.monitor.observe(current - 3600.0, -500.0) is None
    assert feeder.monitor.observe(current + 2.0, 4.0) == []  # out of order, same window: fine
    feeder.feed(4.0, 5)
    feeder.close()

    assert feeder.monitor.late == 2
    assert feeder.events == []
    window = next(w for w in feeder.monitor.recent() if w.start == current)
    assert window.count == PER_WINDOW + 1  # with the out-of-order reading, not the late ones
    assert abs(window.mean - 4.0) < 0.5


def test_a_non_finite_window_is_dropped_not_learned() -> None:
    feeder = warmed()
    learned = feeder.monitor.detector.learned
    feeder.monitor.observe(feeder.monitor.start + 5, math.nan)
    feeder.feed(4.0)

    assert feeder.monitor.invalid == 1
    assert feeder.monitor.detector.learned == learned
    assert feeder.monitor.observe(math.inf, 4.0) is None
    assert feeder.monitor.invalid == 2


# ---- realistic streams, with the catalog's own detector spec ----------------------------


def cabinet_stream(
    fleet: FleetDetectors,
    metric: MetricSpec,
    rng: random.Random,
    hours: float,
    ramp_start: float | None = None,
) -> list[FaultEvent]:
    """A refrigerator's cabinet temperature, one reading a minute with jitter: the
    catalog's typical mean, daily cycle and noise, plus an optional +3 °C rise over 12 h
    (a failing compressor) from ``ramp_start``."""
    typical = metric.typical
    phase = rng.uniform(0, 2 * math.pi)
    events: list[FaultEvent] = []
    for minute in range(int(hours * 60)):
        time = START + 60 * minute + rng.uniform(0, 5)
        value = (
            typical.mean
            + typical.daily_amplitude * math.sin(2 * math.pi * time / 86400 + phase)
            + rng.gauss(0, typical.noise)
        )
        if ramp_start is not None and time > ramp_start:
            value += 3.0 * min(1.0, (time - ramp_start) / (12 * 3600))
        events += fleet.observe(1, "refrigerator", metric.key, time, value)
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_slow_rise_like_a_failing_compressor_is_detected(catalog: Catalog, seed: int) -> None:
    metric = catalog.device_type("refrigerator").metrics["cabinet_temp"]
    fleet = FleetDetectors(catalog)
    ramp_start = START + 2 * 86400

    events = cabinet_stream(fleet, metric, random.Random(seed), 2 * 24 + 12, ramp_start)

    assert len(events) == 1
    fault = events[0]
    assert isinstance(fault, FaultOpened)
    assert ramp_start <= fault.opened_at < ramp_start + 6 * 3600  # well before the 12 h end
    assert metric.detector is not None
    assert fault.score >= metric.detector.threshold
    rise = fault.evidence[-1].mean - metric.typical.mean
    assert 0.3 < rise < 1.8  # caught while the cabinet is still in the 4-6 °C range


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_week_of_normal_data_opens_no_fault(catalog: Catalog, seed: int) -> None:
    metric = catalog.device_type("refrigerator").metrics["cabinet_temp"]
    fleet = FleetDetectors(catalog)

    events = cabinet_stream(fleet, metric, random.Random(seed), 7 * 24)

    assert events == []
    watched = fleet.monitor(1, "cabinet_temp")
    assert watched is not None
    assert watched.detector.learned >= 7 * 288 - 10  # practically every window was learned
    assert watched.late == 0


# ---- the fleet --------------------------------------------------------------------------


def test_the_fleet_creates_monitors_only_for_watched_metrics(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)

    assert fleet.observe(2, "washing_machine", "not_a_metric", START, 1.0) == []
    assert fleet.devices() == 0

    assert fleet.observe(1, "refrigerator", "cabinet_temp", START, 4.0) == []
    assert fleet.observe(1, "refrigerator", "compressor_power", START, 90.0) == []
    assert fleet.observe(1, "refrigerator", "door_open", START, 0.0) == []
    assert fleet.devices() == 1
    door = fleet.monitor(1, "door_open")  # watched by its limit alone: nothing learned
    assert door is not None
    assert door.detector.name == "limits_only"
    watched = fleet.monitor(1, "cabinet_temp")
    assert watched is not None
    assert watched.count == 1


def test_an_unknown_device_type_is_an_error(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="toaster"):
        FleetDetectors(catalog).observe(1, "toaster", "cabinet_temp", START, 4.0)


def test_the_fleet_counts_late_readings(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.observe(1, "refrigerator", "cabinet_temp", START + 900, 4.0)

    assert fleet.observe(1, "refrigerator", "cabinet_temp", START + 10, 4.0) == []
    assert fleet.observe(1, "refrigerator", "freezer_temp", START + 10, -18.0) == []  # new

    assert fleet.late_readings == 1


def fridge_days(fleet: FleetDetectors, device: int, days: float, seed: int) -> list[FaultEvent]:
    rng = random.Random(seed)
    events: list[FaultEvent] = []
    for minute in range(int(days * 1440)):
        time = START + 60 * minute
        cycle = math.sin(2 * math.pi * time / 86400)
        for key, mean, amp, noise in (
            ("cabinet_temp", 4.0, 0.4, 0.25),
            ("freezer_temp", -18.0, 0.6, 0.4),
            ("compressor_power", 95.0, 12.0, 6.0),
            ("door_open", 0.0, 0.0, 0.0),
        ):
            value = mean + amp * cycle + rng.gauss(0, noise)
            events += fleet.observe(device, "refrigerator", key, time, value)
    return events


def test_device_state_is_small_and_survives_a_move_to_another_worker(catalog: Catalog) -> None:
    here = FleetDetectors(catalog)
    assert fridge_days(here, 5, 2, seed=1) == []
    data = here.state_bytes(5)

    assert len(data) <= 20_000  # three watched metrics, after warm-up
    there = FleetDetectors(catalog)
    there.restore(5, data)
    assert there.devices() == 1

    for fleet in (here, there):  # the same continuation, with a compressor failing
        fleet.observe(5, "refrigerator", "compressor_power", START + 2 * 86400, 400.0)
        for k in range(1, 30):
            fleet.observe(5, "refrigerator", "compressor_power", START + 2 * 86400 + 60 * k, 400.0)
    a, b = here.monitor(5, "compressor_power"), there.monitor(5, "compressor_power")
    assert a is not None
    assert b is not None
    assert a.is_open
    assert b.is_open
    assert a.recent() == b.recent()
    assert a.detector.learned == b.detector.learned


def test_restore_refuses_foreign_or_broken_state(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.observe(5, "refrigerator", "cabinet_temp", START, 4.0)
    data = fleet.state_bytes(5)

    with pytest.raises(DetectorStateError, match="belongs to device 5"):
        fleet.restore(6, data)
    with pytest.raises(DetectorStateError, match="unreadable"):
        fleet.restore(5, b"not a pickle")
    with pytest.raises(DetectorStateError, match="version 99"):
        fleet.restore(5, pickle.dumps((99, 5, {})))
    assert fleet.devices() == 1


def test_restore_drops_monitors_whose_spec_changed(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.observe(5, "refrigerator", "cabinet_temp", START, 4.0)
    fleet.observe(5, "refrigerator", "freezer_temp", START, -18.0)
    stale = fleet.monitor(5, "freezer_temp")
    assert stale is not None
    stale.spec = dataclasses.replace(stale.spec, adapt=0.5)  # as if the catalog changed
    data = fleet.state_bytes(5)

    fleet.restore(5, data)

    assert fleet.monitor(5, "cabinet_temp") is not None
    assert fleet.monitor(5, "freezer_temp") is None


def test_restore_keeps_monitors_whose_threshold_alone_changed(catalog: Catalog) -> None:
    """A threshold is what windows are judged against, not what was learned: an override
    (or a catalog edit) of it keeps the learned state."""
    fleet = FleetDetectors(catalog)
    fleet.observe(5, "refrigerator", "freezer_temp", START, -18.0)
    monitor = fleet.monitor(5, "freezer_temp")
    assert monitor is not None
    monitor.spec = dataclasses.replace(monitor.spec, threshold=9.0)

    fleet.restore(5, fleet.state_bytes(5))

    restored = fleet.monitor(5, "freezer_temp")
    assert restored is not None
    assert restored.spec.threshold == 4.0  # the catalog's again: no override here


def test_forget_drops_monitors(catalog: Catalog) -> None:
    fleet = FleetDetectors(catalog)
    fleet.observe(5, "refrigerator", "cabinet_temp", START, 4.0)
    fleet.observe(5, "refrigerator", "freezer_temp", START, -18.0)
    fleet.observe(6, "refrigerator", "cabinet_temp", START, 4.0)

    fleet.forget(5, "cabinet_temp")
    assert fleet.monitor(5, "cabinet_temp") is None
    assert fleet.monitor(5, "freezer_temp") is not None
    fleet.forget(5, "freezer_temp")
    fleet.forget(6)

    assert fleet.devices() == 0
    assert fleet.state_bytes(6) == FleetDetectors(catalog).state_bytes(6)
