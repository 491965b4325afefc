"""When an unacknowledged fault is reminded of, and when a reminder escalates. Pure.

A fault that stays ``open`` (nobody acknowledged it, it did not clear) gets reminder 1
``first_after`` after its onset, then each next one after an interval ``growth`` times
the last, at most ``max_interval``: 30 min, then 1 h, 2 h, 4 h, 8 h, 8 h... with the
defaults. Each interval counts from when the previous reminder was actually sent, so a
scheduler that was down sends one reminder when it is back, not a burst. Reminders
after the first ``escalate_after`` go to the escalation address (the service lead).

>>> from datetime import datetime, timedelta, UTC
>>> p = ReminderPolicy(timedelta(minutes=30), 2.0, timedelta(hours=8), escalate_after=3)
>>> [p.interval(n) / timedelta(hours=1) for n in range(1, 7)]
[0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
>>> onset = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
>>> p.due(onset, sent=0, last_sent_at=None).isoformat()
'2026-12-07T09:30:00+00:00'
>>> p.due(onset, sent=1, last_sent_at=onset + timedelta(minutes=41)).isoformat()
'2026-12-07T10:41:00+00:00'
>>> [p.escalated(n) for n in (1, 3, 4)]
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    first_after: timedelta
    growth: float
    max_interval: timedelta
    escalate_after: int

    def __post_init__(self) -> None:
        if self.first_after <= timedelta(0) or self.max_interval <= timedelta(0):
            raise ValueError("reminder intervals must be positive")
        if self.growth < 1:
            raise ValueError(f"reminder growth must be at least 1, not {self.growth}")
        if self.escalate_after < 0:
            raise ValueError("escalate_after counts reminders: 0 or more")

    def interval(self, n: int) -> timedelta:
        """The wait before reminder ``n`` (from the onset for 1, the previous one after)."""
        if n < 1:
            raise ValueError(f"reminders are numbered from 1, not {n}")
        return min(self.first_after * self.growth ** (n - 1), self.max_interval)

    def due(self, opened_at: datetime, *, sent: int, last_sent_at: datetime | None) -> datetime:
        """When the next reminder (number ``sent + 1``) is due."""
        since = opened_at if sent == 0 or last_sent_at is None else last_sent_at
        return since + self.interval(sent + 1)

    def escalated(self, n: int) -> bool:
        """Whether reminder ``n`` goes to the escalation address."""
        return n > self.escalate_after
