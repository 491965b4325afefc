"""Normal behaviour of a simulated device: catalog baseline, daily cycle and seeded noise.

Pure functions. Every number comes from the metric catalog's ``typical`` values
(:class:`devices.catalog.Typical`), scaled by the device's personal factors
(:class:`~simulators.fleet.SimDevice`):

- numbers: ``mean * level_scale + daily_amplitude * cycle_scale * cycle(t) + noise``, where
  the noise is Gaussian with standard deviation ``noise * noise_scale``, and the result is
  clipped to the metric's catalog range and rounded to 3 decimals;
- booleans (``door_open``): a rare event, true with probability ``mean`` (plus
  ``daily_amplitude * cycle(t)``), drawn independently at each reading.

``cycle(t)`` is a cosine in [-1, 1] over the UTC day, shifted by the device's ``phase``;
its shape per device type is data (:data:`CYCLES`): refrigerators are warmest (and work
hardest) in the afternoon, washing machines run in the morning and in the evening.

Noise comes from one ``random.Random`` per device, seeded from ``(seed, serial)``
(:func:`device_rng`), so a device's stream does not depend on the rest of the fleet. Each
reading draws the same number of random values whatever its value, so faults (applied
afterwards, see :mod:`simulators.faults`) do not shift the stream either.

>>> from devices.catalog import load_catalog
>>> from simulators.fleet import make_device
>>> fridge = make_device(1, "refrigerator", 1)
>>> spec = load_catalog().device_type("refrigerator")
>>> values = readings(fridge, spec, 1_763_971_200.0, device_rng(1, fridge.serial))
>>> sorted(values)  # doctest: +NORMALIZE_WHITESPACE
['cabinet_temp', 'compressor_power', 'condenser_temp', 'defrost', 'door_open', 'duty_cycle',
 'freezer_temp']

Some metrics **follow** another one (:data:`FOLLOWS`): a compressor's average power is its
running power times its duty cycle, a washer's motor power goes with the drum speed. The
follower is multiplied by how far the leader's reading is from the leader's noiseless value
at that moment, so the two share the leader's noise, as the real quantities do (what the
regression detector learns). It draws nothing more from the random stream.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final, TypeAlias

from devices.catalog import DeviceType, MetricSpec
from simulators.behaviour import shape
from simulators.fleet import DAY_S, HEAT_PUMP, REFRIGERATOR, WASHING_MACHINE, SimDevice
from simulators.household import away

Value: TypeAlias = float | bool

DECIMALS: Final = 3  # the resolution the simulated sensors report


@dataclass(frozen=True, slots=True)
class DailyCycle:
    """A cosine over the UTC day with ``peaks_per_day`` maxima, the first at ``first_peak_h``."""

    peaks_per_day: int
    first_peak_h: float

    def at(self, t: float) -> float:
        """The cycle's value in [-1, 1] at UTC epoch second ``t``."""
        day_fraction = (t % DAY_S) / DAY_S - self.first_peak_h / 24.0
        return math.cos(2.0 * math.pi * self.peaks_per_day * day_fraction)


CYCLES: Final[dict[str, DailyCycle]] = {
    REFRIGERATOR: DailyCycle(peaks_per_day=1, first_peak_h=15.0),  # warm kitchen afternoons
    WASHING_MACHINE: DailyCycle(peaks_per_day=2, first_peak_h=8.0),  # 08:00 and 20:00 loads
    HEAT_PUMP: DailyCycle(peaks_per_day=1, first_peak_h=15.0),  # warmest outside mid-afternoon
}
DEFAULT_CYCLE: Final = DailyCycle(peaks_per_day=1, first_peak_h=15.0)

FOLLOWS: Final[dict[str, dict[str, str]]] = {
    REFRIGERATOR: {"compressor_power": "duty_cycle"},
    WASHING_MACHINE: {"motor_power": "drum_speed"},
}
"""device type -> follower metric -> the leader it is proportional to."""

SHAPED: Final = frozenset({REFRIGERATOR, HEAT_PUMP})
"""Device types whose readings :func:`simulators.behaviour.shape` rewrites."""


def device_rng(seed: int, serial: str) -> random.Random:
    """The noise source of one device, seeded from ``(seed, serial)`` only."""
    # A string seed is hashed with SHA-512, so this does not depend on PYTHONHASHSEED.
    return random.Random(f"careline-signals:{seed}:{serial}")


def cycle(device: SimDevice, t: float) -> float:
    """The device's daily cycle at ``t``, in [-1, 1]."""
    return CYCLES.get(device.device_type, DEFAULT_CYCLE).at(t + device.phase)


def finish(metric: MetricSpec, value: Value) -> Value:
    """A number clipped to the metric's catalog range and rounded; a boolean unchanged."""
    if isinstance(value, bool):
        return value
    return round(min(max(value, metric.low), metric.high), DECIMALS)


def sample(
    device: SimDevice, metric: MetricSpec, t: float, rng: random.Random, rate: float = 1.0
) -> Value:
    """The healthy reading of ``metric`` on ``device`` at UTC epoch second ``t``.

    Draws exactly one value from ``rng`` (none for a boolean whose typical rate is 0: a
    state the device sets, such as ``defrost``). ``rate`` scales how often a boolean event happens
    (0 while the household is away: nobody opens the door).
    """
    typical = metric.typical
    daily = typical.daily_amplitude * device.cycle_scale * cycle(device, t)
    if metric.kind == "boolean":
        if typical.mean == 0.0 and typical.daily_amplitude == 0.0:
            return False  # a state the device sets (defrost), never random: draws nothing
        return rng.random() < min(max(typical.mean + daily, 0.0), 1.0) * rate
    noise = rng.gauss(0.0, typical.noise * device.noise_scale)
    return finish(metric, typical.mean * device.level_scale + daily + noise)


def expected(device: SimDevice, metric: MetricSpec, t: float) -> float:
    """The noiseless healthy value of a numeric metric at ``t``."""
    typical = metric.typical
    daily = typical.daily_amplitude * device.cycle_scale * cycle(device, t)
    return typical.mean * device.level_scale + daily


def readings(
    device: SimDevice, device_type: DeviceType, t: float, rng: random.Random
) -> dict[str, Value]:
    """Every metric of ``device_type`` at ``t``, in catalog order: the household's presence
    (:mod:`simulators.household`) and the device's defrost and weather
    (:mod:`simulators.behaviour`) included."""
    metrics = device_type.metrics
    rate = 0.0 if away(device, t) else 1.0
    values = {key: sample(device, spec, t, rng, rate) for key, spec in metrics.items()}
    if device.device_type in SHAPED:
        shape(device, t, values, lambda key: expected(device, metrics[key], t))
        values = {key: finish(metrics[key], value) for key, value in values.items()}
    for follower, leader in FOLLOWS.get(device.device_type, {}).items():
        if follower not in values or leader not in values:
            continue
        base = expected(device, metrics[leader], t)
        value, lead = values[follower], values[leader]
        if base > 0 and not isinstance(value, bool) and not isinstance(lead, bool):
            values[follower] = finish(metrics[follower], value * lead / base)
    return values
