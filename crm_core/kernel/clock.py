"""Time, injected: every use case and job takes a clock instead of asking the system.

>>> fixed = frozen(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
>>> fixed().isoformat()
'2026-11-30T12:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A function that returns the current time, timezone-aware UTC."""


def utc_now() -> datetime:
    """The system's clock, in UTC."""
    return datetime.now(UTC)


def frozen(at: datetime) -> Clock:
    """A clock that always says ``at`` (tests, replays)."""
    if at.tzinfo is None:
        raise ValueError("a clock tells aware UTC time")
    return lambda: at
