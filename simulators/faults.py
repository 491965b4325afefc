"""Injectable, labelled faults: what a failing appliance looks like in its telemetry.

Pure. A fault is planned as data (:class:`InjectedFault`) and applied to each healthy
reading by :func:`apply`; its :attr:`~InjectedFault.label` is the ground truth to compare
the detectors' findings with. The signatures (see shared conventions §6.1) are data too,
in :data:`PROFILES`:

Each profile names the catalog **cause** a right diagnosis gives (the ground truth of
``careline evaluate``'s ``diagnosis_accuracy``), and moves only the metrics the fault really
moves (conventions §6.1).

``compressor_degradation`` (refrigerator; cause ``compressor_wear``)
    From the onset, ``cabinet_temp`` creeps up linearly to +4 °C, ``compressor_power`` to
    +45 % and the duty cycle to +15 % over ``ramp_s``, then stays there: a compressor that
    draws more power for less cooling.
``condenser_fan_failure`` (refrigerator)
    ``condenser_temp`` climbs +15 °C over 8 h; the compressor runs longer (+25 %) against a
    higher head pressure (power +40 %) and the cabinet warms by 2.5 °C.
``door_seal_leak`` (refrigerator)
    Warm air leaks in: over a day the duty cycle and with it the power grow by 40 %
    (the same running power: no regression residual) and the cabinet warms by 1.5 °C.
``bearing_wear`` (washing machine; cause ``drum_bearing_wear``)
    ``vibration_rms`` grows exponentially to ×4 at ``ramp_s`` (×2 halfway) and
    ``motor_power`` linearly to +10 %; then both stay.
``drain_pump_blockage`` (washing machine)
    ``drain_time`` grows exponentially to ×4 over a day (45 s to 3 minutes).
``heating_element_failure`` (washing machine)
    ``water_temp`` falls by 15 °C over 12 hours: the element no longer heats.
``door_left_open`` (refrigerator)
    For ``duration_s``: ``door_open`` is true, the compressor runs flat out (duty and power
    +30 %) and ``cabinet_temp`` rises by 8 °C over ``ramp_s`` (the default, 80 min, is 1 °C
    per 10 minutes). When the door closes the cabinet cools back over 30 minutes.
``refrigerant_leak`` (heat pump)
    Over a day the COP falls to 60 %, the flow-return difference to 70 % and the flow
    temperature by 4 °C: less refrigerant moves less heat for the same power.
``outdoor_fan_failure`` (heat pump)
    Over 8 hours the iced coil makes the compressor draw 30 % more for the weather, the COP
    falls to 70 % and the flow temperature by 2 °C.
``circulation_pump_failure`` (heat pump)
    Less water flows: over 12 hours the flow-return difference grows exponentially to x2.4,
    the flow temperature rises by 5 °C and the COP falls to 90 %.

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
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, Literal

from simulators.fleet import HEAT_PUMP, REFRIGERATOR, WASHING_MACHINE, SimDevice
from simulators.signals import Value

Growth = Literal["linear", "exponential", "step"]


class FaultKind(StrEnum):
    COMPRESSOR_DEGRADATION = "compressor_degradation"
    BEARING_WEAR = "bearing_wear"
    DOOR_LEFT_OPEN = "door_left_open"
    CONDENSER_FAN_FAILURE = "condenser_fan_failure"
    DOOR_SEAL_LEAK = "door_seal_leak"
    DRAIN_PUMP_BLOCKAGE = "drain_pump_blockage"
    HEATING_ELEMENT_FAILURE = "heating_element_failure"
    REFRIGERANT_LEAK = "refrigerant_leak"
    OUTDOOR_FAN_FAILURE = "outdoor_fan_failure"
    CIRCULATION_PUMP_FAILURE = "circulation_pump_failure"


@dataclass(frozen=True, slots=True)
class Effect:
    """What a fault does to one metric at full strength.

    ``op`` "add" adds ``full``, "mul" multiplies by ``full``, "set" replaces the value by
    it. ``growth`` says how the strength goes from nothing at the onset to full at
    ``ramp_s``: "linear", "exponential" (a factor ``full ** progress``, for "mul") or "step"
    (full at once).
    """

    metric: str
    op: Literal["add", "mul", "set"]
    full: float
    growth: Growth


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """The signature of a fault kind and its defaults."""

    device_type: str
    effects: tuple[Effect, ...]
    ramp_s: float  # default time from onset to full strength
    duration_s: float | None  # default duration; None = until the end of the run
    recover_s: float  # once over, how long the effects take to fade
    cause: str  # the catalog cause (devices/catalog.toml) a right diagnosis names

    @property
    def metrics(self) -> frozenset[str]:
        """The metrics this fault moves: the only ones a detection of it may be on."""
        return frozenset(e.metric for e in self.effects)


PROFILES: Final[dict[FaultKind, FaultProfile]] = {
    FaultKind.COMPRESSOR_DEGRADATION: FaultProfile(
        device_type=REFRIGERATOR,
        effects=(
            Effect("cabinet_temp", "add", 4.0, "linear"),
            Effect("compressor_power", "mul", 1.45, "linear"),
            Effect("duty_cycle", "mul", 1.15, "linear"),
        ),
        ramp_s=6 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="compressor_wear",
    ),
    FaultKind.CONDENSER_FAN_FAILURE: FaultProfile(
        device_type=REFRIGERATOR,
        effects=(
            Effect("condenser_temp", "add", 15.0, "linear"),
            Effect("duty_cycle", "mul", 1.25, "linear"),
            Effect("compressor_power", "mul", 1.40, "linear"),
            Effect("cabinet_temp", "add", 2.5, "linear"),
        ),
        ramp_s=8 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="condenser_fan_failure",
    ),
    FaultKind.DOOR_SEAL_LEAK: FaultProfile(
        device_type=REFRIGERATOR,
        effects=(
            Effect("duty_cycle", "mul", 1.40, "linear"),
            Effect("compressor_power", "mul", 1.40, "linear"),
            Effect("cabinet_temp", "add", 1.5, "linear"),
        ),
        ramp_s=24 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="door_seal_leak",
    ),
    FaultKind.DRAIN_PUMP_BLOCKAGE: FaultProfile(
        device_type=WASHING_MACHINE,
        effects=(Effect("drain_time", "mul", 4.0, "exponential"),),
        ramp_s=24 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="drain_pump_blockage",
    ),
    FaultKind.HEATING_ELEMENT_FAILURE: FaultProfile(
        device_type=WASHING_MACHINE,
        effects=(Effect("water_temp", "add", -15.0, "linear"),),
        ramp_s=12 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="heating_element_failure",
    ),
    FaultKind.BEARING_WEAR: FaultProfile(
        device_type=WASHING_MACHINE,
        effects=(
            Effect("vibration_rms", "mul", 4.0, "exponential"),
            Effect("motor_power", "mul", 1.10, "linear"),
        ),
        ramp_s=12 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="drum_bearing_wear",
    ),
    FaultKind.DOOR_LEFT_OPEN: FaultProfile(
        device_type=REFRIGERATOR,
        effects=(
            Effect("door_open", "set", 1.0, "step"),
            Effect("cabinet_temp", "add", 8.0, "linear"),
            Effect("compressor_power", "mul", 1.30, "step"),
            Effect("duty_cycle", "mul", 1.30, "step"),
        ),
        ramp_s=80 * 60.0,  # +8 °C in 80 min: 1 °C per 10 min
        duration_s=90 * 60.0,
        recover_s=30 * 60.0,
        cause="door_left_open",
    ),
    FaultKind.REFRIGERANT_LEAK: FaultProfile(
        device_type=HEAT_PUMP,
        effects=(
            Effect("cop", "mul", 0.60, "linear"),
            Effect("delta_t", "mul", 0.70, "linear"),
            Effect("flow_temp", "add", -4.0, "linear"),
        ),
        ramp_s=24 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="refrigerant_leak",
    ),
    FaultKind.OUTDOOR_FAN_FAILURE: FaultProfile(
        device_type=HEAT_PUMP,
        effects=(
            Effect("electric_power", "mul", 1.30, "linear"),
            Effect("cop", "mul", 0.70, "linear"),
            Effect("flow_temp", "add", -2.0, "linear"),
        ),
        ramp_s=8 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="outdoor_fan_failure",
    ),
    FaultKind.CIRCULATION_PUMP_FAILURE: FaultProfile(
        device_type=HEAT_PUMP,
        effects=(
            Effect("delta_t", "mul", 2.4, "exponential"),
            Effect("flow_temp", "add", 5.0, "linear"),
            Effect("return_temp", "add", -2.0, "linear"),
            Effect("cop", "mul", 0.90, "linear"),
        ),
        ramp_s=12 * 3600.0,
        duration_s=None,
        recover_s=0.0,
        cause="circulation_pump_failure",
    ),
}


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


def plan_faults(
    fleet: Sequence[SimDevice],
    count: int,
    seed: int,
    window: tuple[float, float],
    *,
    kinds: Sequence[FaultKind] | None = None,
    ramp_s: Mapping[FaultKind, float] | None = None,
) -> list[InjectedFault]:
    """``count`` faults on distinct devices of the right type, onsets inside ``window``.

    Kinds take turns in the order of ``kinds`` (default: every :class:`FaultKind`), skipping
    kinds whose device type has no device left; each fault goes to a device picked at
    random among those of its type without a fault yet. Onsets are whole minutes in
    ``[start, end)`` when the window allows. ``ramp_s`` overrides the profiles' default
    ramps. Deterministic for ``seed``; sorted by onset. ``ValueError`` when the fleet has
    too few devices of the needed types.
    """
    start, end = window
    if not end > start:
        raise ValueError(f"the window must end after it starts, got {window!r}")
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    rng = random.Random(f"careline-faults:{seed}")
    order = list(kinds) if kinds is not None else list(FaultKind)
    free: dict[str, list[SimDevice]] = {}
    for device in fleet:
        free.setdefault(device.device_type, []).append(device)
    ramps = dict(ramp_s or {})

    planned: list[InjectedFault] = []
    turn = 0
    while len(planned) < count:
        candidates = [k for k in order if free.get(PROFILES[k].device_type)]
        if not candidates:
            raise ValueError(
                f"cannot plan {count} faults of kinds {[str(k) for k in order]}: only "
                f"{len(planned)} devices of the needed types"
            )
        kind = candidates[turn % len(candidates)]
        turn += 1
        profile = PROFILES[kind]
        pool = free[profile.device_type]
        device = pool.pop(rng.randrange(len(pool)))
        planned.append(
            InjectedFault(
                serial=device.serial,
                kind=kind,
                onset=_onset(rng, start, end),
                ramp_s=ramps.get(kind, profile.ramp_s),
                duration_s=profile.duration_s,
            )
        )
    return sorted(planned, key=lambda f: (f.onset, f.serial))


def _onset(rng: random.Random, start: float, end: float) -> float:
    """A random instant in ``[start, end)``, on a whole minute when one is inside."""
    first = math.ceil(start / 60.0) * 60.0
    if first >= end:
        return start + rng.random() * (end - start)
    minutes = math.ceil((end - first) / 60.0)
    return first + 60.0 * rng.randrange(minutes)


def plan_batch_fault(
    fleet: Sequence[SimDevice],
    taken: Iterable[str],
    onset: float,
    *,
    kind: FaultKind = FaultKind.COMPRESSOR_DEGRADATION,
    devices: int = 4,
    stagger_s: float = 900.0,
) -> list[InjectedFault]:
    """The same fault on up to ``devices`` devices of one production batch: a bad lot of
    parts, for the fleet view to find as one product issue.

    The batch is the one of ``kind``'s device type with the most devices not in ``taken``
    (ties: the first batch name); onsets are ``stagger_s`` apart from ``onset``. Nothing
    when no batch has three such devices. Deterministic.

    >>> from simulators.fleet import make_fleet
    >>> [f.serial for f in plan_batch_fault(make_fleet(7, 18, 0), [], 1_795_485_600.0)]
    ['FR-000005', 'FR-000009', 'FR-000014', 'FR-000015']
    """
    profile = PROFILES[kind]
    busy = set(taken)
    batches: dict[str, list[SimDevice]] = {}
    for device in fleet:
        if (
            device.device_type == profile.device_type
            and device.production_batch
            and device.serial not in busy
        ):
            batches.setdefault(device.production_batch, []).append(device)
    if not batches:
        return []
    batch = min(batches, key=lambda name: (-len(batches[name]), name))
    chosen = batches[batch][:devices]
    if len(chosen) < 3:
        return []
    return [
        InjectedFault(
            serial=device.serial,
            kind=kind,
            onset=onset + index * stagger_s,
            ramp_s=profile.ramp_s,
            duration_s=profile.duration_s,
        )
        for index, device in enumerate(chosen)
    ]
