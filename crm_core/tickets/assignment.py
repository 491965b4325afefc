"""Which technician to send: skill, distance from their home base to the install site
(haversine), and how many live tickets they already carry. Pure; the why is kept.

A technician without a required skill is never suggested first; among the qualified,
the cost is the distance plus a distance-equivalent per live ticket (a setting; 25 km by
default: one more ticket in the queue weighs like a 25 km longer drive). A technician or
site without coordinates has an unknown distance and comes after those with one.

>>> site = (52.52, 13.40)  # Berlin
>>> near = Candidate(1, "Anna", frozenset({"refrigerator"}), (52.50, 13.45), 3)
>>> far = Candidate(2, "Ben", frozenset({"refrigerator"}), (53.55, 9.99), 0)
>>> unskilled = Candidate(3, "Cem", frozenset({"washing_machine"}), (52.52, 13.40), 0)
>>> [(s.technician_id, s.why) for s in rank([far, unskilled, near], {"refrigerator"}, site)]
... # doctest: +NORMALIZE_WHITESPACE
[(1, 'skills refrigerator; 4.0 km from the site; 3 live tickets'),
 (2, 'skills refrigerator; 255.1 km from the site; 0 live tickets'),
 (3, 'lacks refrigerator; 0.0 km from the site; 0 live tickets')]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
KM_PER_LIVE_TICKET = 25.0


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(frozen=True, slots=True)
class Candidate:
    technician_id: int
    name: str
    skills: frozenset[str]
    home: tuple[float, float] | None
    live_tickets: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    technician_id: int
    name: str
    qualified: bool
    distance_km: float | None
    live_tickets: int
    cost: float | None
    why: str


def rank(
    candidates: Iterable[Candidate],
    required: set[str] | frozenset[str],
    site: tuple[float, float] | None,
    km_per_ticket: float = KM_PER_LIVE_TICKET,
) -> list[Suggestion]:
    """The candidates, best first, each with the reasons."""
    out: list[Suggestion] = []
    for c in candidates:
        missing = sorted(set(required) - c.skills)
        distance = haversine_km(c.home, site) if c.home and site else None
        cost = None if distance is None else distance + km_per_ticket * c.live_tickets
        skill_text = (
            f"lacks {', '.join(missing)}"
            if missing
            else f"skills {', '.join(sorted(required)) or 'any'}"
        )
        where = "distance unknown" if distance is None else f"{distance:.1f} km from the site"
        plural = "" if c.live_tickets == 1 else "s"
        why = f"{skill_text}; {where}; {c.live_tickets} live ticket{plural}"
        out.append(
            Suggestion(c.technician_id, c.name, not missing, distance, c.live_tickets, cost, why)
        )
    out.sort(
        key=lambda s: (
            not s.qualified,
            s.cost is None,
            s.cost if s.cost is not None else s.live_tickets,
            s.name,
        )
    )
    return out
