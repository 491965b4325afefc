"""A new normal is learned, not flagged forever; scores stay on a bounded scale."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

from devices.catalog import Catalog
from devices.detection import FleetDetectors, make_detector
from devices.detection.standard_score import SCORE_CAP, StandardScoreDetector
from devices.faults.model import FaultCleared, FaultOpened
from tests.unit.test_monitor import SPEC, Feeder, monitor

ABSORB = 48  # windows: four hours at five minutes, to keep the test short


def shifted(seed: int = 0) -> Feeder:
    """A monitor that learned 4 °C, then saw the cabinet settle at 8 °C for good."""
    spec = dataclasses.replace(SPEC, absorb_after=ABSORB)
    feeder = Feeder(monitor(spec), seed)
    feeder.feed(4.0, 100)
    return feeder


def test_a_lasting_shift_opens_once_then_is_absorbed_as_the_new_normal() -> None:
    feeder = shifted()
    feeder.feed(8.0, ABSORB + 10)
    [opened] = [e for e in feeder.events if isinstance(e, FaultOpened)]
    [cleared] = [e for e in feeder.events if isinstance(e, FaultCleared)]
    assert cleared.absorbed is True
    windows_open = (cleared.cleared_at - opened.opened_at) / SPEC.window_s
    assert ABSORB <= windows_open <= ABSORB + SPEC.open_after
    # the detector starts again on the new level: a day at 8 °C opens nothing more
    feeder.feed(8.0, 300)
    assert [e for e in feeder.events if isinstance(e, FaultOpened)] == [opened]
    # and a real change from the new normal is a fault again
    feeder.feed(12.0, 10)
    assert len([e for e in feeder.events if isinstance(e, FaultOpened)]) == 2


def test_a_fault_that_recovers_in_time_clears_as_before_not_absorbed() -> None:
    feeder = shifted()
    feeder.feed(8.0, 10)
    feeder.feed(4.0, 20)
    [cleared] = [e for e in feeder.events if isinstance(e, FaultCleared)]
    assert cleared.absorbed is False


def test_a_monitor_saved_before_absorption_existed_restores() -> None:
    feeder = shifted()
    state = pickle.loads(pickle.dumps(feeder.monitor))
    del state._open_windows  # as pickled by the previous version: no such slot
    restored = pickle.loads(pickle.dumps(state))
    assert restored._open_windows == 0
    assert restored.detector.learned == feeder.monitor.detector.learned


def test_a_near_constant_stream_scores_a_small_change_on_a_bounded_scale() -> None:
    detector = StandardScoreDetector(adapt=0.01)  # no min_std: standalone use
    for i in range(500):
        detector.learn(20.0 + (1e-12 if i % 2 else 0.0), 1_700_000_000 + 300 * i)
    small = detector.score(20.01, 1_700_000_000 + 300 * 500)
    huge = detector.score(1e9, 1_700_000_000 + 300 * 500)
    assert 0.0 <= small <= SCORE_CAP
    assert small < 100.0  # a hundredth of a degree on 20 °C: not 10^18
    assert huge == SCORE_CAP


def test_reset_forgets_the_baseline() -> None:
    detector = make_detector(SPEC)
    for i in range(300):
        detector.learn(4.0, 1_700_000_000 + 300 * i)
    detector.reset()
    assert detector.learned == 0
    assert detector.score(9.0, 1_700_000_000) == 0.0  # nothing learned: nothing to judge


# Written by the release before absorb_after (commit 3926a68): device 1, a refrigerator fed
# 300 readings of 4.0 a minute apart, so 60 windows learned on cabinet_temp.
OLD_CHECKPOINT = Path(__file__).parent / "data" / "detector_state_before_absorb_after.pickle"


def test_a_checkpoint_from_before_absorb_after_keeps_what_it_learned(catalog: Catalog) -> None:
    """Upgrading must not throw away every device's detectors (nor fail ingest on them)."""
    fleet = FleetDetectors(catalog)
    fleet.restore(1, OLD_CHECKPOINT.read_bytes())
    monitor = fleet.monitor(1, "cabinet_temp")
    assert monitor is not None
    assert monitor.spec == catalog.device_type("refrigerator").metrics["cabinet_temp"].detector
    assert monitor.detector.learned == 60
    assert monitor._open_windows == 0


def test_a_fault_that_recovers_just_before_absorption_is_cleared_not_absorbed() -> None:
    feeder = shifted()
    feeder.feed(8.0, ABSORB)  # open_after of them open it; fewer than ABSORB after that
    feeder.feed(4.0, 30)
    [cleared] = [e for e in feeder.events if isinstance(e, FaultCleared)]
    assert cleared.absorbed is False
