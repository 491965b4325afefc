"""Hard limits with durations, from the catalog, beside the learned detectors."""

from __future__ import annotations

from devices.catalog import Catalog, HardLimit
from devices.detection import FleetDetectors
from devices.detection.limits import LimitWatch
from devices.faults.model import FaultCleared, FaultOpened

T0 = 1_700_006_400.0


def feed(fleet: FleetDetectors, values: list[float], start: float = T0) -> list[object]:
    events: list[object] = []
    for minute, value in enumerate(values):
        events += fleet.observe(1, "refrigerator", "cabinet_temp", start + 60 * minute, value)
    return events


def test_a_fridge_above_8_for_20_minutes_is_a_fault_from_its_first_reading(
    catalog: Catalog,
) -> None:
    fleet = FleetDetectors(catalog)  # nothing learned yet: the limit needs no warm-up
    events = feed(fleet, [4.0] * 10 + [8.5] * 25 + [5.0] * 15)
    [opened] = [e for e in events if isinstance(e, FaultOpened)]
    assert (opened.detector, opened.threshold, opened.score) == ("limit_high", 8.0, 8.5)
    assert opened.opened_at == T0 + 600  # from the first reading past the limit
    assert opened.evidence  # the monitor's recent windows
    [cleared] = [e for e in events if isinstance(e, FaultCleared)]
    assert cleared.detector == "limit_high"
    assert cleared.cleared_at == T0 + 35 * 60  # the first reading back within


def test_a_short_excursion_or_one_that_dips_back_opens_nothing() -> None:
    watch = LimitWatch(1, "cabinet_temp", HardLimit(8.0, True, 1200, 600))
    values = [9.0] * 19 + [7.9] + [9.0] * 19  # 19 minutes, back within, 19 minutes
    events = [e for i, v in enumerate(values) for e in watch.observe(T0 + 60 * i, v)]
    assert events == []


def test_a_floor_limit_reports_the_lowest_value() -> None:
    watch = LimitWatch(1, "water_temp", HardLimit(5.0, False, 300, 60))
    events = [
        e
        for i, v in enumerate([4.0, 2.0, 3.0, 4.5, 4.0, 4.0])
        for e in watch.observe(T0 + 60 * i, v)
    ]
    [opened] = [e for e in events if isinstance(e, FaultOpened)]
    assert (opened.detector, opened.score) == ("limit_low", 2.0)


def test_a_reading_out_of_order_does_not_restart_the_count() -> None:
    watch = LimitWatch(1, "cabinet_temp", HardLimit(8.0, True, 1200, 600))
    events = []
    for minute in range(25):
        events += watch.observe(T0 + 60 * minute, 9.0)
        if minute == 10:
            events += watch.observe(T0 + 60 * minute - 30, 4.0)  # late, in range
    assert [type(e) for e in events] == [FaultOpened]


def test_a_silence_inside_a_run_past_the_limit_starts_the_count_again() -> None:
    door = LimitWatch(1, "door_open", HardLimit(0.5, True, 600, 120))
    # open at the last reading before an hour without data, open again at the first after
    assert door.observe(T0, 1.0) == []
    assert door.observe(T0 + 3600, 1.0) == []  # not "open for an hour": nobody saw it
    for minute in range(1, 10):
        assert door.observe(T0 + 3600 + 60 * minute, 1.0) == []
    [opened] = door.observe(T0 + 3600 + 600, 1.0)  # ten minutes of readings open: a fault
    assert isinstance(opened, FaultOpened)
    assert opened.opened_at == T0 + 3600
