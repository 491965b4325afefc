"""SLA clocks, computed from a ticket's history (conventions §4.2), never from counters.

Two clocks per ticket, both in business time (:class:`BusinessCalendar`):

* **First response**: from creation to the first response, which careline defines as the
  first thing a *person* (any actor but careline itself) does that the customer can see:
  a comment (every comment is public: there are no internal notes), or a status change
  away from ``new`` (assigning, scheduling, starting, asking the customer). It does not
  pause: asking the customer is itself a response.
* **Resolution**: from creation to ``resolved``; it pauses while the ticket is
  ``waiting_for_customer`` and resumes where it stopped when the ticket moves on; reopening
  a resolved ticket (resolved -> in progress) runs it again.

Each clock is ``running``, ``warning`` (past the warning share of its target), ``paused``,
``breached`` (past the target; a breach stays a breach even if the ticket is then resolved),
``achieved``, ``cancelled`` (the ticket was cancelled before the clock stopped), or
``not_applicable``: the ticket ended (its faults cleared by themselves and careline resolved
it) before any person responded, so no first response was owed. A clock of an ended ticket
never runs on: the first-response clock stops when the ticket first ends, responded or not.

>>> from datetime import datetime, time, UTC
>>> from crm_core.tickets.model import HistoryEntry
>>> cal = BusinessCalendar("UTC", time(9), time(17))
>>> created = datetime(2026, 12, 7, 9, tzinfo=UTC)   # a Monday
>>> history = [HistoryEntry(created, "careline", "created", None, "new")]
>>> s = sla_status(created, history, Target(60, 480), cal, datetime(2026, 12, 7, 9, 50, tzinfo=UTC))
>>> s.first_response.state, s.first_response.due_at.isoformat()
('warning', '2026-12-07T10:00:00+00:00')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, Protocol, get_args

from crm_core.tickets.business_hours import BusinessCalendar
from crm_core.tickets.model import ENDED, PAUSES_SLA
from crm_core.tickets.policies import Target

SYSTEM_ACTORS: Final = frozenset({"careline"})
SlaState = Literal[
    "running", "warning", "paused", "breached", "achieved", "cancelled", "not_applicable"
]
SLA_STATES: Final[tuple[SlaState, ...]] = get_args(SlaState)
SlaMetric = Literal["first_response", "resolution"]
DEFAULT_WARNING_SHARE: Final = 0.75


class HistoryLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def old_status(self) -> str | None: ...
    @property
    def new_status(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class SlaClock:
    metric: SlaMetric
    state: SlaState
    target_s: float
    elapsed_s: float
    due_at: datetime | None
    """When the target is (or was) reached; None while paused or once stopped in time."""
    warn_at: datetime | None
    stopped_at: datetime | None

    @property
    def remaining_s(self) -> float:
        return self.target_s - self.elapsed_s


@dataclass(frozen=True, slots=True)
class SlaStatus:
    first_response: SlaClock
    resolution: SlaClock

    @property
    def clocks(self) -> tuple[SlaClock, SlaClock]:
        return (self.first_response, self.resolution)

    @property
    def worst(self) -> SlaState:
        """The state the queue shows: the more alarming of the two."""
        order: tuple[SlaState, ...] = (
            "breached",
            "warning",
            "running",
            "paused",
            "achieved",
            "cancelled",
            "not_applicable",
        )
        return min((c.state for c in self.clocks), key=order.index)


def first_response(history: Sequence[HistoryLike]) -> datetime | None:
    """When a person first responded (see the module's definition)."""
    for line in history:
        if line.actor in SYSTEM_ACTORS:
            continue
        if line.action == "comment":
            return line.at
        if line.old_status == "new" and line.new_status not in (None, "new"):
            return line.at
    return None


Interval = tuple[datetime, datetime | None]


def _moment(
    intervals: Sequence[Interval], seconds: float, cal: BusinessCalendar
) -> datetime | None:
    """When the clock running over ``intervals`` reaches ``seconds``; None if it does not."""
    left = seconds
    for start, end in intervals:
        if end is None:
            return cal.add(start, left)
        span = cal.seconds_between(start, end)
        if span >= left:
            return cal.add(start, left)
        left -= span
    return None


def _clock(
    metric: SlaMetric,
    intervals: Sequence[Interval],
    *,
    target_s: float,
    warning_share: float,
    now: datetime,
    paused: bool,
    stopped_at: datetime | None,
    cancelled: bool,
    cal: BusinessCalendar,
    owed: bool = True,
) -> SlaClock:
    elapsed = sum(cal.seconds_between(s, now if e is None else min(e, now)) for s, e in intervals)
    due = _moment(intervals, target_s, cal)
    warn = _moment(intervals, target_s * warning_share, cal)
    state: SlaState
    if elapsed > target_s:
        state = "breached"
    elif cancelled:
        state = "cancelled"
    elif not owed:
        state, due, warn = "not_applicable", None, None
    elif stopped_at is not None:
        state, due, warn = "achieved", None, None
    elif paused:
        state, due, warn = "paused", None, None
    elif elapsed >= target_s * warning_share:
        state = "warning"
    else:
        state = "running"
    return SlaClock(metric, state, target_s, elapsed, due, warn, stopped_at)


def sla_status(
    created_at: datetime,
    history: Sequence[HistoryLike],
    target: Target,
    cal: BusinessCalendar,
    now: datetime,
    warning_share: float = DEFAULT_WARNING_SHARE,
) -> SlaStatus:
    """Both clocks of a ticket at ``now``, from its history (oldest first)."""
    lines = sorted((h for h in history if h.at <= now), key=lambda h: h.at)
    # First response: one interval from creation to the response, or to the moment the
    # ticket first ended without one (or still open).
    responded = first_response(lines)
    ended = next((h for h in lines if h.new_status in ENDED and h.action != "created"), None)
    unanswered_end = (
        ended if ended is not None and (responded is None or ended.at < responded) else None
    )
    status = "new"
    intervals: list[Interval] = []
    running_since: datetime | None = created_at
    stopped_at: datetime | None = None
    for line in lines:
        if line.action == "created" or line.new_status is None:
            continue
        status = line.new_status
        runs = status not in PAUSES_SLA and status not in ENDED
        if runs and running_since is None:
            running_since = line.at
        elif not runs and running_since is not None:
            intervals.append((running_since, line.at))
            running_since = None
        stopped_at = (stopped_at or line.at) if status in ("resolved", "closed") else None
    if running_since is not None:
        intervals.append((running_since, None))
    cancelled = status == "cancelled"
    if unanswered_end is None:
        first = _clock(
            "first_response",
            [(created_at, responded)],
            target_s=target.first_response_min * 60.0,
            warning_share=warning_share,
            now=now,
            paused=False,
            stopped_at=responded,
            cancelled=cancelled and responded is None,
            cal=cal,
        )
    else:  # ended before anyone responded: by careline (owed nothing) or cancelled
        first = _clock(
            "first_response",
            [(created_at, unanswered_end.at)],
            target_s=target.first_response_min * 60.0,
            warning_share=warning_share,
            now=now,
            paused=False,
            stopped_at=unanswered_end.at,
            cancelled=unanswered_end.new_status == "cancelled",
            cal=cal,
            owed=unanswered_end.actor not in SYSTEM_ACTORS,
        )
    resolution = _clock(
        "resolution",
        intervals,
        target_s=target.resolution_min * 60.0,
        warning_share=warning_share,
        now=now,
        paused=status in PAUSES_SLA,
        stopped_at=stopped_at,
        cancelled=cancelled,
        cal=cal,
    )
    return SlaStatus(first, resolution)
