"""Injectable, labelled faults: what a failing appliance looks like in its telemetry.

Pure. A fault is planned as data (:class:`InjectedFault`, placed by
:mod:`simulators.fault_plans`) and applied to each healthy
reading by :func:`apply`; its :attr:`~InjectedFault.label` is the ground truth to compare
the detectors' findings with. The signatures (see shared conventions §6.1) are data too,
in :data:`simulators.fault_profiles.PROFILES`.

A fault with ``duration_s`` None lasts until the end of the run; one with a duration ends
then (a repair, or the door closed) and its effects fade over the profile's ``recover_s``.

>>> fault = InjectedFault("FR-000003", FaultKind.COMPRESSOR_DEGRADATION, 1_795_485_600, 3600)
>>> fault.label
'FR-000003 compressor_degradation from 2026-11-24T02:00Z'
>>> apply(fault, "cabinet_temp", 1_795_485_600 + 1800, 4.0)
6.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from simulators.fault_profiles import PROFILES, Effect, FaultKind, FaultProfile, Growth
from simulators.signals import Value


@dataclass(frozen=True, slots=True)
class InjectedFault:
    """A fault on one device from ``onset`` (UTC epoch s), full strength after ``ramp_s``."""

    serial: str
    kind: FaultKind
    onset: float
    ramp_s: float
    duration_s: float | None = None

    def __post_init__(self) -> None:
        # Accept the plain string too ("bearing_wear"); an unknown kind is a ValueError.
        object.__setattr__(self, "kind", FaultKind(self.kind))
        if not self.ramp_s > 0:
            raise ValueError(f"ramp_s must be positive, got {self.ramp_s!r}")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"duration_s must be positive or None, got {self.duration_s!r}")

    @property
    def profile(self) -> FaultProfile:
        return PROFILES[self.kind]

    @property
    def end(self) -> float | None:
        """When the fault stops (UTC epoch s), or None if it lasts."""
        return None if self.duration_s is None else self.onset + self.duration_s

    @property
    def label(self) -> str:
        """``FR-000003 compressor_degradation from 2026-11-24T02:00Z``."""
        start = datetime.fromtimestamp(self.onset, tz=UTC)
        return f"{self.serial} {self.kind.value} from {start:%Y-%m-%dT%H:%MZ}"


def strength(fault: InjectedFault, t: float, growth: Growth = "linear") -> float:
    """How strong the fault is at ``t``: 0 before the onset, 1 at full strength.

    It grows over ``ramp_s`` ("linear"/"exponential" growth; "step" is full at once) and,
    after the end of a fault with a duration, fades linearly to 0 over ``recover_s``.
    """
    if t < fault.onset:
        return 0.0
    end = fault.end
    fade = 1.0
    if end is not None and t >= end:
        recover_s = fault.profile.recover_s
        if recover_s <= 0:
            return 0.0
        fade = max(1.0 - (t - end) / recover_s, 0.0)
        t = end
    if growth == "step":
        return fade
    return min((t - fault.onset) / fault.ramp_s, 1.0) * fade


def is_active(fault: InjectedFault, t: float) -> bool:
    """Whether the fault is going on at ``t`` (between the onset and its end)."""
    end = fault.end
    return fault.onset <= t and (end is None or t < end)


def _effect(effect: Effect, fault: InjectedFault, t: float, value: Value) -> Value:
    if effect.op == "set":
        if not is_active(fault, t):
            return value
        return bool(effect.full) if isinstance(value, bool) else effect.full
    progress = strength(fault, t, effect.growth)
    if isinstance(value, bool) or progress <= 0.0:
        return value
    if effect.op == "add":
        return value + effect.full * progress
    if effect.growth == "exponential":
        return value * math.pow(effect.full, progress)
    return value * (1.0 + (effect.full - 1.0) * progress)


def apply(fault: InjectedFault, metric: str, t: float, value: Value) -> Value:
    """``value`` of ``metric`` at ``t`` as the fault makes it (unchanged if unaffected).

    Does not check the serial: pass only the faults of the device the value belongs to.
    """
    for effect in fault.profile.effects:
        if effect.metric == metric:
            value = _effect(effect, fault, t, value)
    return value


def apply_all(faults: Sequence[InjectedFault], metric: str, t: float, value: Value) -> Value:
    """``value`` after every fault in ``faults`` (all of one device), in order."""
    for fault in faults:
        value = apply(fault, metric, t, value)
    return value
