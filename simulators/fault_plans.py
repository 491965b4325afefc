"""Where and when faults strike: seeded plans of injected faults over a simulated fleet.

Pure and deterministic for a seed. :func:`plan_faults` spreads the fault kinds over devices of
the right type; :func:`plan_batch_fault` puts one kind on several devices of a production
batch (a bad lot of parts).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence

from simulators.fault_profiles import PROFILES, FaultKind
from simulators.faults import InjectedFault
from simulators.fleet import SimDevice


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
