"""One (device, metric) under watch: window averaging, warm-up, hysteresis and evidence.

Readings are averaged over fixed windows of **device time**, ``spec.window_s`` long and
aligned to multiples of it since the epoch. A reading before the current window's start is
*late*: counted in :attr:`MetricMonitor.late` and otherwise ignored, so delayed or reordered
delivery never looks like a fault. Readings out of order *within* the current window count
normally. A reading at or after the window's end closes it: the mean is scored, then learned
(unless flagged), and a new window starts at that reading's window; empty windows in between
are skipped, not filled.

Lifecycle of one closed window (``spec`` is the catalog's :class:`DetectorSpec`):

1. The first ``warmup`` windows are learned and never flagged.
2. Afterwards a window with score >= ``threshold`` is anomalous and is **not** learned, so the
   detector does not learn the fault it reports; a normal window is learned.
3. ``open_after`` anomalous windows in a row open a fault (:class:`FaultOpened`, once);
   while it is open, ``clear_after`` normal windows in a row clear it
   (:class:`FaultCleared`). Opens and clears alternate, starting with an open.
4. A fault that has seen ``absorb_after`` anomalous windows is **absorbed**: what it shows has
   lasted long enough to be the device's new normal (a moved setpoint, a warmer room, a
   repair nobody recorded). It clears with ``absorbed=True``, the detector forgets its
   baseline (:meth:`Detector.reset`) and warms up again on the new level, so it neither
   stays flagged forever nor learns the fault as normal while it is being reported.

A fault's ``opened_at`` is the start of the first anomalous window of the run that opened
it; ``cleared_at`` is the start of the first normal window of the run that cleared it.

Each reading is also checked against the metric's hard limits (:mod:`.limits`), if it has
any: a limit held past its duration opens its own fault, with this monitor's recent windows
as evidence.

The per-reading path is two comparisons and two additions. A window whose mean is not finite
(a NaN or infinite reading slipped through validation) is dropped and counted in
:attr:`MetricMonitor.invalid`, never learned.
"""

from __future__ import annotations

import dataclasses
import math
from array import array

from devices.catalog import DetectorSpec
from devices.detection.base import Detector
from devices.detection.limits import LimitWatch
from devices.faults.model import FaultCleared, FaultEvent, FaultOpened, WindowSummary

EVIDENCE_WINDOWS = 24
"""Closed windows kept per monitor for a fault's evidence (2 hours at 5-minute windows)."""

_FIELDS = 4  # start, mean, count, score per window in the evidence ring


