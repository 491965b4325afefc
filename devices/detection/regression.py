"""The regression detector: a metric judged against the other metrics it should follow.

An online linear regression predicts the value from its **inputs** (other metrics of the
device, window means: a fridge's compressor power from its duty cycle and cabinet
temperature); the score is the standard score of the **residual** (value - prediction)
against an exponentially weighted spread of recent residuals: the same scale as
:class:`~devices.detection.standard_score.StandardScoreDetector` (threshold 4-5 means "this
far off"), floored by ``min_std``, capped at :data:`SCORE_CAP`.

The model is river's ``preprocessing.StandardScaler() | TargetStandardScaler(
linear_model.LinearRegression())``. Why this one:

* features (W, °C, a 0-1 ratio) and the target are on very different scales; scaling both
  with running statistics makes one learning rate fit every metric, and the intercept does
  not have to crawl from 0 to 95 W;
* SGD is O(features) per window and its state is a few numbers per feature: constant size,
  cheap to checkpoint with the device. ``BayesianLinearRegression`` (exact, no learning
  rate) was the other candidate, but its prediction writes a cache (scoring would change
  the checkpoint) and its drift handling inverts a matrix on every update.

The residual spread is an exponentially weighted variance (``stats.EWVar`` with fading
factor ``adapt``), not the all-time one: the first windows, learned while the regression
still converges, must not inflate the scale forever.

Without inputs (one stream through :meth:`learn_one` / :meth:`score_one` with only
``value`` and ``t``) the regression is its intercept: a standard score around a running
level. In the pipeline, :class:`~devices.detection.relation.RelationMonitor` passes the
window means of the inputs.

>>> import random
>>> rng = random.Random(7)
>>> detector = RegressionDetector(adapt=0.01)
>>> for i in range(600):  # power follows the duty cycle: 210 W running, noise 2 W
...     duty = 0.45 + 0.05 * rng.uniform(-1, 1)
...     detector.learn_one({"value": 210 * duty + rng.gauss(0, 2), "duty_cycle": duty})
>>> detector.score_one({"value": 210 * 0.60, "duty_cycle": 0.60}) < 2  # longer runs: fine
True
>>> detector.score_one({"value": 1.3 * 210 * 0.50, "duty_cycle": 0.50}) > 5  # works harder
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from devices.catalog import DetectorSpec
from devices.detection.ewstats import EWVar
from devices.detection.river_state import (
    fill_regression,
    fill_scaler,
    mean_from,
    mean_state,
    regression_state,
    scaler_state,
    var_from,
    var_state,
)
from devices.detection.standard_score import RELATIVE_MIN_STD, SCORE_CAP

HUBER_EPSILON = 0.5
"""Huber loss threshold, in standard deviations of the target: windows further off than
this move the regression by a bounded step, so a fault that grows slowly (a compressor
wearing out over hours) is not learned as the new relationship on its way up."""
ROBUST_SKIP = 2.5
"""A value whose residual lies beyond this many standard deviations (after the first
``1 / adapt`` values, while the regression converges) does not update the spread, and
teaches the regression only a **winsorised** target: the prediction plus this many
deviations, one bounded step (on top of the Huber loss). A fault that grows slowly must not
widen the scale on its way past the threshold (with the residuals clipped at 3 sd and
learned into the spread, the spread doubled every 1.5 h on a wearing compressor and it was
never flagged), nor be learned as the new relationship: a bounded step follows it by a few
per cent of the target's spread an hour. But a window beyond it is not ignored either: when
these values were skipped outright, a regression that lagged at the end of its warm-up (a
heat pump's power fitted on a mild first day, then a colder night) never caught up and
stayed off until the fault was absorbed. Windows that score above the monitor's threshold
are not learned at all (:mod:`devices.detection.monitor`). A lasting change opens a fault
and is absorbed like any other (``absorb_after``, then :meth:`RegressionDetector.reset`)."""
EDGE_Z = 3.0
"""An input further than this many of its standard deviations from its mean (river's
``StandardScaler`` statistics of what was learned) is beyond the inputs the regression
knows: a heat pump fitted on a mild first day (outdoor 2-11 °C) meets a colder spell, and
its slope, judged from a narrow range, is extrapolated. There the score's scale widens by
:data:`EXTRAPOLATION_DOUBT`. (Three, not less: a fridge's duty cycle is near-normal and
lies beyond two deviations in one window of twenty, and those are not extrapolations.)"""
EXTRAPOLATION_DOUBT = 0.5
"""How far the prediction may be off per input standard deviation beyond :data:`EDGE_Z`,
as a share of the target's standard deviation (the slope an input that explained all of
the target's spread would have); added in quadrature to the residual spread. A fault moves
the value by many residual spreads, more than this doubt; a slope misjudged from a day of
mild weather moves it by a fraction of the target's spread."""


class _Settling:
    """SGD step ``max(floor, 1 / (t + 2))``: a running least-squares fit at first (so it
    converges within the warm-up), then the slow constant ``floor`` (so it follows drift,
    not faults). river's optimisers take any object with ``get(t)`` as a schedule."""

    __slots__ = ("floor",)

    def __init__(self, floor: float) -> None:
        self.floor = floor

    def get(self, t: int) -> float:
        return max(self.floor, 1.0 / (t + 2))


_NOT_FEATURES = frozenset({"value", "t"})


def features_of(x: Mapping[str, float]) -> dict[str, float]:
    """The inputs in a river-style ``x``: every key but ``value`` and ``t``."""
    return {k: float(v) for k, v in x.items() if k not in _NOT_FEATURES}


class RegressionDetector:
    """Standard score of the residual of an online linear regression on the inputs.

    ``adapt`` is the slowest SGD step (see :class:`_Settling`) and the residual spread's
    fading factor: 0.005 is slow enough that a compressor wearing out over six hours is
    not learned on the way. ``min_std`` floors that spread, as for the standard-score
    detector. The score is 0.0 until three values are learned.
    """

    kind: ClassVar[str] = "regression"
    __slots__ = ("_adapt", "_min_std", "_model", "_residuals", "_target", "learned")

    _model: Any  # river compose.Pipeline
    _residuals: EWVar
    _target: Any  # river stats.Mean of the target, to floor the spread by its size

    def __init__(self, adapt: float, *, min_std: float = 0.0) -> None:
        if not 0.0 < adapt <= 1.0:
            raise ValueError(f"adapt must be in (0, 1], got {adapt!r}")
        if not (math.isfinite(min_std) and min_std >= 0.0):
            raise ValueError(f"min_std must be finite and >= 0, got {min_std!r}")
        self._adapt = adapt
        self._min_std = min_std
        self.learned = 0
        self._fresh()

    def _fresh(self) -> None:
        # river takes about two seconds to import; only processes that detect pay for it.
        from river import linear_model, optim, preprocessing, stats

        rate: Any = _Settling(self._adapt)  # duck-typed: river calls only ``get(t)``
        regression = linear_model.LinearRegression(
            optimizer=optim.SGD(rate),
            intercept_lr=rate,
            l2=0.0,
            loss=optim.losses.Huber(epsilon=HUBER_EPSILON),
        )
        self._model = preprocessing.StandardScaler() | preprocessing.TargetStandardScaler(
            regression
        )
        self._residuals = EWVar(self._adapt)
        self._target = stats.Mean()

    @classmethod
    def from_spec(cls, spec: DetectorSpec, min_std: float = 0.0) -> Self:
        return cls(spec.adapt, min_std=min_std)

    @property
    def name(self) -> str:
        return self.kind

    def predict(self, features: Mapping[str, float]) -> float:
        """The value the inputs call for."""
        return float(self._model.predict_one(dict(features)))

    def score_features(self, value: float, features: Mapping[str, float]) -> float:
        if self.learned < 3:
            return 0.0
        residual = value - self.predict(features)
        std = max(float(self._residuals.get()) ** 0.5, self._floor())
        doubt = self._doubt(features)
        score = abs(residual) / math.hypot(std, doubt)
        return min(score, SCORE_CAP) if math.isfinite(score) else SCORE_CAP

    def _beyond_edge(self, features: Mapping[str, float]) -> float:
        """How far the furthest input lies beyond :data:`EDGE_Z`, in its standard
        deviations (0.0 inside)."""
        scaler = self._model.steps["StandardScaler"]
        far = 0.0
        for key, x in features.items():
            var = float(scaler.vars.get(key, 0.0))
            if var > 0.0:
                z = abs(x - float(scaler.means.get(key, 0.0))) / var**0.5
                far = max(far, z - EDGE_Z)
        return far

    def _doubt(self, features: Mapping[str, float]) -> float:
        """The extra uncertainty of a prediction made near or past the edge of the inputs
        learned (see :data:`EXTRAPOLATION_DOUBT`)."""
        far = self._beyond_edge(features)
        if not far:
            return 0.0
        target_var = float(self._model.steps["TargetStandardScaler"].var.get())
        return EXTRAPOLATION_DOUBT * far * math.sqrt(max(target_var, 0.0))

    def _floor(self) -> float:
        return self._min_std or max(abs(float(self._target.get())) * RELATIVE_MIN_STD, 1e-9)

    def learn_features(self, value: float, features: Mapping[str, float]) -> None:
        if not math.isfinite(value) or not all(math.isfinite(v) for v in features.values()):
            raise ValueError(f"cannot learn a non-finite value: {value!r} {dict(features)!r}")
        x = dict(features)
        if self.learned:  # the first value has no prediction worth a residual
            residual = value - float(self._model.predict_one(x))
            bound = ROBUST_SKIP * max(float(self._residuals.get()) ** 0.5, self._floor())
            if self.learned * self._adapt >= 1.0 and abs(residual) > bound:
                # one bounded step towards it; the spread is left alone
                value = value - residual + math.copysign(bound, residual)
            else:
                self._residuals.update(residual)
        self._model.learn_one(x, value)
        self._target.update(value)
        self.learned += 1

    # The monitor's interface (one value per window; no inputs: the intercept only).

    def score(self, value: float, at: float) -> float:
        return self.score_features(value, {})

    def learn(self, value: float, at: float) -> None:
        self.learn_features(value, {})

    # river's anomaly-detector interface: x = {"value": v, "t": epoch_s, input: value...}.

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Learn ``x["value"]`` against the other keys of ``x`` (``t`` is ignored)."""
        self.learn_features(float(x["value"]), features_of(x))

    def score_one(self, x: Mapping[str, float]) -> float:
        """The score of ``x["value"]`` given the other keys of ``x``; changes nothing."""
        return self.score_features(float(x["value"]), features_of(x))

    def state(self) -> dict[str, Any]:
        """What was learned, as plain numbers (:mod:`devices.detection.checkpoint`)."""
        steps = self._model.steps
        scaled = steps["TargetStandardScaler"]
        residuals = self._residuals
        return {
            "adapt": self._adapt,
            "min_std": self._min_std,
            "learned": self.learned,
            "inputs": scaler_state(steps["StandardScaler"]),
            "target_scale": var_state(scaled.var),
            "regression": regression_state(scaled.regressor),
            "residuals": [residuals.mean, residuals.sq_mean, residuals.seen],
            "target": mean_state(self._target),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        """A detector holding ``state`` (from :meth:`state`); ValueError if malformed."""
        detector = cls(float(state["adapt"]), min_std=float(state["min_std"]))
        steps = detector._model.steps
        fill_scaler(steps["StandardScaler"], state["inputs"])
        scaled = steps["TargetStandardScaler"]
        scaled.var = var_from(state["target_scale"])
        fill_regression(scaled.regressor, state["regression"])
        mean, sq_mean, seen = state["residuals"]
        detector._residuals = EWVar(detector._adapt, float(mean), float(sq_mean), seen=bool(seen))
        detector._target = mean_from(state["target"])
        detector.learned = int(state["learned"])
        return detector

    def reset(self) -> None:
        """Forget the relationship and the residual spread: learn from scratch."""
        self.learned = 0
        self._fresh()
