"""Diagnosis: from a fault signature to a probable cause, the part to bring, and urgency.

Pure. The **signature** is what the device's live faults show together: which metrics
moved, which way (the latest window mean against the normal windows before the onset; a
hard limit's side), how fast (the slope of the evidence windows), seen by which detector or
limit. The causes are catalog data (:mod:`devices.causes`), tried in order: the first cause
whose every move is in the signature is the diagnosis. Nothing fits: cause ``""`` ("not
diagnosed"), and the technician diagnoses on site.

**Urgency** (conventions §6.2): the cause's health indicator (``cabinet_temp`` toward 8 °C,
``vibration_rms`` toward 4.5 mm/s...) is fitted on the evidence windows of the live fault on
that metric: a straight line, or a straight line on the logarithm for cumulative wear
(``trend = "exponential"``). Where the fit crosses ``fails_at`` is the estimated time to
failure, from the latest window. Its confidence says how well the line fits (r²) on how
many windows: ``high`` (r² >= 0.8, at least 12 windows), ``medium`` (r² >= 0.5), else
``low``; and ``none`` when there is no trend toward failure to project.

>>> from devices.faults.model import WindowSummary
>>> windows = [WindowSummary(3600.0 * h / 12, 4.0 + 0.5 * h / 12, 5, 6.0) for h in range(24)]
>>> urgency = time_to_failure(Indicator("cabinet_temp", 8.0), windows, "°C")
>>> round(urgency.hours_to_failure or 0, 1), urgency.confidence
(6.1, 'high')
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from devices.catalog import DeviceType
from devices.causes import Cause, Direction, Indicator, Move
from devices.faults.findings import Confidence, Diagnosis, Urgency
from devices.faults.model import Fault, WindowSummary, epoch_from_utc


@dataclass(frozen=True, slots=True)
class Seen:
    """One live fault as the diagnosis reads it."""

    metric: str
    detector: str
    direction: Direction
    rate_per_hour: float | None
    evidence: tuple[WindowSummary, ...] = ()

    def describe(self) -> str:
        return f"{self.metric} {self.direction} ({self.detector})"


def seen(
    metric: str,
    detector: str,
    threshold: float,
    opened_at: float,
    evidence: Sequence[WindowSummary],
) -> Seen:
    """Read one fault: which way its metric moved and how fast (per hour)."""
    windows = list(evidence)
    rate = _slope([w.start for w in windows], [w.mean for w in windows])
    if detector in ("limit_high", "limit_low"):
        direction: Direction = "up" if detector == "limit_high" else "down"
    elif windows:
        before = [w.mean for w in windows if w.start < opened_at and w.score < threshold]
        baseline = statistics.fmean(before) if before else windows[0].mean
        direction = "up" if windows[-1].mean >= baseline else "down"
    else:
        direction = "up"
    return Seen(
        metric, detector, direction, None if rate is None else rate * 3600.0, tuple(windows)
    )


UNDIAGNOSED_ADVICE = (
    "No known fault signature fits: call the customer and book a technician visit to "
    "diagnose on site."
)


def _fits(move: Move, signature: Iterable[Seen]) -> bool:
    return any(
        s.metric == move.metric
        and s.direction == move.direction
        and (move.detector is None or s.detector == move.detector)
        for s in signature
    )


def matching_cause(device_type: DeviceType, signature: Sequence[Seen]) -> Cause | None:
    """The first catalog cause whose every move is in the signature."""
    for cause in device_type.causes:
        if all(_fits(move, signature) for move in cause.signature):
            return cause
    return None


def seen_fault(fault: Fault) -> Seen:
    """Read a stored fault."""
    return seen(
        fault.metric,
        fault.detector,
        fault.threshold,
        epoch_from_utc(fault.opened_at),
        fault.evidence,
    )


def diagnose_faults(device_type: DeviceType, faults: Sequence[Fault]) -> Diagnosis:
    """Diagnose a device's live faults together; faults on no catalog metric (no data) and
    cleared ones are left out."""
    return diagnose(
        device_type,
        [seen_fault(f) for f in faults if f.is_open and f.metric in device_type.metrics],
    )


def diagnose(device_type: DeviceType, signature: Sequence[Seen]) -> Diagnosis:
    """The probable cause of what the device's live faults show together, with urgency."""
    described = tuple(s.describe() for s in signature)
    cause = matching_cause(device_type, signature)
    if cause is None:
        return Diagnosis(
            "",
            "Not diagnosed",
            "",
            True,
            UNDIAGNOSED_ADVICE,
            "",
            described,
            Urgency(None, "none", "no known signature: no failure line to project toward"),
        )
    return Diagnosis(
        cause=cause.key,
        label=cause.label,
        part=cause.part,
        visit=cause.visit,
        advice=cause.advice,
        cleared_hint=cause.cleared_hint,
        signature=described,
        urgency=_urgency(device_type, cause, signature),
        customer_advice=cause.customer_advice,
    )


