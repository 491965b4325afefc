"""``careline evaluate``: how good the detectors are, measured on the simulator's labelled faults.

A seeded fleet reports every minute for ``days`` days; faults from :mod:`simulators.faults`
are injected on some devices after the detectors' warm-up. Every reading goes through the
real detectors (:class:`~devices.detection.fleet.FleetDetectors`, with the catalog's hard
limits), exactly as ingest feeds them, and each fault the detectors raise is matched with
the ground truth:

* an injected fault is **detected before failure** when a fault opens on its device, **on
  one of the metrics that fault moves** (a cabinet-temperature alarm does not count as
  finding a washer's drain pump, nor a noise alarm on another metric of the same
  device), between its onset and its *failure*, taken as the moment it reaches full
  strength (onset + ramp): the appliance has then failed for the customer;
* **lead time** is failure minus the moment the fault was raised (the reading that closed
  the window), **delay** is that moment minus the onset;
* a fault raised on a device with no injected fault, or before its onset, is a **false
  alarm**, counted per 100 device-days.

* **diagnosis**: every time a fault opens, the device's live faults are diagnosed together
  (:func:`devices.diagnosis.diagnose`, as the fault service does in production); a detected
  fault's diagnosis is the one made at its last detection before failure (what the ticket
  says when a technician is sent). It is **right** when it names the fault's cause, or
  another cause that brings the same part; ``diagnosis_accuracy`` is the share of detected
  faults diagnosed right.

The fleet has refrigerators, washing machines and heat pumps, with the normal life that
must not raise anything: daily cycles, door openings, defrost cycles and the heat pumps'
weather (:mod:`simulators.behaviour`), households away on public holidays and trips
(:mod:`simulators.household`), and what happens on the way (:mod:`simulators.delivery`):
silences, sensor drop-outs, and outages whose readings a device buffers and uploads later.
Readings reach the detectors **in arrival order**, as ingest feeds them, so a backlog
uploaded after the live readings is late (the detectors ignore it; counted in
``late_readings``), and a fault is raised at the moment its reading arrives.

A device silent for longer than its type's ``no_data_after_s`` would raise a no-data fault
in production (the scheduler's check): those are counted apart, as ``no_data_faults``,
since the device really was silent. Pure computation: no database, no broker.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from devices.catalog import Catalog, DeviceType
from devices.detection.fleet import FleetDetectors
from devices.diagnosis import Seen, diagnose, seen
from devices.faults.model import FaultCleared, FaultOpened
from simulators.delivery import deliveries
from simulators.fault_plans import plan_faults
from simulators.faults import InjectedFault, apply_all
from simulators.fleet import DAY_S, SERIAL_PREFIX, SimDevice, make_fleet
from simulators.signals import Value, device_rng, finish, readings

START = 1_764_460_800.0  # 2025-11-30T00:00Z: any midnight does
REPORT_S = 60.0


@dataclass(frozen=True, slots=True)
class Raised:
    """A fault the detectors raised: on which device, when, by which detector; the cause
    the device's live faults were diagnosed as then ("" for none)."""

    serial: str
    metric: str
    detector: str
    at: float
    cause: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """What :func:`simulate` produced: the ground truth, what was raised, and the counts."""

    injected: list[InjectedFault]
    raised: list[Raised]
    device_days: float
    device_days_by_type: dict[str, float] = field(default_factory=dict)
    readings: int = 0
    late_readings: int = 0
    no_data_faults: int = 0


