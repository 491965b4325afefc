"""Business hours: the calendar SLA clocks run on (conventions §4.2).

A clock runs only on working days (Monday to Friday unless told otherwise, minus the public
holidays of a country and subdivision from the ``holidays`` package) between the start and
the end of the working day, in the service team's time zone. Pure apart from the holiday
table, which the package computes (no network).

>>> from datetime import datetime, time, UTC
>>> cal = BusinessCalendar("Europe/Berlin", time(8), time(17), "DE", "BE")
>>> friday_4pm = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
>>> cal.add(friday_4pm, 2 * 3600).isoformat()  # 1 h on Friday, 1 h on Monday
'2026-12-07T08:00:00+00:00'
>>> cal.seconds_between(friday_4pm, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
7200.0
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = frozenset(range(5))  # Monday .. Friday


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in ``timezone`` on working days that are not public holidays."""

    timezone: str
    start: time
    end: time
    country: str | None = None
    subdivision: str | None = None
    workdays: frozenset[int] = WEEKDAYS
    extra_holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _holidays: holidays.HolidayBase | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"the working day ends ({self.end}) before it starts ({self.start})")
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        table = (
            holidays.country_holidays(self.country, subdiv=self.subdivision)
            if self.country
            else None
        )
        object.__setattr__(self, "_holidays", table)

    def holiday(self, day: date) -> str | None:
        """The holiday's name, or None on an ordinary day."""
        if day in self.extra_holidays:
            return "holiday"
        if self._holidays is not None and day in self._holidays:
            return str(self._holidays.get(day))
        return None

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and self.holiday(day) is None

    def _windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working-hour windows from ``since``'s local day on, for ten years at most."""
        day = since.astimezone(self._zone).date()
        for _ in range(3660):
            if self.is_working_day(day):
                yield (
                    datetime.combine(day, self.start, self._zone),
                    datetime.combine(day, self.end, self._zone),
                )
            day += timedelta(days=1)

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in [start, end); 0 when end is not after start."""
        total = 0.0
        if end <= start:
            return total
        for opens, closes in self._windows(start):
            if opens >= end:
                break
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` working seconds after ``start`` (UTC)."""
        left = seconds
        for opens, closes in self._windows(start):
            lo = max(opens, start)
            if closes <= lo:
                continue
            span = (closes - lo).total_seconds()
            if left <= span:
                return (lo + timedelta(seconds=left)).astimezone(ZoneInfo("UTC"))
            left -= span
        raise ValueError("no working time in the next ten years")
