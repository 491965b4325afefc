"""Fault rates: faults per 100 device-days, of a group of devices and of the rest.

A **device-day** is one device in service for one day of the period looked at (a device
installed halfway through it counts half the days). The rate of a group is its faults
divided by its device-days, times 100; comparing the affected group with the rest of the
fleet (the other devices of the same type) is what tells a pattern from bad luck. Pure.

>>> group = FaultRate(faults=6, devices=5, device_days=150.0)
>>> rest = FaultRate(faults=3, devices=25, device_days=750.0)
>>> group.per_100_device_days, rest.per_100_device_days
(4.0, 0.4)
>>> RateComparison(group, rest).ratio
10.0
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FaultRate:
    """``faults`` on ``devices`` devices that were in service ``device_days`` in all."""

    faults: int
    devices: int
    device_days: float

    @property
    def per_100_device_days(self) -> float | None:
        """Faults per 100 device-days (rounded to 3 decimals); None without device-days."""
        if self.device_days <= 0:
            return None
        return round(100.0 * self.faults / self.device_days, 3)


@dataclass(frozen=True, slots=True)
class RateComparison:
    """The affected group against the rest of the fleet."""

    group: FaultRate
    rest: FaultRate

    @property
    def ratio(self) -> float | None:
        """How many times the rest's rate the group's is; None when the rest has no faults
        (or no device-days) to compare with.

        >>> RateComparison(FaultRate(2, 2, 10.0), FaultRate(0, 8, 40.0)).ratio is None
        True
        """
        group, rest = self.group.per_100_device_days, self.rest.per_100_device_days
        if group is None or not rest:
            return None
        return round(group / rest, 2)


def stands_out(
    group_faulty: int, group_size: int, rest_faulty: int, rest_size: int, min_ratio: float
) -> bool:
    """Whether a group's share of faulting devices is ``min_ratio`` times the rest's.

    Shares, not rates, because the window is the same for both. A group that is the whole
    fleet of its type has nothing to compare with: nothing sets it apart, so it does not
    stand out (its more specific groups, a batch or a firmware, still may).

    >>> stands_out(3, 5, 1, 25, 2.0)   # 60 % against 4 %
    True
    >>> stands_out(3, 15, 2, 15, 2.0)  # 20 % against 13 %: the model is just common
    False
    >>> stands_out(3, 10, 0, 0, 2.0)
    False
    """
    if group_size <= 0 or rest_size <= 0:
        return False
    return group_faulty / group_size >= min_ratio * (rest_faulty / rest_size)
