"""Exponentially weighted mean and variance whose state is two or three plain numbers.

The same arithmetic as river's ``stats.EWMean`` and ``stats.EWVar`` (bit for bit: the
first value sets the mean, then ``mean = a * x + (1 - a) * mean``; the variance is the
weighted mean of squares less the squared mean), but with their state in attributes we
can write to a checkpoint and read back (river's are Rust objects whose state is an
opaque, version-specific byte string).

>>> level = EWMean(0.5)
>>> for x in (4.0, 8.0, 6.0):
...     level.update(x)
>>> level.get()
6.0
>>> spread = EWVar(0.5)
>>> for x in (1.0, 3.0):
...     spread.update(x)
>>> spread.get()
1.0
"""

from __future__ import annotations


class EWMean:
    """Exponentially weighted mean; ``fading_factor`` closer to 1 follows faster."""

    __slots__ = ("fading_factor", "mean", "seen")

    def __init__(self, fading_factor: float, mean: float = 0.0, *, seen: bool = False) -> None:
        if not 0.0 <= fading_factor <= 1.0:
            raise ValueError(f"fading_factor must be in [0, 1], got {fading_factor!r}")
        self.fading_factor = fading_factor
        self.mean = mean
        self.seen = seen

    def update(self, x: float) -> None:
        if self.seen:
            a = self.fading_factor
            self.mean = a * x + (1 - a) * self.mean
        else:
            self.mean, self.seen = x, True

    def get(self) -> float:
        return self.mean


class EWVar:
    """Exponentially weighted variance: E[x^2] - E[x]^2, both weighted as :class:`EWMean`."""

    __slots__ = ("fading_factor", "mean", "seen", "sq_mean")

    def __init__(
        self,
        fading_factor: float,
        mean: float = 0.0,
        sq_mean: float = 0.0,
        *,
        seen: bool = False,
    ) -> None:
        if not 0.0 <= fading_factor <= 1.0:
            raise ValueError(f"fading_factor must be in [0, 1], got {fading_factor!r}")
        self.fading_factor = fading_factor
        self.mean = mean
        self.sq_mean = sq_mean
        self.seen = seen

    def update(self, x: float) -> None:
        square = x * x
        if self.seen:
            a = self.fading_factor
            self.mean = a * x + (1 - a) * self.mean
            self.sq_mean = a * square + (1 - a) * self.sq_mean
        else:
            self.mean, self.sq_mean, self.seen = x, square, True

    def get(self) -> float:
        return self.sq_mean - self.mean * self.mean
