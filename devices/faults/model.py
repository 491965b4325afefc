"""The fault domain: what a detector reports and the fault it becomes. Pure, no I/O.

Two kinds of time, on purpose:

* **Events** (:class:`FaultOpened`, :class:`FaultCleared`) and the :class:`WindowSummary`
  values in their evidence carry **float UTC epoch seconds**. Monitors emit them on the
  ingest hot path, where device times already are epoch floats, and they serialise to JSON
  as they are.
* The :class:`Fault` **entity** keeps **timezone-aware UTC datetimes**, like the database
  (``timestamptz``) and the rest of the domain. :func:`utc_from_epoch` and
  :func:`epoch_from_utc` convert at that boundary; :meth:`Fault.from_opened` uses them. Its
  ``evidence`` stays a tuple of window summaries with epoch starts: it is a chart, stored as
  JSON.

A device has at most one open fault per metric: monitors never open twice without clearing in
between (the database enforces the same with a partial unique index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeAlias

from crm_core.kernel.events import Event
from devices.errors import FaultAlreadyCleared, FaultClearedBeforeOpened, InvalidTimeError
from devices.faults.findings import Diagnosis


class FaultStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # someone has it in hand; still live
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """One closed averaging window: its start (UTC epoch s), mean, reading count and score."""

    start: float
    mean: float
    count: int
    score: float


@dataclass(frozen=True, slots=True)
class FaultOpened(Event):
    """A detector saw ``open_after`` anomalous windows in a row.

    ``opened_at`` is the start of the first anomalous window of that run (UTC epoch s);
    ``score`` is the highest score in the run; ``evidence`` holds the latest closed windows,
    oldest first, ending with the window that opened the fault.
    """

    device_id: int
    metric: str
    detector: str
    score: float
    threshold: float
    opened_at: float
    evidence: tuple[WindowSummary, ...]


@dataclass(frozen=True, slots=True)
class FaultCleared(Event):
    """The fault on (device, metric) cleared; ``cleared_at`` is UTC epoch seconds.

    ``absorbed``: it did not recover, it lasted long enough to be taken as the device's new
    normal (the detector learns again from there).
    """

    device_id: int
    metric: str
    detector: str
    cleared_at: float
    absorbed: bool = False


FaultEvent: TypeAlias = FaultOpened | FaultCleared


@dataclass(frozen=True, slots=True)
class FaultRecorded(Event):
    """A detector's :class:`FaultOpened` became fault ``fault_id`` (a new onset only)."""

    fault_id: int
    opened: FaultOpened
    diagnosis: Diagnosis | None = None
    """What the device's live faults show together, this one included."""


@dataclass(frozen=True, slots=True)
class FaultAcknowledged(Event):
    """Someone took fault ``fault_id`` in hand."""

    fault_id: int
    by: str
    at: datetime
    comment: str


@dataclass(frozen=True, slots=True)
class FaultClosed(Event):
    """Fault ``fault_id`` was cleared and stored so."""

    fault_id: int
    device_id: int
    metric: str
    absorbed: bool = False
    """It did not recover: it was taken as the device's new normal."""
    cleared_hint: str = ""
    """What its clearing most likely means, from its diagnosis ("door closed")."""


def utc_from_epoch(seconds: float) -> datetime:
    """UTC epoch seconds -> aware UTC datetime."""
    if not math.isfinite(seconds):
        raise InvalidTimeError(f"epoch seconds must be finite, got {seconds!r}")
    return datetime.fromtimestamp(seconds, tz=UTC)


def epoch_from_utc(at: datetime) -> float:
    """Aware datetime -> UTC epoch seconds; a naive datetime is refused."""
    return _aware(at, "time").timestamp()


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidTimeError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC)


