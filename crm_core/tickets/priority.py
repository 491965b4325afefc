"""Priority = impact x urgency (conventions §4.1), with the reasons kept for the ticket.

* **Impact** starts from the fault's severity (high, medium, low); a premium contract
  raises it one level (the customer pays for faster help, like a VIP); **safety** (a
  food-safety limit held, a fire or refrigerant risk) forces P1 whatever the matrix says.
* **Urgency** comes from the time-to-failure estimate when the fault carries one
  (``hours_to_failure``: under a day is high, under a week medium, longer low, as the
  alerts rules word it), and falls
  back to the detector's own urgency, then to the severity.

>>> assess("medium", tier="premium", hours_to_failure=10).priority
1
>>> a = assess("medium", tier="basic", hours_to_failure=200)
>>> (a.impact, a.urgency, a.priority)
('medium', 'low', 4)
>>> assess("low", safety=True).priority, assess("low", safety=True).reasons[-1]
(1, 'safety risk: forced to P1')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

Level = Literal["high", "medium", "low"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)

# (impact, urgency) -> priority 1 (critical) .. 4 (low)
MATRIX: Final[dict[tuple[Level, Level], int]] = {
    ("high", "high"): 1,
    ("high", "medium"): 2,
    ("high", "low"): 3,
    ("medium", "high"): 2,
    ("medium", "medium"): 3,
    ("medium", "low"): 4,
    ("low", "high"): 3,
    ("low", "medium"): 4,
    ("low", "low"): 4,
}
URGENT_HOURS: Final = 24.0
SOON_HOURS: Final = 7 * 24.0


@dataclass(frozen=True, slots=True)
class Assessment:
    impact: Level
    urgency: Level
    priority: int
    reasons: tuple[str, ...]


def _raise(level: Level) -> Level:
    return LEVELS[max(LEVELS.index(level) - 1, 0)]


def urgency_from_hours(hours: float) -> Level:
    if hours < URGENT_HOURS:
        return "high"
    return "medium" if hours < SOON_HOURS else "low"


def assess(
    severity: Level,
    *,
    safety: bool = False,
    tier: str = "none",
    hours_to_failure: float | None = None,
    urgency_hint: Level | None = None,
) -> Assessment:
    """The priority of a ticket and why."""
    if severity not in LEVELS:
        raise ValueError(f"severity is one of {', '.join(LEVELS)}, not {severity!r}")
    if hours_to_failure is not None and hours_to_failure < 0:
        raise ValueError("hours_to_failure cannot be negative")
    reasons = [f"severity {severity}"]
    impact = severity
    if tier == "premium":
        impact = _raise(impact)
        reasons.append(f"premium contract: impact raised to {impact}")
    if hours_to_failure is not None:
        urgency = urgency_from_hours(hours_to_failure)
        reasons.append(f"expected to fail in {hours_to_failure:.0f} h: urgency {urgency}")
    elif urgency_hint is not None:
        urgency = urgency_hint
        reasons.append(f"detector urgency {urgency}")
    else:
        urgency = severity
        reasons.append(f"no time-to-failure estimate: urgency {urgency} from severity")
    priority = MATRIX[(impact, urgency)]
    if safety:
        priority = 1
        reasons.append("safety risk: forced to P1")
    return Assessment(impact, urgency, priority, tuple(reasons))
