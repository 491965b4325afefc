"""The detector port: what a monitor needs from an anomaly detector, and the factory.

A detector scores one value (a window mean) and learns it; a higher score is more anomalous
and a score is compared with the catalog's ``threshold``. The caller scores **then** learns,
and does not learn values it flags: :class:`~devices.detection.monitor.MetricMonitor` does
both. Scoring never changes a detector's state; learning does. Detectors give their state as
plain numbers (``state``), so it can be checkpointed per device.

``at`` is the start of the window the value summarises (UTC epoch seconds), for detectors
that model time of day; detectors that do not may ignore it.

Detector kinds are data (``detector.kind`` in ``catalog.toml``); :func:`make_detector` maps a
kind to its implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from devices.catalog import DetectorSpec
from devices.errors import UnknownDetectorKindError


class Detector(Protocol):
    @property
    def name(self) -> str:
        """The detector kind, as written in the catalog and recorded on faults."""
        ...

    @property
    def learned(self) -> int:
        """How many values the detector has learned."""
        ...

    def score(self, value: float, at: float) -> float:
        """A score in [0, SCORE_CAP] for ``value`` seen at ``at``; does not change state."""
        ...

    def learn(self, value: float, at: float) -> None:
        """Fold ``value`` seen at ``at`` into the model."""
        ...

    def learn_one(self, x: Mapping[str, float]) -> None:
        """river's interface for one stream: ``x = {"value": v, "t": epoch_seconds}``."""
        ...

    def score_one(self, x: Mapping[str, float]) -> float:
        """river's interface for one stream: the score of ``x``, as :meth:`score`."""
        ...

    def state(self) -> dict[str, Any]:
        """What was learned, as plain numbers and lists (a checkpoint's part); the class's
        ``from_state`` makes a detector from it (:mod:`devices.detection.checkpoint`)."""
        ...

    def reset(self) -> None:
        """Forget the learned baseline (a repaired part, a new normal): learn from scratch.

        What does not depend on the baseline's level (a daily shape) may be kept.
        """
        ...


DetectorFactory = Callable[[DetectorSpec, float], Detector]
"""(spec, min_std) -> a new detector; ``min_std`` floors the scale (0: no floor)."""


def detector_factories() -> Mapping[str, DetectorFactory]:
    """kind -> factory, for every kind :func:`make_detector` knows."""
    # Imported here: implementations import this module, and river is slow to import.
    from devices.detection.regression import RegressionDetector
    from devices.detection.standard_score import StandardScoreDetector

    return {
        StandardScoreDetector.kind: StandardScoreDetector.from_spec,
        RegressionDetector.kind: RegressionDetector.from_spec,
    }


def make_detector(spec: DetectorSpec, *, min_std: float = 0.0) -> Detector:
    """A fresh detector for ``spec``; an unknown ``spec.kind`` raises UnknownDetectorKindError."""
    factories = detector_factories()
    try:
        factory = factories[spec.kind]
    except KeyError:
        raise UnknownDetectorKindError(
            f"unknown detector kind {spec.kind!r}; known kinds: {', '.join(sorted(factories))}"
        ) from None
    return factory(spec, min_std)