@dataclass(eq=False, slots=True, kw_only=True)
class Fault:
    """A fault on one metric of one device, from onset to clearing.

    Times are aware UTC datetimes (other timezones are converted, naive ones refused). ``id``
    is None until the fault is stored. Entities compare by identity, not by value.
    """

    id: int | None = None
    device_id: int
    metric: str
    detector: str
    score: float
    threshold: float
    opened_at: datetime
    status: FaultStatus = FaultStatus.OPEN
    cleared_at: datetime | None = None
    evidence: tuple[WindowSummary, ...] = ()
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    diagnosis: Diagnosis | None = None
    """The probable cause and urgency when the fault was recorded (None: not diagnosed)."""

    @property
    def hours_to_failure(self) -> float | None:
        """The urgency estimate, for priority rules: hours until the part is expected to fail."""
        return None if self.diagnosis is None else self.diagnosis.urgency.hours_to_failure

    def __post_init__(self) -> None:
        self.opened_at = _aware(self.opened_at, "opened_at")
        if self.cleared_at is not None:
            self.cleared_at = _aware(self.cleared_at, "cleared_at")
        if self.acknowledged_at is not None:
            self.acknowledged_at = _aware(self.acknowledged_at, "acknowledged_at")
        if (self.status is FaultStatus.CLEARED) != (self.cleared_at is not None):
            raise ValueError("a fault has cleared_at exactly when its status is cleared")
        if self.cleared_at is not None and self.cleared_at < self.opened_at:
            raise FaultClearedBeforeOpened(
                f"cleared_at {self.cleared_at.isoformat()} is before opened_at "
                f"{self.opened_at.isoformat()}"
            )

    @classmethod
    def from_opened(cls, event: FaultOpened) -> Fault:
        """The new, unsaved fault a :class:`FaultOpened` event describes."""
        return cls(
            device_id=event.device_id,
            metric=event.metric,
            detector=event.detector,
            score=event.score,
            threshold=event.threshold,
            opened_at=utc_from_epoch(event.opened_at),
            evidence=event.evidence,
        )

    @property
    def is_open(self) -> bool:
        """Live: open or acknowledged, not cleared yet."""
        return self.status is not FaultStatus.CLEARED

    def acknowledge(self, by: str, at: datetime, comment: str = "") -> FaultAcknowledged:
        """Someone has the fault in hand; a cleared fault cannot be acknowledged any more.

        Acknowledging twice keeps the first acknowledgement (the event is raised again, so
        a second person's comment is still recorded).
        """
        at = _aware(at, "at")
        if self.status is FaultStatus.CLEARED:
            raise FaultAlreadyCleared(f"fault {self.id} has cleared; there is nothing to take on")
        if not by:
            raise ValueError("an acknowledgement names who made it")
        if self.status is FaultStatus.OPEN:
            self.status = FaultStatus.ACKNOWLEDGED
            self.acknowledged_at, self.acknowledged_by = at, by
        assert self.id is not None, "a fault is acknowledged once stored"
        return FaultAcknowledged(self.id, by, at, comment)

    def clear(self, at: datetime) -> FaultCleared:
        """Clear the fault at ``at``; returns the event to publish.

        Raises :class:`FaultAlreadyCleared` the second time and
        :class:`FaultClearedBeforeOpened` if ``at`` lies before the onset.
        """
        at = _aware(at, "at")
        if self.status is FaultStatus.CLEARED:
            raise FaultAlreadyCleared(
                f"fault {self.id} on device {self.device_id} {self.metric} was cleared at "
                f"{self.cleared_at.isoformat() if self.cleared_at else '?'}"
            )
        if at < self.opened_at:
            raise FaultClearedBeforeOpened(
                f"cannot clear fault {self.id} at {at.isoformat()}: it opened at "
                f"{self.opened_at.isoformat()}"
            )
        self.status = FaultStatus.CLEARED
        self.cleared_at = at
        return FaultCleared(
            device_id=self.device_id,
            metric=self.metric,
            detector=self.detector,
            cleared_at=at.timestamp(),
        )
