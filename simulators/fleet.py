"""The simulated fleet: which appliances exist, their models, firmware and personal quirks.

:func:`make_fleet` is a **stable contract**: the CRM seed data (:mod:`careline.demo.seed`) registers
exactly the devices it returns, and the simulator publishes telemetry for the same serials.
For a given ``seed`` it always returns the same devices, and each device depends only on
``(seed, serial)``: asking for more refrigerators or washing machines appends devices and
never changes the ones already there.

>>> fleet = make_fleet(7, refrigerators=2, washing_machines=1)
>>> [device.serial for device in fleet]
['FR-000001', 'FR-000002', 'WM-000001']
>>> make_fleet(7, 3, 1)[:2] == fleet[:2]
True

Changing the tables below (models, firmware, weights) or the order of the draws in
:func:`make_device` changes every simulated device, and so the seeded demo: treat them as a
data format.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

REFRIGERATOR: Final = "refrigerator"
WASHING_MACHINE: Final = "washing_machine"
HEAT_PUMP: Final = "heat_pump"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A product line: its name, the firmware versions in the field and its power level,
    and the production batches its devices come from."""

    name: str
    firmware: tuple[str, ...]
    weight: float  # how common the model is in the fleet (relative)
    level: float  # multiplies the catalog's typical means (a bigger model draws more)
    batches: tuple[str, ...] = ()


# Serial prefix and product lines per catalog device type.
SERIAL_PREFIX: Final[dict[str, str]] = {REFRIGERATOR: "FR", WASHING_MACHINE: "WM", HEAT_PUMP: "HP"}
MODELS: Final[dict[str, tuple[ModelSpec, ...]]] = {
    REFRIGERATOR: (
        ModelSpec("CoolFrost CF-300", ("2.4.1", "2.5.0"), 5.0, 1.00, ("CF300-2418", "CF300-2431")),
        ModelSpec(
            "CoolFrost CF-520 NoFrost",
            ("3.1.2", "3.2.0", "3.2.1"),
            3.0,
            1.06,
            ("CF520-2409", "CF520-2427"),
        ),
        ModelSpec("CoolFrost CF-610 Side-by-Side", ("3.2.1",), 2.0, 1.12, ("CF610-2422",)),
    ),
    WASHING_MACHINE: (
        ModelSpec("AquaSpin AS-714", ("1.8.3", "1.9.0"), 5.0, 1.00, ("AS714-2411", "AS714-2433")),
        ModelSpec("AquaSpin AS-912 Eco", ("2.0.4", "2.1.1"), 3.0, 0.92, ("AS912-2420",)),
        ModelSpec("AquaSpin AS-1014 Pro", ("2.1.1",), 2.0, 1.08, ("AS1014-2425",)),
    ),
    # Levels stay near 1: a heat pump's level scales its temperatures and COP too.
    HEAT_PUMP: (
        ModelSpec("ThermaFlow HP-8 Air/Water", ("4.0.2", "4.1.0"), 4.0, 0.97, ("HP8-2436",)),
        ModelSpec("ThermaFlow HP-12 Air/Water", ("4.1.0",), 3.0, 1.00, ("HP12-2440",)),
        ModelSpec("ThermaFlow HP-16 Hybrid", ("4.1.0", "4.2.1"), 1.0, 1.04, ("HP16-2445",)),
    ),
}

DAY_S: Final = 86_400.0
MAX_PHASE_S: Final = 2 * 3600.0  # households differ by up to two hours in their daily rhythm


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One simulated appliance.

    ``phase`` shifts the device's daily cycle, in seconds (within ±2 h). The scale factors
    make devices of one model differ a little: ``level_scale`` multiplies every typical mean
    (model level times a personal factor), ``cycle_scale`` the daily amplitude and
    ``noise_scale`` the noise, all relative to the metric catalog's ``typical`` values.
    ``production_batch`` is the batch it was built in (one of its model's).
    """

    serial: str
    device_type: str
    model: str
    firmware: str
    phase: float
    level_scale: float
    cycle_scale: float
    noise_scale: float
    production_batch: str | None = None


def serial_for(device_type: str, number: int) -> str:
    """The serial of the ``number``-th device (from 1) of a type: ``FR-000001``."""
    try:
        prefix = SERIAL_PREFIX[device_type]
    except KeyError:
        raise ValueError(f"no simulated devices of type {device_type!r}") from None
    if not 1 <= number <= 999_999:
        raise ValueError(f"device number {number} must be within 1..999999")
    return f"{prefix}-{number:06d}"


def make_device(seed: int, device_type: str, number: int) -> SimDevice:
    """The ``number``-th simulated device of ``device_type``; depends on nothing else."""
    serial = serial_for(device_type, number)
    # A string seed is hashed with SHA-512, so this does not depend on PYTHONHASHSEED.
    rng = random.Random(f"careline-fleet:{seed}:{serial}")
    models = MODELS[device_type]
    model = rng.choices(models, weights=[m.weight for m in models])[0]
    return SimDevice(
        serial=serial,
        device_type=device_type,
        model=model.name,
        firmware=rng.choice(model.firmware),
        phase=round(rng.uniform(-MAX_PHASE_S, MAX_PHASE_S), 1),
        level_scale=round(model.level * rng.uniform(0.97, 1.03), 4),
        cycle_scale=round(rng.uniform(0.7, 1.3), 4),
        noise_scale=round(rng.uniform(0.8, 1.2), 4),
        production_batch=_batch(seed, serial, model),
    )


def _batch(seed: int, serial: str, model: ModelSpec) -> str | None:
    """The device's production batch, from a draw of its own: adding batches changed none of
    the draws above, so every device (and the seeded demo) stays what it was."""
    if not model.batches:
        return None
    return random.Random(f"careline-batch:{seed}:{serial}").choice(model.batches)


def make_fleet(
    seed: int, refrigerators: int, washing_machines: int, heat_pumps: int = 0
) -> list[SimDevice]:
    """``refrigerators`` fridges (``FR-000001``...), then ``washing_machines`` washers
    (``WM-000001``...), then ``heat_pumps`` heat pumps (``HP-000001``...), deterministic for
    ``seed``.
    """
    if refrigerators < 0 or washing_machines < 0 or heat_pumps < 0:
        raise ValueError("device counts must not be negative")
    counts = ((REFRIGERATOR, refrigerators), (WASHING_MACHINE, washing_machines))
    return [
        make_device(seed, kind, n)
        for kind, count in (*counts, (HEAT_PUMP, heat_pumps))
        for n in range(1, count + 1)
    ]
