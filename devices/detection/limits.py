"""Hard limits with durations: "cabinet above 8 °C for 20 minutes" is a fault, whatever was
learned.

The catalog gives each limit per metric (``limits = [{ above = 8.0, for_s = 1200 }]``);
a service team reads them as they are written, and they hold from a device's first reading,
before any learned detector has warmed up. The duration runs in device time from the first
reading past the limit; a reading back within it restarts the count, and so does a silence
longer than half the duration (a door seen open before an hour without data and open again
after it was not seen open for an hour). An open fault clears
after ``clear_s`` seconds back within the limit. A reading older than the last one seen
(late, or out of order) is ignored.

>>> from devices.catalog import HardLimit
>>> watch = LimitWatch(7, "cabinet_temp", HardLimit(8.0, True, 1200, 600))
>>> [watch.observe(t, 9.0) for t in (0, 600)]
[[], []]
>>> [type(e).__name__ for e in watch.observe(1200, 9.5)]
['FaultOpened']
>>> watch.observe(1500, 7.0), [e.cleared_at for e in watch.observe(2100, 7.0)]
([], [1500])
"""

from __future__ import annotations

from devices.catalog import HardLimit
from devices.faults.model import FaultCleared, FaultEvent, FaultOpened

MAX_SILENCE_SHARE = 0.5
"""A gap between two readings past the limit longer than this share of its duration
restarts the count."""


class LimitWatch:
    """One hard limit of one metric of one device."""

    __slots__ = (
        "back_since",
        "device_id",
        "is_open",
        "last",
        "limit",
        "metric",
        "since",
        "worst",
    )

    def __init__(self, device_id: int, metric: str, limit: HardLimit) -> None:
        self.device_id = device_id
        self.metric = metric
        self.limit = limit
        self.since: float | None = None  # first reading past the limit in the current run
        self.back_since: float | None = None  # first reading back within, while open
        self.worst = 0.0
        self.is_open = False
        self.last = float("-inf")

    def observe(self, time: float, value: float) -> list[FaultEvent]:
        if time < self.last:  # out of order within the monitor's window: not a new state
            return []
        limit = self.limit
        if self.since is not None and time - self.last > limit.for_s * MAX_SILENCE_SHARE:
            self.since = None  # silent too long to say it stayed past the limit: start over
        self.last = time
        if value > limit.value if limit.above else value < limit.value:
            self.back_since = None
            if self.since is None:
                self.since, self.worst = time, value
            elif (value > self.worst) if limit.above else (value < self.worst):
                self.worst = value
            if self.is_open or time - self.since < limit.for_s:
                return []
            self.is_open = True
            return [
                FaultOpened(
                    device_id=self.device_id,
                    metric=self.metric,
                    detector=limit.detector,
                    score=self.worst,
                    threshold=limit.value,
                    opened_at=self.since,
                    evidence=(),
                )
            ]
        self.since = None
        if not self.is_open:
            return []
        if self.back_since is None:
            self.back_since = time
        if time - self.back_since < limit.clear_s:
            return []
        self.is_open = False
        cleared_at, self.back_since = self.back_since, None
        return [FaultCleared(self.device_id, self.metric, limit.detector, cleared_at)]
