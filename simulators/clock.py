"""The simulated clock: replay history fast, then run live, never ahead of the real clock.

Ingest refuses readings more than five minutes in the future, so simulated time must never
pass the real UTC time. A run starts in the past (``start = now - history_s``), moves
``speed`` times faster than real time until it meets the real clock, and from then on is
the real clock (speed 1)::

    sim(w) = min(start + speed * (w - w0), w)

where ``w`` is the wall-clock time and ``w0`` the wall-clock time when the clock was made.
Pure: the wall clock is injected (``time.time`` by default), so tests drive it by hand.

>>> wall = iter([1000.0, 1000.0, 1001.0, 1010.0]).__next__
>>> clock = SimClock(start=900.0, speed=60.0, wall=wall)  # reads the wall once: w0 = 1000
>>> clock.now()  # 1000: just started
900.0
>>> clock.now()  # 1001: one second later, a minute of history replayed
960.0
>>> clock.now()  # 1010: would be 1500, held at the real time
1010.0
"""

from __future__ import annotations

import time
from collections.abc import Callable


class SimClock:
    """Simulated UTC epoch seconds; ``speed`` times real time until caught up, then real."""

    def __init__(
        self, start: float, speed: float = 60.0, wall: Callable[[], float] = time.time
    ) -> None:
        if not speed >= 1.0:
            raise ValueError(f"speed must be at least 1, got {speed!r}")
        self._wall = wall
        self._wall0 = wall()
        # Never start ahead of the real clock.
        self.start = min(start, self._wall0)
        self.speed = float(speed)

    @classmethod
    def replaying(
        cls, history_s: float, speed: float = 60.0, wall: Callable[[], float] = time.time
    ) -> SimClock:
        """A clock that starts ``history_s`` before the real time now."""
        if history_s < 0:
            raise ValueError(f"history_s must not be negative, got {history_s!r}")
        return cls(wall() - history_s, speed, wall)

    def real_now(self) -> float:
        """The injected wall clock's time."""
        return self._wall()

    def _replayed(self, wall: float) -> float:
        return self.start + self.speed * (wall - self._wall0)

    def now(self) -> float:
        """The simulated time now; never after the real time."""
        wall = self._wall()
        return min(self._replayed(wall), wall)

    @property
    def caught_up(self) -> bool:
        """Whether the replay has reached the real clock (from then on, speed 1)."""
        wall = self._wall()
        return self._replayed(wall) >= wall

    def wall_time_of(self, sim_t: float) -> float:
        """The wall-clock time at which :meth:`now` reaches ``sim_t``."""
        # now() >= sim_t  <=>  the replay has reached sim_t  and  the real clock has too
        return max(self._wall0 + (sim_t - self.start) / self.speed, sim_t)

    def delay_until(self, sim_t: float) -> float:
        """Seconds to sleep before :meth:`now` reaches ``sim_t``; 0 if it already has."""
        return max(self.wall_time_of(sim_t) - self._wall(), 0.0)

    def delay_before_step(self, previous: float, step_s: float) -> float:
        """Seconds to sleep before the next step, ``step_s`` simulated seconds after
        ``previous``; 0 when it is already due.
        """
        return self.delay_until(previous + step_s)
