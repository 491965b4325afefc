"""What the diagnosis found about a fault: the probable cause, the part, the urgency. Pure.

Kept apart from :mod:`devices.diagnosis` (which computes it from the catalog) so that the
fault entity and the events can carry it without importing the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

Confidence = Literal["high", "medium", "low", "none"]


@dataclass(frozen=True, slots=True)
class Urgency:
    """Estimated hours until the health indicator reaches its failure line (None when there
    is no trend toward it), how much to trust it, and the sentence that says so."""

    hours_to_failure: float | None
    confidence: Confidence
    note: str


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The probable cause (``cause`` "" when no signature fits), the part to bring ("" for
    none), whether a visit is the first step, what to do, what a self-clearing most likely
    means, the signature it was read from, the time to failure, and what the customer can
    do (their heads-up's words; "" when nothing)."""

    cause: str
    label: str
    part: str
    visit: bool
    advice: str
    cleared_hint: str
    signature: tuple[str, ...]
    urgency: Urgency
    customer_advice: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "cause": self.cause,
            "label": self.label,
            "part": self.part,
            "visit": self.visit,
            "advice": self.advice,
            "cleared_hint": self.cleared_hint,
            "signature": list(self.signature),
            "hours_to_failure": _round(self.urgency.hours_to_failure),
            "confidence": self.urgency.confidence,
            "urgency_note": self.urgency.note,
            "customer_advice": self.customer_advice,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Diagnosis:
        hours = data.get("hours_to_failure")
        confidence = str(data.get("confidence", "none"))
        return cls(
            cause=str(data.get("cause", "")),
            label=str(data.get("label", "")),
            part=str(data.get("part", "")),
            visit=bool(data.get("visit", True)),
            advice=str(data.get("advice", "")),
            cleared_hint=str(data.get("cleared_hint", "")),
            signature=tuple(str(s) for s in _sequence(data.get("signature"))),
            urgency=Urgency(
                float(hours) if isinstance(hours, int | float) else None,
                cast(Confidence, confidence if confidence in ("high", "medium", "low") else "none"),
                str(data.get("urgency_note", "")),
            ),
            customer_advice=str(data.get("customer_advice", "")),
        )


def _sequence(value: object) -> Sequence[object]:
    return value if isinstance(value, list | tuple) else ()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
