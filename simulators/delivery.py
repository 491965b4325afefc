"""How a device's readings reach ingest: lost silences, late uploads and sensor drop-outs.

Pure and seeded per device. :func:`deliveries` turns a device's readings, taken every
``step_s`` of device time, into what the broker would hand ingest, in **arrival order**:

* **silences** (:func:`simulators.nuisances.gaps`: a router rebooted): nothing measured
  is sent, ever;
* **buffered outages** (:func:`outages`: the uplink is down, the device keeps measuring):
  the readings are kept on the device and uploaded once it is back, after the live reading
  of the moment it reconnects, :data:`UPLOAD_PER_STEP` of them per step, so they arrive
  late and out of order among live ones, as a real device's backlog does;
* **sensor drop-outs** (:func:`dropouts`: a loose connector): one metric is missing from
  the device's readings for a while, the others report;
* **switched off while away**: a washing machine whose household is away
  (:mod:`simulators.household`) is off at the wall and sends nothing.

``values_at(t)`` is called for every step in time order, sent or not, so the device's noise
stream does not depend on what was lost.

>>> from simulators.fleet import make_device
>>> fridge = make_device(1, "refrigerator", 1)
>>> planned = outages(fridge, 1, 0.0, 4 * 86400.0)
>>> [(round(a / 3600, 1), round((b - a) / 3600, 1)) for a, b in planned]
[(45.5, 5.6), (78.8, 2.6)]
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from simulators.fleet import WASHING_MACHINE, SimDevice
from simulators.household import away
from simulators.nuisances import gaps, silent

OUTAGES_PER_DAY: Final = 0.3
OUTAGE_HOURS: Final = (1.0, 6.0)
DROPOUTS_PER_DAY: Final = 0.3
DROPOUT_HOURS: Final = (5 / 60, 2.0)
UPLOAD_PER_STEP: Final = 30
"""Backlog readings a device uploads with each live one after an outage."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """Readings taken at device time ``t`` that reach ingest at ``arrival``."""

    arrival: float
    t: float
    values: dict[str, float | bool]

    @property
    def late(self) -> bool:
        return self.arrival > self.t


def _periods(
    name: str, rate_per_day: float, hours: tuple[float, float], seed: int, serial: str
) -> Callable[[float, float], list[tuple[float, float]]]:
    def plan(start: float, end: float) -> list[tuple[float, float]]:
        rng = random.Random(f"careline-{name}:{seed}:{serial}")
        out: list[tuple[float, float]] = []
        t = start
        while True:
            t += rng.expovariate(rate_per_day / 86400.0)
            if t >= end:
                return out
            length = rng.uniform(*hours) * 3600.0
            out.append((t, min(t + length, end)))
            t += length

    return plan


def outages(device: SimDevice, seed: int, start: float, end: float) -> list[tuple[float, float]]:
    """The device's buffered outages ``[from, to)`` within ``[start, end)``, in order."""
    return _periods("outages", OUTAGES_PER_DAY, OUTAGE_HOURS, seed, device.serial)(start, end)


def dropouts(
    device: SimDevice, seed: int, start: float, end: float, metrics: Sequence[str]
) -> list[tuple[str, float, float]]:
    """Sensor drop-outs ``(metric, from, to)`` within ``[start, end)``, in order."""
    periods = _periods("dropouts", DROPOUTS_PER_DAY, DROPOUT_HOURS, seed, device.serial)
    rng = random.Random(f"careline-dropped:{seed}:{device.serial}")
    return [(rng.choice(metrics), a, b) for a, b in periods(start, end)] if metrics else []


def deliveries(
    device: SimDevice,
    seed: int,
    start: float,
    end: float,
    step_s: float,
    values_at: Callable[[float], dict[str, float | bool]],
    metrics: Sequence[str],
) -> Iterator[Delivery]:
    """The device's readings from ``start`` to ``end`` as ingest receives them (see above)."""
    lost = gaps(device, seed, start, end)
    lost_starts = [a for a, _ in lost]
    buffered = outages(device, seed, start, end)
    buffered_starts = [a for a, _ in buffered]
    dropped = dropouts(device, seed, start, end, metrics)
    switched_off = device.device_type == WASHING_MACHINE
    backlog: deque[tuple[float, dict[str, float | bool]]] = deque()
    t = start
    while t < end:
        values = values_at(t)
        for metric, a, b in dropped:
            if a <= t < b:
                values.pop(metric, None)
        if (lost and silent(lost, lost_starts, t)) or (switched_off and away(device, t)):
            t += step_s
            continue
        if buffered and silent(buffered, buffered_starts, t):
            backlog.append((t, values))
            t += step_s
            continue
        yield Delivery(t, t, values)
        for _ in range(min(UPLOAD_PER_STEP, len(backlog))):
            taken, old = backlog.popleft()
            yield Delivery(t, taken, old)
        t += step_s
    while backlog:  # the run ends: what is still buffered arrives with the last upload
        taken, old = backlog.popleft()
        yield Delivery(end, taken, old)
