"""Validation of decoded samples against the metric catalog: which become readings.

Decoding says a payload is well formed; validation says each sample is plausible for the
device's type: a metric the type has, in the catalog's unit and kind, at a believable time,
within the range the sensor can physically report. Each sample is judged on its own, so one
bad sample does not cost the good ones of the same message: the caller stores the readings
and dead-letters the message with the problems (redelivery is harmless, writes are
idempotent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from devices.catalog import DeviceType
from ingest.messages import RejectReason, Sample

EARLIEST: Final = 946_684_800.0  # 2000-01-01T00:00:00Z: older device clocks are unset
DEFAULT_PAST_TOLERANCE_S: Final = 90 * 86400.0
MAX_SHOWN: Final = 5  # problems spelled out by summarize()

Problem = tuple[RejectReason, str]
Reading = tuple[str, float, float]  # metric key, UTC epoch seconds, value (booleans 1.0/0.0)


@dataclass(frozen=True, slots=True)
class Validated:
    """The readings that passed, and one problem per sample that did not."""

    readings: list[Reading]
    problems: list[Problem]


def validate(
    samples: Sequence[Sample],
    device_type: DeviceType,
    received_at: float,
    future_tolerance_s: float,
    past_tolerance_s: float = DEFAULT_PAST_TOLERANCE_S,
) -> Validated:
    """Check ``samples`` against ``device_type``'s metrics; keep the good, explain the bad.

    A sample more than ``future_tolerance_s`` seconds after ``received_at`` is in the
    future (a device clock running fast); one before 2000 is from an unset clock; one more
    than ``past_tolerance_s`` before ``received_at`` is too old to take: readings are kept
    in one-day chunks, and a message spread over years of days would make one transaction
    create and lock thousands of them (PostgreSQL runs out of lock memory).
    """
    metrics = device_type.metrics
    latest = received_at + future_tolerance_s
    oldest = max(EARLIEST, received_at - past_tolerance_s)
    readings: list[Reading] = []
    problems: list[Problem] = []
    for sample in samples:
        metric = sample.metric
        spec = metrics.get(metric)
        if spec is None:
            problems.append(
                (
                    RejectReason.INVALID,
                    f"unknown metric {metric!r} for device type {device_type.key}",
                )
            )
            continue
        if sample.unit is not None and sample.unit != spec.unit:
            problems.append(
                (
                    RejectReason.INVALID,
                    f"{metric}: unit {sample.unit!r}, the catalog's is {spec.unit!r}",
                )
            )
            continue
        value = sample.value
        kind = type(value)
        number: float
        if spec.kind == "boolean":
            if kind is not bool:
                problems.append(
                    (RejectReason.INVALID, f"{metric} takes a boolean, got {_describe(value)}")
                )
                continue
            number = 1.0 if value else 0.0
        elif kind is float or kind is int:
            number = float(value)
        else:
            problems.append(
                (RejectReason.INVALID, f"{metric} takes a number, got {_describe(value)}")
            )
            continue
        when = sample.time
        if not oldest <= when <= latest:
            problems.append(
                _time_problem(metric, when, received_at, future_tolerance_s, past_tolerance_s)
            )
            continue
        if not spec.low <= number <= spec.high:
            if math.isnan(number):
                problems.append((RejectReason.INVALID, f"{metric}: value is not a number"))
            else:
                problems.append(
                    (
                        RejectReason.OUT_OF_RANGE,
                        f"{metric}: {number!r} {spec.unit} is outside the possible range "
                        f"[{spec.low:g}, {spec.high:g}] {spec.unit}",
                    )
                )
            continue
        readings.append((metric, when, number))
    return Validated(readings, problems)


def summarize(problems: Sequence[Problem]) -> Problem:
    """One reason (the first problem's) and a detail listing the first few problems.

    ``ValueError`` when there are no problems: there is nothing to dead-letter.
    """
    if not problems:
        raise ValueError("summarize() needs at least one problem")
    detail = "; ".join(text for _, text in problems[:MAX_SHOWN])
    if len(problems) > MAX_SHOWN:
        detail += f"; and {len(problems) - MAX_SHOWN} more"
    return problems[0][0], detail


def _time_problem(
    metric: str, when: float, received_at: float, tolerance_s: float, past_tolerance_s: float
) -> Problem:
    if math.isnan(when):
        return RejectReason.INVALID, f"{metric}: time is not a number"
    if when < EARLIEST:
        return RejectReason.INVALID, f"{metric}: time {_iso(when)} is before 2000-01-01"
    if when < received_at:
        return (
            RejectReason.INVALID,
            f"{metric}: time {_iso(when)} is more than {past_tolerance_s / 86400:g} days "
            "before it was received (ingest.past_tolerance_s)",
        )
    ahead = when - received_at
    # A common device bug; worth naming when the time is a millisecond epoch.
    hint = " (milliseconds instead of seconds?)" if when > received_at * 100 else ""
    return (
        RejectReason.INVALID,
        f"{metric}: time {_iso(when)} is in the future, {ahead:.0f} s after it was received "
        f"(tolerance {tolerance_s:g} s){hint}",
    )


def _iso(when: float) -> str:
    try:
        return datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return repr(when)


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    return f"{type(value).__name__} {value!r}"