def _urgency(device_type: DeviceType, cause: Cause, signature: Sequence[Seen]) -> Urgency:
    indicator = cause.indicator
    if indicator is None:
        return Urgency(None, "none", "this cause has no health indicator to project")
    metric = device_type.metrics.get(indicator.metric)
    label = metric.label.lower() if metric is not None else indicator.metric
    unit = metric.unit if metric is not None else ""
    on_it = [s for s in signature if s.metric == indicator.metric and s.evidence]
    if not on_it:
        return Urgency(None, "none", f"no trend yet: {label} has not moved")
    windows = max(on_it, key=lambda s: s.evidence[-1].start).evidence
    normal = metric.typical.mean if metric is not None else None
    if normal is not None and indicator.trend == "exponential" and normal <= 0:
        normal = None  # no logarithm of it: the first window tells the healthy side
    return time_to_failure(indicator, windows, unit, label, normal)


def time_to_failure(
    indicator: Indicator,
    windows: Sequence[WindowSummary],
    unit: str,
    label: str = "",
    normal: float | None = None,
) -> Urgency:
    """Project the indicator's trend over ``windows`` to its failure line.

    ``normal`` (the metric's typical value) says on which side of the line health lies;
    without it, the side of the first window.
    """
    label = label or indicator.metric
    line = f"{label} reaches {indicator.fails_at:g} {unit}".rstrip()
    times = [w.start for w in windows]
    values = [w.mean for w in windows]
    exponential = indicator.trend == "exponential"
    if exponential:
        if any(v <= 0 for v in values):
            return Urgency(None, "none", f"cannot fit an exponential trend until {line}")
        values = [math.log(v) for v in values]
    fit = _fit(times, values)
    if fit is None:
        return Urgency(None, "none", f"too few windows to see a trend until {line}")
    intercept, slope, r2 = fit
    target = math.log(indicator.fails_at) if exponential else indicator.fails_at
    now = times[-1]
    current = intercept + slope * now
    start = values[0] if normal is None else (math.log(normal) if exponential else normal)
    rising = target > start  # failure lies above the healthy side
    past = current >= target if rising else current <= target
    span_h = (times[-1] - times[0]) / 3600.0
    how = f"{indicator.trend} trend over {span_h:.1f} h, r² {r2:.2f}"
    if past:
        return Urgency(0.0, _confidence(r2, len(times)), f"{line} already ({how})")
    if (slope <= 0) if rising else (slope >= 0):
        return Urgency(None, "none", f"not trending toward failure ({line}; {how})")
    hours = (target - current) / slope / 3600.0
    confidence = _confidence(r2, len(times))
    return Urgency(hours, confidence, f"about {_human(hours)} until {line} ({how}: {confidence})")


def _confidence(r2: float, n: int) -> Confidence:
    if r2 >= 0.8 and n >= 12:
        return "high"
    if r2 >= 0.5:
        return "medium"
    return "low"


def _human(hours: float) -> str:
    if hours < 1.0:
        return f"{max(hours * 60.0, 1.0):.0f} min"
    if hours < 48.0:
        return f"{hours:.0f} h"
    return f"{hours / 24.0:.0f} days"


def _fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float] | None:
    """Least squares y = a + b x: (a, b, r²); None with fewer than 3 points or no spread."""
    if len(xs) < 3:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx <= 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - my) ** 2 for y in ys)
    slope = sxy / sxx
    r2 = (sxy * sxy) / (sxx * syy) if syy > 0 else 0.0
    return my - slope * mx, slope, r2


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    fit = _fit(xs, ys)
    return None if fit is None else fit[1]
