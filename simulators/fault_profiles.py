"""The fault kinds and their signatures: what each does to its appliance type's metrics.

Pure data (see shared conventions §6.1), one :class:`FaultProfile` per :class:`FaultKind` in
:data:`PROFILES`; :mod:`simulators.faults` applies them to readings.

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
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from simulators.fleet import HEAT_PUMP, REFRIGERATOR, WASHING_MACHINE

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
