"""Judging one leg's logger readings against one product's labelled range (pure).

What is measured (conventions §2.2): each single excursion (a contiguous run out of range),
the cumulative time out of range (TOR), min/max/mean, the MKT terms, door-open time, and
gaps where the logger was silent. Each reading stands for the time until the next one,
capped at ``gap_after_s`` (a longer silence is a gap, not time in or out of range); the
last stands for one reporting interval. The whole series is judged every time, so late and
out-of-order uploads are judged as if they had arrived on time.

>>> p = ProductRange(2.0, 8.0, single_limit_min=30, budget_min=60)
>>> temps = [(i * 300.0, 12.0 if 6 <= i < 14 else 5.0) for i in range(24)]
>>> ev = evaluate(p, temps, [], interval_s=300)
>>> ev.tor_min, ev.breached
(40.0, ('single', 'mkt'))
>>> [(x.kind, x.minutes, x.peak) for x in ev.excursions]
[('high', 40.0, 12.0)]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from crm_core.traceability.mkt import MktTerms

Series = Sequence[tuple[float, float]]  # (epoch seconds, value), any order


@dataclass(frozen=True, slots=True)
class ProductRange:
    range_min: float
    range_max: float
    single_limit_min: int
    budget_min: int
    frozen: bool = False  # MKT is not applicable to frozen products (USP <1079.2>)


@dataclass(frozen=True, slots=True)
class Excursion:
    kind: str  # high | low | door_open | logger_gap
    start: float
    end: float
    minutes: float
    peak: float | None
    breaches_rule: bool


@dataclass(frozen=True, slots=True)
class Evaluation:
    readings: int
    first: float | None
    last: float | None
    min_temp: float | None
    max_temp: float | None
    mean_temp: float | None
    mkt: MktTerms
    tor_min: float
    longest_min: float
    door_open_min: float
    excursions: tuple[Excursion, ...]
    breached: tuple[str, ...]


def _weights(times: Sequence[float], interval_s: float, gap_after_s: float) -> list[float]:
    out = [
        min(b - a, gap_after_s) if b - a <= gap_after_s else 0.0
        for a, b in itertools.pairwise(times)
    ]
    out.append(interval_s)
    return out


def _runs(
    points: Sequence[tuple[float, float]], weights: Sequence[float], test: str, p: ProductRange
) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, (_, value) in enumerate(points):
        out = (
            value > p.range_max
            if test == "high"
            else value < p.range_min
            if test == "low"
            else value >= 0.5
        )
        if out and start is None:
            start = i
        if start is not None and (not out or (weights[i] == 0.0 and i + 1 < len(points))):
            end = i if out else i - 1
            runs.append((start, end))
            start = None
    if start is not None:
        runs.append((start, len(points) - 1))
    return runs


def evaluate(
    product: ProductRange,
    temperatures: Series,
    doors: Series,
    *,
    interval_s: float,
    gap_after_s: float | None = None,
) -> Evaluation:
    """The leg's measures for ``product`` from its temperature and door series."""
    gap = gap_after_s if gap_after_s is not None else 3 * interval_s
    temps = sorted(dict(temperatures).items())  # one value per time, in time order
    times = [t for t, _ in temps]
    weights = _weights(times, interval_s, gap)
    excursions: list[Excursion] = []
    for kind in ("high", "low"):
        for a, b in _runs(temps, weights, kind, product):
            minutes = sum(weights[a : b + 1]) / 60.0
            values = [v for _, v in temps[a : b + 1]]
            peak = max(values) if kind == "high" else min(values)
            excursions.append(
                Excursion(
                    kind,
                    times[a],
                    times[b] + weights[b],
                    minutes,
                    peak,
                    minutes > product.single_limit_min,
                )
            )
    for t0, t1 in itertools.pairwise(times):
        if t1 - t0 > gap:
            excursions.append(Excursion("logger_gap", t0, t1, (t1 - t0) / 60.0, None, False))
    door_pts = sorted(dict(doors).items())
    door_w = _weights([t for t, _ in door_pts], interval_s, gap)
    door_min = 0.0
    for a, b in _runs(door_pts, door_w, "door", product):
        minutes = sum(door_w[a : b + 1]) / 60.0
        door_min += minutes
        excursions.append(
            Excursion("door_open", door_pts[a][0], door_pts[b][0] + door_w[b], minutes, None, False)
        )
    excursions.sort(key=lambda x: (x.start, x.kind))
    out_of_range = [x for x in excursions if x.kind in ("high", "low")]
    tor = sum(x.minutes for x in out_of_range)
    terms = MktTerms.of([v for _, v in temps], weights) if temps else MktTerms()
    breached: list[str] = []
    if any(x.breaches_rule for x in out_of_range):
        breached.append("single")
    if tor > product.budget_min:
        breached.append("cumulative")
    value = terms.celsius()
    if not product.frozen and value is not None and value > product.range_max:
        breached.append("mkt")
    values = [v for _, v in temps]
    return Evaluation(
        readings=len(temps),
        first=times[0] if times else None,
        last=times[-1] if times else None,
        min_temp=min(values) if values else None,
        max_temp=max(values) if values else None,
        mean_temp=sum(values) / len(values) if values else None,
        mkt=terms,
        tor_min=tor,
        longest_min=max((x.minutes for x in out_of_range), default=0.0),
        door_open_min=door_min,
        excursions=tuple(excursions),
        breached=tuple(breached),
    )