@dataclass(slots=True)
class Evaluation:
    faults: int
    detected_before_failure: float
    median_lead_hours: float | None
    median_delay_hours: float | None
    false_alarms: int
    device_days: float
    false_alarms_per_100_device_days: float
    diagnosis_accuracy: float | None = None
    missed: list[str] = field(default_factory=list)
    misdiagnosed: list[str] = field(default_factory=list)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    """fault kind -> {"faults", "detected", "diagnosed_right"}."""
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)
    """device type -> {"faults", "detected", "diagnosed_right", "false_alarms",
    "device_days", "false_alarms_per_100_device_days"}."""
    extra: dict[str, int] = field(default_factory=dict)
    """Counts from the run: readings, late_readings, no_data_faults."""

    def as_json(self) -> dict[str, object]:
        return {
            "faults": self.faults,
            "detected_before_failure": round(self.detected_before_failure, 4),
            "median_lead_hours": _round(self.median_lead_hours),
            "median_delay_hours": _round(self.median_delay_hours),
            "false_alarms_per_100_device_days": round(self.false_alarms_per_100_device_days, 3),
            "diagnosis_accuracy": _round4(self.diagnosis_accuracy),
            "device_days": round(self.device_days, 2),
            "false_alarms": self.false_alarms,
            "missed": self.missed,
            "misdiagnosed": self.misdiagnosed,
            "by_kind": self.by_kind,
            "by_type": self.by_type,
            **self.extra,
        }


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def simulate(
    catalog: Catalog,
    *,
    seed: int,
    refrigerators: int,
    washing_machines: int,
    days: float,
    faults: int,
    heat_pumps: int = 0,
    warmup_days: float = 1.5,
) -> Run:
    """Run the fleet through the detectors, readings in arrival order (see the module)."""
    fleet = make_fleet(seed, refrigerators, washing_machines, heat_pumps)
    end = START + days * DAY_S
    injected = plan_faults(fleet, faults, seed, (START + warmup_days * DAY_S, end - DAY_S / 2))
    by_serial: dict[str, list[InjectedFault]] = {}
    for fault in injected:
        by_serial.setdefault(fault.serial, []).append(fault)
    detectors = FleetDetectors(catalog)
    raised: list[Raised] = []
    count = no_data = 0
    for device_id, device in enumerate(fleet, start=1):
        kind = catalog.device_type(device.device_type)
        rng = device_rng(seed, device.serial)
        own = by_serial.get(device.serial, [])
        live: dict[tuple[str, str], FaultOpened] = {}
        observe = detectors.observe
        last_arrival = START
        values_at = _values_at(device, kind, rng, own)
        metrics = [m.key for m in kind.metrics.values() if m.kind == "number"]
        for delivery in deliveries(device, seed, START, end, REPORT_S, values_at, metrics):
            arrival = delivery.arrival
            if arrival - last_arrival > kind.no_data_after_s:
                no_data += 1
            last_arrival = arrival
            count += len(delivery.values)
            for key, value in delivery.values.items():
                for event in observe(device_id, device.device_type, key, delivery.t, float(value)):
                    if isinstance(event, FaultCleared):
                        live.pop((event.metric, event.detector), None)
                        continue
                    live[(event.metric, event.detector)] = event
                    cause = diagnose(kind, [_seen(e) for e in live.values()]).cause
                    raised.append(
                        Raised(device.serial, event.metric, event.detector, arrival, cause)
                    )
        detectors.forget(device_id)  # one device at a time: memory stays flat
    per_type: dict[str, float] = {}
    for device in fleet:
        per_type[device.device_type] = per_type.get(device.device_type, 0.0) + days
    return Run(
        injected,
        raised,
        len(fleet) * days,
        per_type,
        readings=count,
        late_readings=detectors.late_readings,
        no_data_faults=no_data,
    )


def _values_at(
    device: SimDevice, kind: DeviceType, rng: random.Random, own: Sequence[InjectedFault]
) -> Callable[[float], dict[str, Value]]:
    """The device's readings at a time, with its injected faults applied."""
    metrics = kind.metrics

    def values_at(t: float) -> dict[str, Value]:
        values = readings(device, kind, t, rng)
        if own:
            for key, value in values.items():
                values[key] = finish(metrics[key], apply_all(own, key, t, value))
        return values

    return values_at


def _seen(event: FaultOpened) -> Seen:
    return seen(event.metric, event.detector, event.threshold, event.opened_at, event.evidence)


