"""Nuisances of real fleets that are not faults: data gaps (a router rebooted, Wi-Fi lost).

Pure and seeded per device. A device is silent for a while now and then: the detectors must
skip the missing windows without raising anything. :func:`gaps` plans them for a run.

>>> from simulators.fleet import make_device
>>> fridge = make_device(1, "refrigerator", 1)
>>> [(round(a / 3600, 1), round((b - a) / 3600, 1)) for a, b in gaps(fridge, 1, 0.0, 4 * 86400.0)]
[(7.4, 1.1), (36.1, 0.7)]
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import Final

from simulators.fleet import SimDevice

GAPS_PER_DAY: Final = 0.5
"""How often a device goes silent: every other day on average."""
GAP_HOURS: Final = (0.5, 3.0)
"""How long a silence lasts, uniformly between these (hours)."""


def gaps(device: SimDevice, seed: int, start: float, end: float) -> list[tuple[float, float]]:
    """The device's silent periods ``[from, to)`` within ``[start, end)``, in order."""
    rng = random.Random(f"careline-gaps:{seed}:{device.serial}")
    out: list[tuple[float, float]] = []
    t = start
    while True:
        t += rng.expovariate(GAPS_PER_DAY / 86400.0)
        if t >= end:
            return out
        length = rng.uniform(*GAP_HOURS) * 3600.0
        out.append((t, min(t + length, end)))
        t += length


def silent(periods: Sequence[tuple[float, float]], starts: Sequence[float], t: float) -> bool:
    """Whether ``t`` falls in one of ``periods`` (``starts`` = their starts, sorted)."""
    i = bisect.bisect_right(starts, t) - 1
    return i >= 0 and t < periods[i][1]