class MetricMonitor:
    """Watches one metric of one device; see the module docstring for the rules."""

    __slots__ = (
        "_anomalous_run",
        "_clear_start",
        "_normal_run",
        "_open_windows",
        "_ring",
        "_ring_len",
        "_ring_next",
        "_run_max",
        "_run_start",
        "count",
        "detector",
        "device_id",
        "end",
        "invalid",
        "is_open",
        "late",
        "limits",
        "metric",
        "spec",
        "start",
        "total",
    )

    def __init__(
        self,
        device_id: int,
        metric: str,
        spec: DetectorSpec,
        detector: Detector,
        limits: tuple[LimitWatch, ...] = (),
    ):
        self.device_id = device_id
        self.limits = limits
        self.metric = metric
        self.spec = spec
        self.detector = detector
        # The current window [start, end); -inf makes the first reading open a window.
        self.start = -math.inf
        self.end = -math.inf
        self.total = 0.0
        self.count = 0
        self.late = 0
        self.invalid = 0
        self.is_open = False
        self._anomalous_run = 0
        self._run_start = 0.0
        self._run_max = 0.0
        self._normal_run = 0
        self._clear_start = 0.0
        self._open_windows = 0
        self._ring = array("d", bytes(8 * _FIELDS * EVIDENCE_WINDOWS))
        self._ring_next = 0
        self._ring_len = 0

    def __setstate__(self, state: tuple[None, dict[str, object]]) -> None:
        """Restore a pickled monitor; one saved before a slot existed gets its default."""
        self._open_windows = 0
        self.limits = ()
        for name, value in state[1].items():
            setattr(self, name, value)

    def observe(self, time: float, value: float) -> list[FaultEvent] | None:
        """Take one reading (device time, UTC epoch s). Returns None if it was late (and
        ignored), else the events that closing a window caused (usually none)."""
        if time < self.end:
            if time >= self.start:
                self.total += value
                self.count += 1
                return self._watch_limits(time, value) if self.limits else []
            self.late += 1
            return None
        if not math.isfinite(time):  # +inf would start a window no reading can close
            self.invalid += 1
            return None
        events = self._close() if self.count else []
        window_s = self.spec.window_s
        self.start = start = time - time % window_s
        self.end = start + window_s
        self.total = value
        self.count = 1
        if self.limits:
            events += self._watch_limits(time, value)
        return events

    def _watch_limits(self, time: float, value: float) -> list[FaultEvent]:
        """The hard limits' events; an opened fault gets the recent windows as evidence."""
        events: list[FaultEvent] = []
        for watch in self.limits:
            for event in watch.observe(time, value):
                if isinstance(event, FaultOpened):
                    event = dataclasses.replace(event, evidence=self.recent())  # noqa: PLW2901
                events.append(event)
        return events

    def recent(self) -> tuple[WindowSummary, ...]:
        """The last closed windows (at most EVIDENCE_WINDOWS), oldest first."""
        ring, size = self._ring, EVIDENCE_WINDOWS
        first = (self._ring_next - self._ring_len) % size
        windows = []
        for k in range(self._ring_len):
            i = (first + k) % size * _FIELDS
            windows.append(WindowSummary(ring[i], ring[i + 1], int(ring[i + 2]), ring[i + 3]))
        return tuple(windows)

    def _close(self) -> list[FaultEvent]:
        mean = self.total / self.count
        if not math.isfinite(mean):
            self.invalid += 1
            return []
        start, spec, detector = self.start, self.spec, self.detector
        score = detector.score(mean, start)
        self._remember(start, mean, score)
        if detector.learned < spec.warmup:
            detector.learn(mean, start)
            return []
        if score >= spec.threshold:
            if self.is_open:
                self._open_windows += 1  # anomalous windows only: a recovery is not absorbed
                if self._open_windows >= spec.absorb_after:
                    return self._absorb(start)
            return self._anomalous(start, score)
        detector.learn(mean, start)
        return self._normal(start)

    def _absorb(self, start: float) -> list[FaultEvent]:
        self.detector.reset()
        self.is_open = False
        self._anomalous_run = self._normal_run = self._open_windows = 0
        return [FaultCleared(self.device_id, self.metric, self.detector.name, start, absorbed=True)]

    def _anomalous(self, start: float, score: float) -> list[FaultEvent]:
        self._normal_run = 0
        if self._anomalous_run == 0:
            self._run_start = start
            self._run_max = score
        elif score > self._run_max:
            self._run_max = score
        self._anomalous_run += 1
        if self.is_open or self._anomalous_run < self.spec.open_after:
            return []
        self.is_open = True
        self._open_windows = 0
        return [
            FaultOpened(
                device_id=self.device_id,
                metric=self.metric,
                detector=self.detector.name,
                score=self._run_max,
                threshold=self.spec.threshold,
                opened_at=self._run_start,
                evidence=self.recent(),
            )
        ]

    def _normal(self, start: float) -> list[FaultEvent]:
        self._anomalous_run = 0
        if not self.is_open:
            return []
        if self._normal_run == 0:
            self._clear_start = start
        self._normal_run += 1
        if self._normal_run < self.spec.clear_after:
            return []
        self.is_open = False
        self._normal_run = 0
        return [FaultCleared(self.device_id, self.metric, self.detector.name, self._clear_start)]

    def _remember(self, start: float, mean: float, score: float) -> None:
        ring, i = self._ring, self._ring_next * _FIELDS
        ring[i] = start
        ring[i + 1] = mean
        ring[i + 2] = self.count
        ring[i + 3] = score
        self._ring_next = (self._ring_next + 1) % EVIDENCE_WINDOWS
        if self._ring_len < EVIDENCE_WINDOWS:
            self._ring_len += 1
