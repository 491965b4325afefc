"""A metric watched against its inputs: the windows of a regression detector.

A :class:`RelationMonitor` is a :class:`~devices.detection.monitor.MetricMonitor` (the same
windows, warm-up, hysteresis, absorption and evidence) that also averages its **inputs**
(other metrics of the same device) over the same windows, and hands their means to its
detector with the window's value. Readings of an input go to :meth:`observe_input`; a
reading of the target or of an input at or after the window's end closes the window (the
device reports its metrics together, so whichever arrives first closes it).

An input with no reading in a window keeps its last mean (a slow metric, a lost reading); a
window before any input was ever seen is not scored (counted in ``invalid``).

The faults it opens carry the detector name ``regression`` on the target metric, apart from
the metric's own standard-score faults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from devices.catalog import DetectorSpec
from devices.detection.base import Detector
from devices.detection.monitor import MetricMonitor
from devices.faults.model import FaultEvent


class _Given:
    """The monitor's one-value view of a detector, with this window's inputs bound."""

    __slots__ = ("_detector", "_inputs")

    def __init__(self, detector: Detector, inputs: Mapping[str, float]) -> None:
        self._detector = detector
        self._inputs = inputs

    @property
    def name(self) -> str:
        return self._detector.name

    @property
    def learned(self) -> int:
        return self._detector.learned

    def score(self, value: float, at: float) -> float:
        return self._detector.score_one({**self._inputs, "value": value, "t": at})

    def learn(self, value: float, at: float) -> None:
        self._detector.learn_one({**self._inputs, "value": value, "t": at})

    def reset(self) -> None:
        self._detector.reset()

    def state(self) -> dict[str, Any]:
        return self._detector.state()

    def learn_one(self, x: Mapping[str, float]) -> None:
        self._detector.learn_one({**self._inputs, **x})

    def score_one(self, x: Mapping[str, float]) -> float:
        return self._detector.score_one({**self._inputs, **x})


class RelationMonitor(MetricMonitor):
    """Watches one metric of one device against ``spec.inputs``."""

    __slots__ = ("_in_count", "_in_last", "_in_total")

    def __init__(self, device_id: int, metric: str, spec: DetectorSpec, detector: Detector):
        super().__init__(device_id, metric, spec, detector, ())
        n = len(spec.inputs)
        self._in_total = [0.0] * n
        self._in_count = [0] * n
        self._in_last = [math.nan] * n

    def observe(self, time: float, value: float) -> list[FaultEvent] | None:
        if time >= self.end and not self.count:
            self._reset_inputs()  # a window of inputs only: nothing to judge
        return super().observe(time, value)

    def observe_input(self, index: int, time: float, value: float) -> list[FaultEvent] | None:
        """A reading of input ``index`` (in ``spec.inputs``); None when late."""
        events: list[FaultEvent] = []
        if time >= self.end:
            if not math.isfinite(time):
                self.invalid += 1
                return None
            events = self._close() if self.count else []
            self._reset_inputs()
            window_s = self.spec.window_s
            self.start = start = time - time % window_s
            self.end = start + window_s
            self.total, self.count = 0.0, 0
        elif time < self.start:
            self.late += 1
            return None
        self._in_total[index] += value
        self._in_count[index] += 1
        return events

    def _close(self) -> list[FaultEvent]:
        for i, n in enumerate(self._in_count):
            if n:
                self._in_last[i] = self._in_total[i] / n
        self._reset_inputs()
        if not all(math.isfinite(v) for v in self._in_last):
            self.invalid += 1  # an input never seen yet: no relationship to judge
            return []
        detector = self.detector
        self.detector = _Given(detector, dict(zip(self.spec.inputs, self._in_last, strict=True)))
        try:
            return super()._close()
        finally:
            self.detector = detector

    def _reset_inputs(self) -> None:
        n = len(self._in_total)
        self._in_total = [0.0] * n
        self._in_count = [0] * n
