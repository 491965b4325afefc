"""The standard-score detector: how far a window mean lies from its expected value.

The expected value for a window starting at ``at`` is a slowly adapting **level** (river
``stats.EWMean`` with ``fading_factor = spec.adapt``) plus an **hour-of-day profile** (24
bins of UTC hour, each an exponentially weighted mean of what the level does not explain).
The score is the **standard absolute deviation of the residual** (value - expected), computed
by river's ``anomaly.StandardAbsoluteDeviation`` over every residual learned so far.

Why residuals and a daily profile rather than ``StandardAbsoluteDeviation`` on the raw values
(measured on the catalog's refrigerator cabinet temperature: 5-minute windows, a 0.4 °C daily
cycle, 0.25 °C noise, threshold 4, three windows to open):

* On raw values the variance is taken around the all-time mean, so a slow drift inflates it
  as it is learned: a 3 °C rise over 12 hours was missed by 100 of 100 seeded runs.
* Without the daily profile the daily cycle is most of the spread, so 4 standard deviations
  is about 1.1 °C, and the same rise was still missed by 89 of 100 runs.
* With both, every run detected it 1.75-4 hours into the rise, and seven days of normal data
  opened no fault in any run.

A profile bin not seen yet borrows the nearest earlier bin, so a window in a new hour of the
first day is not compared with a cycle the detector has never seen.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from devices.catalog import DetectorSpec
from devices.detection.ewstats import EWMean
from devices.detection.river_state import sad_from, sad_state

HOURS_PER_DAY = 24
_SECONDS_PER_BIN = 86400.0 / HOURS_PER_DAY
# A profile bin averages its first visits equally, then forgets at this rate per visit (12
# visits a day at 5-minute windows: a memory of a few days).
PROFILE_ADAPT = 0.02
_VISITS_CAP = 1 << 30
# river's StandardAbsoluteDeviation divides by (std + this); undone when min_std applies.
_RIVER_EPSILON = 1e-10
SCORE_CAP = 100.0
"""Scores stop here: 100 standard deviations is off the scale whatever lies beyond, and a
bounded score stays comparable between metrics, devices and faults (a metric that was
almost constant once scored 10^18 on its next small change)."""
RELATIVE_MIN_STD = 1e-3
"""With no ``min_std`` given, the spread is floored at this share of the level's size (and
at least 1e-9), so that a constant stream has a scale to be scored against."""


class StandardScoreDetector:
    """Standard score of a window mean against a level plus an hour-of-day profile.

    ``adapt`` is the level's fading factor (closer to 1 follows the data faster);
    ``min_std`` floors the residual standard deviation, so that a metric that has been
    perfectly constant does not turn the next tiny change into a huge score (without it,
    :data:`RELATIVE_MIN_STD` of the level does); scores are capped at :data:`SCORE_CAP`.

    The score is 0.0 until three values are learned (no spread is known before that).

    >>> import math, random
    >>> rng = random.Random(42)
    >>> detector = StandardScoreDetector(adapt=0.01)
    >>> start = 1_700_006_400  # midnight UTC
    >>> def cabinet(at: float) -> float:  # 4 °C, a daily cycle, sensor noise
    ...     return 4.0 + 0.4 * math.sin(2 * math.pi * at / 86400) + rng.gauss(0, 0.1)
    >>> for i in range(2 * 288):  # two days of 5-minute window means
    ...     at = start + 300 * i
    ...     value = cabinet(at)
    ...     score = detector.score(value, at)  # score first...
    ...     detector.learn(value, at)  # ...then learn
    >>> detector.learned
    576
    >>> at = start + 2 * 86400 + 6 * 3600  # 06:00, the warm peak of the cycle
    >>> round(detector.score(4.4, at), 1)  # normal for that hour
    0.4
    >>> round(detector.score(5.4, at), 1)  # one degree too warm
    9.5
    >>> detector.score(5.4, at) == detector.score(5.4, at)  # scoring changes nothing
    True
    """

    kind: ClassVar[str] = "standard_score"
    __slots__ = ("_level", "_min_std", "_profile", "_residuals", "_visits", "learned")

    _level: EWMean
    _residuals: Any  # river.anomaly.StandardAbsoluteDeviation
    _profile: array[float]
    _visits: array[int]
    _min_std: float
    learned: int

    def __init__(self, adapt: float, *, min_std: float = 0.0) -> None:
        # river takes about two seconds to import; only processes that detect pay for it.
        from river import anomaly, stats

        if not 0.0 < adapt <= 1.0:
            raise ValueError(f"adapt must be in (0, 1], got {adapt!r}")
        if not (math.isfinite(min_std) and min_std >= 0.0):
            raise ValueError(f"min_std must be finite and >= 0, got {min_std!r}")
        self._level = EWMean(adapt)
        self._residuals = anomaly.StandardAbsoluteDeviation(sub_stat=stats.Mean())
        self._profile = array("d", bytes(8 * HOURS_PER_DAY))
        self._visits = array("I", bytes(4 * HOURS_PER_DAY))
        self._min_std = min_std
        self.learned = 0

    @classmethod
    def from_spec(cls, spec: DetectorSpec, min_std: float = 0.0) -> Self:
        return cls(spec.adapt, min_std=min_std)

    @property
    def name(self) -> str:
        return self.kind

    def expected(self, at: float) -> float:
        """The value the detector expects for a window starting at ``at``."""
        return float(self._level.get()) + self._season(at)

    def score(self, value: float, at: float) -> float:
        if self.learned < 3:
            return 0.0
        level = float(self._level.get())
        residual = value - level - self._season(at)
        score = float(self._residuals.score_one(None, residual))
        floor = self._min_std or max(abs(level) * RELATIVE_MIN_STD, 1e-9)
        std = float(self._residuals.variance.get()) ** 0.5
        if std < floor:
            score *= (std + _RIVER_EPSILON) / floor
        return min(score, SCORE_CAP)

    # river's anomaly-detector interface, for use outside the pipeline on one stream.

    def learn_one(self, x: Mapping[str, float]) -> None:
        """:meth:`learn` with river's signature: ``x = {"value": v, "t": epoch_seconds}``;
        without ``"t"`` every value counts as seen at midnight (no daily profile)."""
        self.learn(float(x["value"]), float(x.get("t", 0.0)))

    def score_one(self, x: Mapping[str, float]) -> float:
        """:meth:`score` with river's signature (see :meth:`learn_one`).

        >>> detector = StandardScoreDetector(adapt=0.05)
        >>> for i in range(100):
        ...     detector.learn_one({"value": 20.0 + (0.1 if i % 2 else -0.1)})
        >>> round(detector.score_one({"value": 20.0}), 1)
        0.1
        >>> round(detector.score_one({"value": 25.0}))
        47
        """
        return self.score(float(x["value"]), float(x.get("t", 0.0)))

    def reset(self) -> None:
        """Forget the level and the spread of residuals; keep the hour-of-day profile (the
        daily shape does not move with the level)."""
        from river import anomaly, stats

        self._level = EWMean(self._level.fading_factor)
        self._residuals = anomaly.StandardAbsoluteDeviation(sub_stat=stats.Mean())
        self.learned = 0

    def state(self) -> dict[str, Any]:
        """What was learned, as plain numbers (:mod:`devices.detection.checkpoint`)."""
        level = self._level
        return {
            "adapt": level.fading_factor,
            "min_std": self._min_std,
            "learned": self.learned,
            "level": [level.mean, level.seen],
            "residuals": sad_state(self._residuals),
            "profile": list(self._profile),
            "visits": list(self._visits),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """A detector holding ``state`` (from :meth:`state`); ValueError if malformed."""
        detector = cls(float(state["adapt"]), min_std=float(state["min_std"]))
        mean, seen = state["level"]
        detector._level = EWMean(detector._level.fading_factor, float(mean), seen=bool(seen))
        detector._residuals = sad_from(state["residuals"])
        profile, visits = state["profile"], state["visits"]
        if len(profile) != HOURS_PER_DAY or len(visits) != HOURS_PER_DAY:
            raise ValueError("an hour-of-day profile has 24 bins")
        detector._profile = array("d", (float(v) for v in profile))
        detector._visits = array("I", (int(v) for v in visits))
        detector.learned = int(state["learned"])
        return detector

    def learn(self, value: float, at: float) -> None:
        if not math.isfinite(value):
            raise ValueError(f"cannot learn a non-finite value: {value!r}")
        hour = int(at % 86400.0 // _SECONDS_PER_BIN)
        season = self._season(at)
        if self.learned:  # the first value only places the level; it has no residual
            self._residuals.learn_one(None, value - float(self._level.get()) - season)
        self._level.update(value - season)
        visits = min(self._visits[hour] + 1, _VISITS_CAP)
        self._visits[hour] = visits
        rate = max(PROFILE_ADAPT, 1.0 / visits)
        self._profile[hour] = season + rate * (value - float(self._level.get()) - season)
        self.learned += 1

    def _season(self, at: float) -> float:
        hour = int(at % 86400.0 // _SECONDS_PER_BIN)
        if self._visits[hour]:
            return self._profile[hour]
        for back in range(1, HOURS_PER_DAY):  # first day only: borrow the latest hour seen
            earlier = hour - back
            if self._visits[earlier]:  # negative indexes wrap around midnight
                return self._profile[earlier]
        return 0.0
