"""Normal behaviour beyond a daily cycle: defrost cycles and a heat pump's weather.

Pure and deterministic per serial; nothing here draws from a device's noise stream, so a
device's random values stay what they were. :func:`shape` rewrites a device's healthy
readings at one instant (before faults are applied), per device type (:data:`SHAPERS`):

refrigerator (NoFrost models only, :data:`DEFROST_MODELS`)
    Every 8 hours the controller reports a defrost (``defrost`` true for 13 minutes) and a
    minute later stops the compressor (duty cycle x0.1, and so the power) and runs the
    heater for 12: the freezer warms by up to 2.5 °C and the cabinet by 0.2 °C.
heat_pump
    The outdoor temperature has weather on top of its daily cycle (two slow waves of 3.1 and
    5.3 days, together up to ±5 °C). The flow temperature follows the heating curve
    (+0.6 °C per °C colder), the electrical power rises 3.5 % per °C colder, the COP falls
    0.07 per °C colder, the flow-return difference grows a little; the return temperature is
    the flow minus that difference. Below 5 °C outside the coil ices and the unit defrosts
    for 6 minutes every 70: ``defrost`` is true, the flow dips by 3.5 °C, heat flows back
    (the difference turns negative), the COP drops to a third.

>>> from simulators.fleet import make_device
>>> pump = make_device(1, "heat_pump", 1)
>>> values = {"outdoor_temp": 4.0, "flow_temp": 40.0, "return_temp": 35.0, "delta_t": 5.0,
...           "electric_power": 1600.0, "cop": 3.2, "defrost": False}
>>> shaped = shape(pump, 0.0, values, lambda key: 4.0)
>>> shaped["return_temp"] == shaped["flow_temp"] - shaped["delta_t"]
True
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Final

from simulators.fleet import DAY_S, HEAT_PUMP, REFRIGERATOR, SimDevice

Values = dict[str, float | bool]
Base = Callable[[str], float]
"""metric key -> its noiseless healthy value at the instant being shaped."""

DEFROST_MODELS: Final = frozenset({"CoolFrost CF-520 NoFrost", "CoolFrost CF-610 Side-by-Side"})
FRIDGE_DEFROST_EVERY_S: Final = 8 * 3600.0
FRIDGE_HEATER_S: Final = 13 * 60.0
FLAG_LEADS_S: Final = 60.0

OUTDOOR_MEAN: Final = 4.0  # the catalog's typical outdoor temperature, the curve's pivot
HEATING_CURVE: Final = 0.6  # flow °C per °C colder outside
POWER_PER_K: Final = 0.035
COP_PER_K: Final = 0.07
DELTA_T_PER_K: Final = 0.04
ICING_BELOW: Final = 5.0
PUMP_DEFROST_EVERY_S: Final = 70 * 60.0
PUMP_DEFROST_S: Final = 6 * 60.0


def _offset(serial: str, what: str, period: float) -> float:
    """A fixed offset in [0, period) for ``serial``: devices do not defrost in step."""
    return float(zlib.crc32(f"{what}:{serial}".encode()) % int(period))


def _number(values: Values, key: str) -> float:
    value = values[key]
    return float(value)


def _fridge(device: SimDevice, t: float, values: Values, base: Base) -> Values:
    if device.model not in DEFROST_MODELS:
        return values
    into = (t + _offset(device.serial, "defrost", FRIDGE_DEFROST_EVERY_S)) % FRIDGE_DEFROST_EVERY_S
    if into < FRIDGE_HEATER_S:
        values["defrost"] = True
        if into < FLAG_LEADS_S:  # the controller reports the defrost, then stops the compressor
            return values
        heat = math.sin(math.pi * (into - FLAG_LEADS_S) / (FRIDGE_HEATER_S - FLAG_LEADS_S))
        values["duty_cycle"] = _number(values, "duty_cycle") * 0.1
        values["freezer_temp"] = _number(values, "freezer_temp") + 2.5 * heat
        values["cabinet_temp"] = _number(values, "cabinet_temp") + 0.2 * heat
    return values


def weather(device: SimDevice, t: float) -> float:
    """The slow part of the outdoor temperature at ``t``, in °C (within ±5)."""
    turn = _offset(device.serial, "weather", 1000.0) / 1000.0 * 2 * math.pi
    return 3.0 * math.sin(2 * math.pi * t / (3.1 * DAY_S) + turn) + 2.0 * math.sin(
        2 * math.pi * t / (5.3 * DAY_S) + 2 * turn
    )


def _heat_pump(device: SimDevice, t: float, values: Values, base: Base) -> Values:
    slow = weather(device, t)
    outdoor = _number(values, "outdoor_temp") + slow
    values["outdoor_temp"] = outdoor
    colder = OUTDOOR_MEAN - outdoor
    flow = _number(values, "flow_temp") + HEATING_CURVE * colder
    delta_t = _number(values, "delta_t") + DELTA_T_PER_K * colder
    power = _number(values, "electric_power") * max(1.0 + POWER_PER_K * colder, 0.3)
    cop = _number(values, "cop") - COP_PER_K * colder
    # icing depends on the air, not on the sensor's noise: the noiseless outdoor level
    defrosting = base("outdoor_temp") + slow < ICING_BELOW
    into = (t + _offset(device.serial, "defrost", PUMP_DEFROST_EVERY_S)) % PUMP_DEFROST_EVERY_S
    defrost = defrosting and into < PUMP_DEFROST_S
    if defrost:
        flow -= 3.5
        delta_t *= -0.2
        cop /= 3.0
        power *= 0.85
    values.update(
        flow_temp=flow,
        delta_t=delta_t,
        return_temp=flow - delta_t,
        electric_power=power,
        cop=cop,
        defrost=defrost,
    )
    return values


SHAPERS: Final[dict[str, Callable[[SimDevice, float, Values, Base], Values]]] = {
    REFRIGERATOR: _fridge,
    HEAT_PUMP: _heat_pump,
}


def shape(device: SimDevice, t: float, values: Values, base: Base) -> Values:
    """``values`` (healthy readings at ``t``) with the device type's behaviour applied, in
    place; ``base`` gives a metric's noiseless healthy value at ``t``."""
    shaper = SHAPERS.get(device.device_type)
    return values if shaper is None else shaper(device, t, values, base)