def score(
    injected: Sequence[InjectedFault],
    raised: Sequence[Raised],
    device_days: float,
    parts: Mapping[str, str] | None = None,
    device_days_by_type: Mapping[str, float] | None = None,
) -> Evaluation:
    """Match raised faults with the injected ones; the figures of :class:`Evaluation`.

    ``parts`` (cause -> part, from the catalog) counts a diagnosis that names another cause
    with the same part as right; without it only the cause itself is. With
    ``device_days_by_type`` the figures are also broken down per device type (``by_type``).
    """
    parts = parts or {}
    leads: list[float] = []
    delays: list[float] = []
    missed: list[str] = []
    misdiagnosed: list[str] = []
    right = 0
    explained: set[int] = set()
    by_kind: dict[str, dict[str, int]] = {}
    for fault in injected:
        tally = by_kind.setdefault(
            fault.kind.value, {"faults": 0, "detected": 0, "diagnosed_right": 0}
        )
        tally["faults"] += 1
        failure = fault.onset + fault.ramp_s
        moved = fault.profile.metrics
        hits = [
            i
            for i, r in enumerate(raised)
            if r.serial == fault.serial and r.metric in moved and fault.onset <= r.at <= failure
        ]
        # anything raised on the device while the fault lasts is explained by it
        last = fault.end + fault.profile.recover_s if fault.end is not None else float("inf")
        explained.update(
            i
            for i, r in enumerate(raised)
            if r.serial == fault.serial and fault.onset <= r.at <= last
        )
        if not hits:
            missed.append(fault.label)
            continue
        tally["detected"] += 1
        first = min(raised[i].at for i in hits)
        leads.append((failure - first) / 3600)
        delays.append((first - fault.onset) / 3600)
        # the last diagnosis made: of faults raised at the same instant, the one raised last
        diagnosed = raised[max(hits, key=lambda i: (raised[i].at, i))].cause
        truth = fault.profile.cause
        part = parts.get(truth, "")
        if diagnosed == truth or (part and diagnosed and parts.get(diagnosed) == part):
            right += 1
            tally["diagnosed_right"] += 1
        else:
            misdiagnosed.append(f"{fault.label}: diagnosed {diagnosed or 'nothing'}")
    false_alarms = len(raised) - len(explained)
    unexplained = [r for i, r in enumerate(raised) if i not in explained]
    count = len(injected)
    detected = count - len(missed)
    return Evaluation(
        faults=count,
        detected_before_failure=(count - len(missed)) / count if count else 0.0,
        median_lead_hours=statistics.median(leads) if leads else None,
        median_delay_hours=statistics.median(delays) if delays else None,
        false_alarms=false_alarms,
        device_days=device_days,
        false_alarms_per_100_device_days=100 * false_alarms / device_days if device_days else 0.0,
        diagnosis_accuracy=right / detected if detected else None,
        missed=missed,
        misdiagnosed=misdiagnosed,
        by_kind=dict(sorted(by_kind.items())),
        by_type=_by_type(injected, by_kind, unexplained, device_days_by_type or {}),
    )


def device_type_of(serial: str) -> str:
    """The simulated device type of a serial, from its prefix (``HP-000001``: heat_pump)."""
    prefix = serial.split("-", 1)[0]
    return next((kind for kind, p in SERIAL_PREFIX.items() if p == prefix), "")


def _by_type(
    injected: Sequence[InjectedFault],
    by_kind: Mapping[str, Mapping[str, int]],
    unexplained: Sequence[Raised],
    device_days: Mapping[str, float],
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind, days in device_days.items():
        alarms = sum(1 for r in unexplained if device_type_of(r.serial) == kind)
        tally: dict[str, float] = {"faults": 0, "detected": 0, "diagnosed_right": 0}
        for fault_kind in {f.kind.value for f in injected if f.profile.device_type == kind}:
            for key in tally:
                tally[key] += by_kind[fault_kind][key]
        out[kind] = {
            **tally,
            "false_alarms": alarms,
            "device_days": round(days, 2),
            "false_alarms_per_100_device_days": round(100 * alarms / days, 3) if days else 0.0,
        }
    return out


def evaluate(run: Run, catalog: Catalog) -> Evaluation:
    """Score a :class:`Run` against the catalog's causes, with the run's counts."""
    result = score(
        run.injected, run.raised, run.device_days, cause_parts(catalog), run.device_days_by_type
    )
    result.extra = {
        "readings": run.readings,
        "late_readings": run.late_readings,
        "no_data_faults": run.no_data_faults,
    }
    return result


def cause_parts(catalog: Catalog) -> dict[str, str]:
    """cause key -> the part it brings, over every device type of the catalog."""
    return {c.key: c.part for t in catalog.device_types.values() for c in t.causes}
