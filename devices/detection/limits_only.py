"""The "detector" of a metric watched by hard limits alone (a door switch): nothing learned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Self

from devices.catalog import DetectorSpec

LIMITS_ONLY: Final = DetectorSpec(
    kind="limits_only",
    window_s=300.0,
    threshold=float("inf"),
    warmup=2,
    open_after=1,
    clear_after=1,
    adapt=1.0,
    absorb_after=1,
)
"""The windows of a metric watched by hard limits alone: nothing learned."""


class NoDetector:
    """Scores nothing: a metric with limits and no learned detector."""

    __slots__ = ("learned",)
    name = LIMITS_ONLY.kind

    def __init__(self) -> None:
        self.learned = 0

    def score(self, value: float, at: float) -> float:
        return 0.0

    def learn(self, value: float, at: float) -> None:
        self.learned = min(self.learned + 1, LIMITS_ONLY.warmup)

    def learn_one(self, x: Mapping[str, float]) -> None:
        self.learn(float(x["value"]), 0.0)

    def score_one(self, x: Mapping[str, float]) -> float:
        return 0.0

    def reset(self) -> None:
        self.learned = 0

    def state(self) -> dict[str, Any]:
        return {"learned": self.learned}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Self:
        detector = cls()
        detector.learned = int(state["learned"])
        return detector
