"""Rules that turn a fault into a proactive ticket: pure, explainable, no I/O.

Priority is looked up from impact x urgency (the ITIL matrix, conventions.md §4.1):
impact is high when a failing metric threatens food safety or the home (a refrigerator's
temperatures), medium otherwise; urgency comes from the diagnosis's time to failure when
there is one (under a day: high; under a week: medium; later: low), else from how far the
score is past the detector's threshold.

The words come from the diagnosis when the fault signature fits a known cause: the subject
names the cause ("door left open"), the description the part to bring (or that no visit
is needed), the advice and the time to failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Literal

from crm_core.tickets.model import TicketDraft
from devices.faults.findings import Diagnosis


class Level(IntEnum):
    HIGH = 1
    MEDIUM = 2
    LOW = 3


# (impact, urgency) -> priority 1 (critical) .. 4 (low)
PRIORITY_MATRIX: dict[tuple[Level, Level], int] = {
    (Level.HIGH, Level.HIGH): 1,
    (Level.HIGH, Level.MEDIUM): 2,
    (Level.HIGH, Level.LOW): 3,
    (Level.MEDIUM, Level.HIGH): 2,
    (Level.MEDIUM, Level.MEDIUM): 3,
    (Level.MEDIUM, Level.LOW): 4,
    (Level.LOW, Level.HIGH): 3,
    (Level.LOW, Level.MEDIUM): 4,
    (Level.LOW, Level.LOW): 4,
}

_LEVEL_NAMES: dict[Level, Literal["high", "medium", "low"]] = {
    Level.HIGH: "high",
    Level.MEDIUM: "medium",
    Level.LOW: "low",
}

# Metrics whose failure spoils food or risks the home: high impact.
HIGH_IMPACT = frozenset({("refrigerator", "cabinet_temp"), ("refrigerator", "freezer_temp")})


@dataclass(frozen=True, slots=True)
class FaultFacts:
    """What the rule needs to know about a fault and the device it is on."""

    device_serial: str
    device_type: str
    device_type_label: str
    model: str
    metric: str
    metric_label: str
    unit: str
    detector: str
    score: float
    threshold: float
    opened_at: datetime
    latest_mean: float | None
    baseline_mean: float | None
    diagnosis: Diagnosis | None = None


def impact(facts: FaultFacts) -> Level:
    return Level.HIGH if (facts.device_type, facts.metric) in HIGH_IMPACT else Level.MEDIUM


HOURS_URGENT = 24.0
HOURS_SOON = 7 * 24.0


def urgency(
    score: float, threshold: float, detector: str = "", hours_to_failure: float | None = None
) -> Level:
    """How soon: from the time to failure when it is estimated; else a hard limit held for
    its duration is urgent by definition, and a learned detector's urgency grows with how
    far the score is past its threshold."""
    if hours_to_failure is not None:
        if hours_to_failure < HOURS_URGENT:
            return Level.HIGH
        return Level.MEDIUM if hours_to_failure < HOURS_SOON else Level.LOW
    if detector.startswith("limit_"):
        return Level.HIGH
    ratio = score / threshold if threshold > 0 else float("inf")
    if ratio >= 2.0:
        return Level.HIGH
    if ratio >= 1.25:
        return Level.MEDIUM
    return Level.LOW


def proactive_ticket(facts: FaultFacts) -> TicketDraft:
    """The ticket a service team should see for this fault.

    >>> from datetime import datetime, UTC
    >>> draft = proactive_ticket(FaultFacts("FR-1", "refrigerator", "Refrigerator", "CF-300",
    ...     "cabinet_temp", "Cabinet temperature", "Cel", "standard_score", 9.0, 4.0,
    ...     datetime(2026, 11, 24, 8, tzinfo=UTC), 7.9, 4.1))
    >>> draft.priority, draft.subject
    (1, 'Refrigerator FR-1: cabinet temperature abnormal')
    """
    if facts.detector == "no_data":
        return _no_data_ticket(facts)
    diagnosis = facts.diagnosis if facts.diagnosis is not None and facts.diagnosis.cause else None
    hours = diagnosis.urgency.hours_to_failure if diagnosis is not None else None
    level_impact = impact(facts)
    level_urgency = urgency(facts.score, facts.threshold, facts.detector, hours)
    priority = PRIORITY_MATRIX[(level_impact, level_urgency)]
    if diagnosis is not None:
        return _diagnosed_ticket(facts, diagnosis, priority, level_impact, level_urgency)
    lines = [
        f"Our monitoring found an anomaly on {facts.device_type_label.lower()} "
        f"{facts.device_serial} (model {facts.model}) before the customer reported it.",
        "",
        f"Metric: {facts.metric_label} ({facts.metric}, {facts.unit})",
        f"Since: {facts.opened_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"Detector: {facts.detector}, score {facts.score:.2f} against threshold "
        f"{facts.threshold:.2f}",
    ]
    if facts.latest_mean is not None and facts.baseline_mean is not None:
        lines.append(
            f"Latest window mean {facts.latest_mean:.2f} {facts.unit} vs. baseline "
            f"{facts.baseline_mean:.2f} {facts.unit}"
        )
    lines += [
        f"Priority P{priority}: impact {level_impact.name.lower()}, "
        f"urgency {level_urgency.name.lower()}.",
        "Suggested action: call the customer and book a technician visit.",
    ]
    return TicketDraft(
        subject=f"{facts.device_type_label} {facts.device_serial}: "
        f"{facts.metric_label.lower()} abnormal",
        description="\n".join(lines),
        priority=priority,
        severity=_LEVEL_NAMES[level_impact],
        # a food-safety limit held for its duration is a safety issue: P1 (conventions §4.1)
        safety=facts.detector.startswith("limit_") and level_impact is Level.HIGH,
        urgency_hint=_LEVEL_NAMES[level_urgency],
    )


def _diagnosed_ticket(
    facts: FaultFacts, diagnosis: Diagnosis, priority: int, impact_: Level, urgency_: Level
) -> TicketDraft:
    """The words when the signature fits a known cause."""
    part = (
        f"Part to bring: {diagnosis.part}."
        if diagnosis.part
        else "No part needed, no visit: the customer can fix this."
    )
    lines = [
        f"Our monitoring found a fault on {facts.device_type_label.lower()} "
        f"{facts.device_serial} (model {facts.model}) before the customer reported it.",
        "",
        f"Probable cause: {diagnosis.label}.",
        part,
        f"Time to failure: {diagnosis.urgency.note}.",
        f"Seen together: {', '.join(diagnosis.signature)}.",
        f"Latest fault: {facts.metric_label} ({facts.metric}, {facts.unit}), {facts.detector}, "
        f"since {facts.opened_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
    if facts.latest_mean is not None and facts.baseline_mean is not None:
        lines.append(
            f"Latest window mean {facts.latest_mean:.2f} {facts.unit} vs. baseline "
            f"{facts.baseline_mean:.2f} {facts.unit}"
        )
    lines += [
        f"Priority P{priority}: impact {impact_.name.lower()}, urgency {urgency_.name.lower()}.",
        f"Suggested action: {diagnosis.advice}",
    ]
    return TicketDraft(
        subject=f"{facts.device_type_label} {facts.device_serial}: {diagnosis.label.lower()}",
        description="\n".join(lines),
        priority=priority,
        severity=_LEVEL_NAMES[impact_],
        safety=facts.detector.startswith("limit_") and impact_ is Level.HIGH,
        hours_to_failure=diagnosis.urgency.hours_to_failure,
        urgency_hint=_LEVEL_NAMES[urgency_],
    )


def _no_data_ticket(facts: FaultFacts) -> TicketDraft:
    """A device gone silent: probably its connection, its power or its module; P3."""
    since = facts.opened_at.astimezone(UTC)
    return TicketDraft(
        subject=f"{facts.device_type_label} {facts.device_serial}: no data since "
        f"{since:%Y-%m-%d %H:%M} UTC",
        description="\n".join(
            [
                f"{facts.device_type_label} {facts.device_serial} (model {facts.model}) has "
                f"sent nothing for {facts.score:.0f} minutes (allowed: {facts.threshold:.0f}).",
                "",
                "Its faults cannot be seen while it is silent. Likely causes: the home's "
                "network or power, or the appliance's connectivity module.",
                "Priority P3: impact medium, urgency medium.",
                "Suggested action: ask the customer whether the appliance is on and "
                "connected; book a visit if it is and stays silent.",
            ]
        ),
        priority=PRIORITY_MATRIX[(Level.MEDIUM, Level.MEDIUM)],
        severity="medium",
        urgency_hint="medium",
    )


def as_datetime(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
