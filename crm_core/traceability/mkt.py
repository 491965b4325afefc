"""Mean kinetic temperature (Haynes; ICH Q1A(R2), USP <1079.2>), kept as additive terms.

MKT is computed from Σ wᵢ·exp(−(ΔH/R)/Tᵢ) and Σ wᵢ, so that the MKT of a lot across
several legs is the MKT of the sums of its legs' terms, with no reading read twice. Weights
are the intervals a reading stands for (Tong & Lock for unequally spaced data); equally
spaced readings have weight 1.

>>> round(mkt([25.0, 25.0, 25.0]), 2)
25.0
>>> round(mkt([4, 4, 4, 4, 16]), 2)
8.11
>>> round(mkt([20, 30]), 2)
26.26
>>> round(mkt([2, 8]), 2)
5.54
>>> a, b = MktTerms.of([4, 4]), MktTerms.of([4, 4, 16])
>>> round((a + b).celsius(), 2)
8.11
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DELTA_H_OVER_R = 10_000.0
"""ΔH/R in kelvin: 83.144 kJ/mol over 8.3144 J/(mol·K)."""
KELVIN = 273.15


def _term(celsius: float) -> float:
    return math.exp(-DELTA_H_OVER_R / (celsius + KELVIN))


@dataclass(frozen=True, slots=True)
class MktTerms:
    """The additive parts of an MKT: weight and weighted Arrhenius sum."""

    weight: float = 0.0
    total: float = 0.0

    @classmethod
    def of(cls, readings: Iterable[float], weights: Sequence[float] | None = None) -> MktTerms:
        values = list(readings)
        w = list(weights) if weights is not None else [1.0] * len(values)
        if len(w) != len(values):
            raise ValueError("one weight per reading")
        return cls(sum(w), sum(wi * _term(t) for wi, t in zip(w, values, strict=True)))

    def __add__(self, other: MktTerms) -> MktTerms:
        return MktTerms(self.weight + other.weight, self.total + other.total)

    def celsius(self) -> float | None:
        """The MKT in °C, or None without readings."""
        if self.weight <= 0 or self.total <= 0:
            return None
        return DELTA_H_OVER_R / -math.log(self.total / self.weight) - KELVIN


def mkt(readings: Iterable[float], weights: Sequence[float] | None = None) -> float:
    """MKT in °C of readings (°C); ValueError for none."""
    value = MktTerms.of(readings, weights).celsius()
    if value is None:
        raise ValueError("MKT of no readings")
    return value
