"""Running the simulated fleet: one message per device per step, faults applied, published.

:func:`run_fleet` walks simulated time in steps of ``step_s`` from the clock's start
(rounded up to a whole step), as fast as the :class:`~simulators.clock.SimClock` allows:
``speed`` times real time while it replays history, then in real time. At each step every
device sends one message with every metric of its type (catalog order), healthy values
from :mod:`simulators.signals` with the planned faults (:mod:`simulators.faults`) applied,
as SenML or careline JSON (``fmt_for``) on ``dt/{serial}/{format}``
(:func:`ingest.topics.telemetry_topic`).

Between steps it lets the publisher drive its network (``poll``) instead of sleeping, so
acknowledgements are read and the connection stays alive. It prints nothing: progress goes
to ``on_progress``. Publisher errors (:class:`~simulators.broker_link.PublisherError`)
propagate to the caller.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from devices.catalog import Catalog, DeviceType, load_catalog
from ingest.topics import PayloadFormat, telemetry_topic
from simulators.clock import SimClock
from simulators.faults import InjectedFault, apply_all
from simulators.fleet import SimDevice
from simulators.payloads import json_single, senml_pack, units_of
from simulators.signals import Value, device_rng, finish, readings

_POLL_S: Final = 0.25  # longest wait between two looks at the stop event


class TelemetryPublisher(Protocol):
    """What :func:`run_fleet` needs from a publisher (:class:`~simulators.publisher.Publisher`
    or a fake in tests).
    """

    @property
    def published(self) -> int: ...

    @property
    def acked(self) -> int: ...

    def publish(self, topic: str, payload: bytes) -> None: ...

    def poll(self, timeout: float) -> None: ...

    def flush(self, timeout: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a run is: the simulated time of the last step sent, the publisher's counts,
    and whether it runs live (replay done and no step overdue).
    """

    sim_time: float
    published: int
    acked: int
    caught_up: bool


def default_format(device: SimDevice) -> PayloadFormat:
    """About one device in four speaks careline JSON, the others SenML; fixed per serial."""
    return "json" if zlib.crc32(device.serial.encode()) % 4 == 0 else "senml"


class _DeviceFeed:
    """One device's state during a run: its noise source, topic, units and faults."""

    __slots__ = ("device", "device_type", "faults", "fmt", "rng", "topic", "units")

    def __init__(
        self,
        device: SimDevice,
        device_type: DeviceType,
        faults: list[InjectedFault],
        fmt: PayloadFormat,
        seed: int,
    ) -> None:
        self.device = device
        self.device_type = device_type
        self.faults = faults
        self.fmt = fmt
        self.rng = device_rng(seed, device.serial)
        self.topic = telemetry_topic(device.serial, fmt)
        self.units = units_of(device_type)

    def values(self, t: float) -> dict[str, Value]:
        values = readings(self.device, self.device_type, t, self.rng)
        if self.faults:
            metrics = self.device_type.metrics
            for key, value in values.items():
                values[key] = finish(metrics[key], apply_all(self.faults, key, t, value))
        return values

    def payload(self, t: float) -> bytes:
        values = self.values(t)
        if self.fmt == "json":
            return json_single(self.device.serial, t, values)
        return senml_pack(self.device.serial, t, values, self.units)


def _feeds(
    fleet: Sequence[SimDevice],
    faults: Sequence[InjectedFault],
    catalog: Catalog,
    fmt_for: Callable[[SimDevice], PayloadFormat],
    seed: int,
) -> list[_DeviceFeed]:
    by_serial = {device.serial: device for device in fleet}
    faults_of: dict[str, list[InjectedFault]] = {}
    for fault in faults:
        device = by_serial.get(fault.serial)
        if device is None:
            raise ValueError(f"fault {fault.label!r} names a device that is not in the fleet")
        if device.device_type != fault.profile.device_type:
            raise ValueError(f"fault {fault.label!r} does not apply to a {device.device_type}")
        faults_of.setdefault(fault.serial, []).append(fault)
    return [
        _DeviceFeed(
            device,
            catalog.device_type(device.device_type),
            faults_of.get(device.serial, []),
            fmt_for(device),
            seed,
        )
        for device in fleet
    ]


def run_fleet(
    fleet: Sequence[SimDevice],
    faults: Sequence[InjectedFault],
    publisher: TelemetryPublisher,
    clock: SimClock,
    *,
    step_s: float = 60.0,
    fmt_for: Callable[[SimDevice], PayloadFormat] = default_format,
    until: float | None = None,
    stop: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    seed: int = 0,
    catalog: Catalog | None = None,
    progress_every_s: float = 1.0,
    flush_timeout_s: float = 30.0,
) -> Progress:
    """Publish the fleet's telemetry until simulated time ``until`` (exclusive) or until
    ``stop`` is set (with neither, forever); then flush and return the final progress.

    ``seed`` seeds each device's noise together with its serial (use the fleet's seed for
    a reproducible demo). ``on_progress`` is called after a step at most every
    ``progress_every_s`` seconds of real time, when the run catches up with the real
    clock, and once at the end (after the flush).
    """
    if not step_s > 0:
        raise ValueError(f"step_s must be positive, got {step_s!r}")
    feeds = _feeds(fleet, faults, catalog or load_catalog(), fmt_for, seed)

    def progress(sim_time: float, caught_up: bool) -> Progress:
        return Progress(sim_time, publisher.published, publisher.acked, caught_up)

    t = math.ceil(clock.start / step_s) * step_s
    last = clock.start
    live = False
    next_report = -math.inf
    while not (stop is not None and stop.is_set()):
        if until is not None and t >= until:
            break
        delay = clock.delay_until(t)
        if delay > 0:
            if not live:
                live = clock.caught_up
                if live and on_progress is not None:
                    on_progress(progress(last, True))
            publisher.poll(min(delay, _POLL_S))
            continue
        for feed in feeds:
            publisher.publish(feed.topic, feed.payload(t))
        last, t = t, t + step_s
        if on_progress is not None and clock.real_now() >= next_report:
            next_report = clock.real_now() + progress_every_s
            on_progress(progress(last, clock.caught_up and clock.delay_until(t) > 0))
    publisher.flush(flush_timeout_s)
    final = progress(last, clock.caught_up and clock.delay_until(t) > 0)
    if on_progress is not None:
        on_progress(final)
    return final
