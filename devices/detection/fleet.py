"""Every monitor of one ingest worker, created lazily, checkpointed per device.

:meth:`FleetDetectors.observe` is on the ingest hot path (up to 100,000 readings/s in one
process): two dict lookups and a few attribute updates per reading; the detector only runs
when a window closes. A metric whose catalog spec has no detector costs a few lookups and
returns no events.

State moves per device: :meth:`state_bytes` writes that device's monitors (detector,
current window, hysteresis, evidence) as an explicit, versioned document for the
``detector_state`` table (:mod:`devices.detection.checkpoint`), and :meth:`restore` puts
them back, on this worker after a restart or on another after its partition moved.
Reading a checkpoint never runs code; old pickled ones are read through a fence
(:mod:`devices.detection.legacy_state`).

A device type with a ``pause`` in the catalog (a defrost cycle) says when it is not in
normal operation: while its flag metric reads true, and ``settle_s`` after, readings of the
paused metrics are not fed to their monitors (to them it is a gap, which they skip). The
flag's state is per device and not checkpointed: after a restart the first reading of the
flag restores it. A flag reading older than the last one seen (a late upload) is ignored.

Per-device settings (overrides of the catalog's threshold, hard limits, enabled; see
:mod:`devices.tuning`) come in through :meth:`retune` and apply to existing monitors at
once and to new ones as they are created; :meth:`reset` forgets a device's baseline. Both
run between batches, never on the per-reading path.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from devices.catalog import Catalog, DetectorSpec, MetricSpec, Pause
from devices.detection import checkpoint
from devices.detection.base import make_detector
from devices.detection.legacy_state import is_legacy, load_legacy
from devices.detection.limits import LimitWatch
from devices.detection.limits_only import LIMITS_ONLY
from devices.detection.limits_only import NoDetector as _NoDetector
from devices.detection.monitor import MetricMonitor
from devices.detection.relation import RelationMonitor
from devices.errors import DetectorStateError
from devices.faults.model import FaultCleared, FaultEvent
from devices.tuning.model import MetricTuning

DeviceTuning = dict[int, dict[str, MetricTuning]]
"""device id -> metric -> its settings, for the devices that have overrides."""

STATE_VERSION: Final = checkpoint.VERSION
"""Format of :meth:`FleetDetectors.state_bytes` (:mod:`devices.detection.checkpoint`)."""

MIN_STD_OF_TYPICAL_NOISE: Final = 0.1
"""A detector's spread is never taken below this fraction of the metric's typical noise."""


def relation_key(metric: str) -> str:
    """The key of a metric's relation monitor among a device's monitors."""
    return f"{metric}|relation"


def _watch_spec(metric: MetricSpec) -> DetectorSpec:
    return metric.detector if metric.detector is not None else LIMITS_ONLY


class FleetDetectors:
    """The monitors for every (device, metric) this worker has seen that has a detector."""

    __slots__ = (
        "_catalog",
        "_devices",
        "_feeds",
        "_paused",
        "_pauses",
        "_relations",
        "_specs",
        "_tuning",
        "late_readings",
        "paused_readings",
    )

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        # device type -> metric -> its spec, only for metrics that have a detector
        self._specs: dict[str, dict[str, MetricSpec]] = {
            key: {m.key: m for m in t.metrics.values() if m.detector is not None or m.limits}
            for key, t in catalog.device_types.items()
        }
        # device type -> target metric -> its spec, for metrics with a relation detector
        self._relations: dict[str, dict[str, MetricSpec]] = {
            key: {m.key: m for m in t.metrics.values() if m.relation is not None}
            for key, t in catalog.device_types.items()
        }
        # device type -> metric -> (target, input index or -1 for the target itself)
        self._feeds: dict[str, dict[str, tuple[tuple[str, int], ...]]] = {}
        for key, relations in self._relations.items():
            feeds: dict[str, list[tuple[str, int]]] = {}
            for target, metric in relations.items():
                assert metric.relation is not None
                feeds.setdefault(target, []).append((target, -1))
                for index, name in enumerate(metric.relation.inputs):
                    feeds.setdefault(name, []).append((target, index))
            if feeds:
                self._feeds[key] = {m: tuple(f) for m, f in feeds.items()}
        self._devices: dict[int, dict[str, MetricMonitor]] = {}
        self._tuning: DeviceTuning = {}
        self._pauses: dict[str, Pause] = {
            key: t.pause for key, t in catalog.device_types.items() if t.pause is not None
        }
        # device id -> [time of the last flag reading, paused until (inf while the flag is on)]
        self._paused: dict[int, list[float]] = {}
        # readings ignored because they were late (or, never in practice, had no finite time)
        self.late_readings = 0
        # readings not judged because the device said it was not in normal operation
        self.paused_readings = 0

    def observe(
        self, device_id: int, device_type: str, metric: str, time: float, value: float
    ) -> list[FaultEvent]:
        """Feed one validated reading (device time in UTC epoch seconds).

        Returns the fault events it caused, usually none. A late reading (before its
        monitor's current window) is counted in :attr:`late_readings` and ignored. An unknown
        device type raises ``CatalogError``. A metric that is the target or an input of a
        relation (a regression detector) also feeds that relation's monitor. A reading the
        device's pause covers (a defrost) is counted in :attr:`paused_readings` and ignored.
        """
        pause = self._pauses.get(device_type)
        if pause is not None and self._is_paused(pause, device_id, metric, time, value):
            self.paused_readings += 1
            return []
        feeds = self._feeds.get(device_type)
        if feeds is not None:
            targets = feeds.get(metric)
            if targets is not None:
                own = self._observe(device_id, device_type, metric, time, value)
                return own + self._relate(device_id, device_type, targets, time, value)
        return self._observe(device_id, device_type, metric, time, value)

    def _is_paused(
        self, pause: Pause, device_id: int, metric: str, time: float, value: float
    ) -> bool:
        """Track the pause flag; whether this reading falls in a pause."""
        state = self._paused.get(device_id)
        if metric == pause.flag:
            if state is None:
                state = self._paused[device_id] = [float("-inf"), float("-inf")]
            if time < state[0]:  # a late flag reading says nothing about now
                return False
            state[0] = time
            if value >= 0.5:
                state[1] = float("inf")
            elif state[1] == float("inf"):
                state[1] = time + pause.settle_s
            return False
        return state is not None and metric in pause.metrics and time < state[1]

    def _relate(
        self,
        device_id: int,
        device_type: str,
        targets: tuple[tuple[str, int], ...],
        time: float,
        value: float,
    ) -> list[FaultEvent]:
        """Feed a reading to the relation monitors it is the target or an input of."""
        events: list[FaultEvent] = []
        monitors = self._devices.setdefault(device_id, {})
        for target, index in targets:
            key = relation_key(target)
            monitor = monitors.get(key)
            if not isinstance(monitor, RelationMonitor):
                monitor = self._new_relation(device_id, self._relations[device_type][target])
                monitors[key] = monitor
            result = (
                monitor.observe(time, value)
                if index < 0
                else monitor.observe_input(index, time, value)
            )
            if result is None:
                if index < 0:
                    self.late_readings += 1
                continue
            events += result
        return events

    @staticmethod
    def _new_relation(device_id: int, metric: MetricSpec) -> RelationMonitor:
        spec = metric.relation
        assert spec is not None
        detector = make_detector(spec, min_std=metric.typical.noise * MIN_STD_OF_TYPICAL_NOISE)
        return RelationMonitor(device_id, metric.key, spec, detector)

    def _observe(
        self, device_id: int, device_type: str, metric: str, time: float, value: float
    ) -> list[FaultEvent]:
        monitors = self._devices.get(device_id)
        if monitors is not None:
            monitor = monitors.get(metric)
            if monitor is not None:
                events = monitor.observe(time, value)
                if events is None:
                    self.late_readings += 1
                    return []
                return events
        return self._first(device_id, device_type, metric, time, value)

    def _first(
        self, device_id: int, device_type: str, metric: str, time: float, value: float
    ) -> list[FaultEvent]:
        specs = self._specs.get(device_type)
        if specs is None:
            self._catalog.device_type(device_type)  # raises CatalogError, naming the type
            return []
        spec = specs.get(metric)
        if spec is None:  # not measured by this type, or not watched by a detector
            return []
        tuning = self._tuning.get(device_id, {}).get(metric)
        if tuning is not None and not tuning.enabled:
            return []
        monitor = self._new_monitor(device_id, spec, tuning)
        self._devices.setdefault(device_id, {})[metric] = monitor
        events = monitor.observe(time, value)
        if events is None:  # a non-finite first time; nothing else can be late yet
            self.late_readings += 1
            return []
        return events

    @staticmethod
    def _new_monitor(
        device_id: int, metric: MetricSpec, tuning: MetricTuning | None = None
    ) -> MetricMonitor:
        spec = _watch_spec(metric) if tuning is None or tuning.detector is None else tuning.detector
        detector = (
            make_detector(spec, min_std=metric.typical.noise * MIN_STD_OF_TYPICAL_NOISE)
            if metric.detector is not None
            else _NoDetector()
        )
        limits = metric.limits if tuning is None else tuning.limits
        watches = tuple(LimitWatch(device_id, metric.key, limit) for limit in limits)
        return MetricMonitor(device_id, metric.key, spec, detector, watches)

    def retune(self, tuning: DeviceTuning) -> list[FaultEvent]:
        """Take the per-device settings now in force (devices absent: catalog defaults).

        Existing monitors change threshold and limits in place, keeping what they learned
        and the state of limits that did not change; a metric turned off drops its monitor.
        Returns FaultCleared for faults open on what was dropped (a removed limit, a
        disabled metric), so no fault stays open with nothing left to clear it. Relation
        monitors keep the catalog's settings.
        """
        old, self._tuning = self._tuning, tuning
        events: list[FaultEvent] = []
        for device_id in old.keys() | tuning.keys():
            if old.get(device_id) == tuning.get(device_id):
                continue
            for metric, monitor in list(self._devices.get(device_id, {}).items()):
                if not isinstance(monitor, RelationMonitor):
                    events += self._apply(monitor, tuning.get(device_id, {}).get(metric))
        return events

    def _apply(self, monitor: MetricMonitor, tuning: MetricTuning | None) -> list[FaultEvent]:
        """Put ``monitor`` under ``tuning`` (None: the catalog's); events of what it drops."""
        metric = self._metric_spec(monitor.metric)
        if metric is None:
            return []
        if tuning is not None and not tuning.enabled:
            events = _closing(monitor, monitor.limits, with_detector=True)
            monitors = self._devices[monitor.device_id]
            del monitors[monitor.metric]  # its relations keep going: they learn other things
            if not monitors:
                del self._devices[monitor.device_id]
            return events
        monitor.spec = (
            _watch_spec(metric) if tuning is None or tuning.detector is None else tuning.detector
        )
        limits = metric.limits if tuning is None else tuning.limits
        if tuple(w.limit for w in monitor.limits) == limits:
            return []
        kept = {w.limit: w for w in monitor.limits}
        dropped = [w for w in monitor.limits if w.limit not in limits]
        monitor.limits = tuple(
            kept.get(limit) or LimitWatch(monitor.device_id, monitor.metric, limit)
            for limit in limits
        )
        return _closing(monitor, dropped, with_detector=False)

    def reset(self, device_id: int, metric: str | None = None) -> list[FaultEvent]:
        """Forget the learned baseline of a device's metric (or all): a repaired part.

        The monitors start over with a new warm-up (with a metric, the relations it is the
        target or an input of too); faults they had open are cleared (the returned events),
        so none is left open that no monitor would ever clear.
        """
        monitors = self._devices.get(device_id, {})
        chosen = [
            monitor
            for monitor in monitors.values()
            if metric is None
            or monitor.metric == metric
            or (isinstance(monitor, RelationMonitor) and metric in monitor.spec.inputs)
        ]
        events: list[FaultEvent] = []
        for monitor in chosen:
            events += _closing(monitor, monitor.limits, with_detector=True)
        self.forget(device_id, metric)
        return events

    def _metric_spec(self, metric: str) -> MetricSpec | None:
        """The catalog's spec of ``metric`` (a key means one quantity across device types)."""
        for specs in self._specs.values():
            if metric in specs:
                return specs[metric]
        return None

    def monitor(self, device_id: int, metric: str) -> MetricMonitor | None:
        """The monitor for (device, metric), if one exists yet."""
        return self._devices.get(device_id, {}).get(metric)

    def devices(self) -> int:
        """How many devices have at least one monitor here."""
        return len(self._devices)

    def forget(self, device_id: int, metric: str | None = None) -> None:
        """Drop a device's monitors (or one of them); the next reading starts a new warm-up.

        Use it after checkpointing a device that moved to another worker, or when a repair
        gave the device a new normal (flagged windows are never learned, so a lasting change
        keeps a fault open until the detector starts over). An open fault is not cleared by
        this: clear the :class:`~devices.faults.model.Fault` itself.
        """
        if metric is None:
            self._devices.pop(device_id, None)
            self._paused.pop(device_id, None)
            return
        monitors = self._devices.get(device_id)
        if monitors is not None:
            monitors.pop(metric, None)
            for key, monitor in list(monitors.items()):  # relations it is the target or an input of
                if isinstance(monitor, RelationMonitor) and metric in (
                    monitor.metric,
                    *monitor.spec.inputs,
                ):
                    del monitors[key]
            if not monitors:
                del self._devices[device_id]

    def state_bytes(self, device_id: int) -> bytes:
        """The device's monitors as a checkpoint document (:mod:`.checkpoint`)."""
        return checkpoint.encode(device_id, self._devices.get(device_id, {}))

    def restore(self, device_id: int, data: bytes) -> bool:
        """Replace the device's monitors with a checkpoint; True when it was of an older
        format (a pickle, read through :mod:`.legacy_state`) and should be saved again.

        A monitor whose detector spec differs from the current catalog's is dropped, so it
        warms up again under the new spec. Raises DetectorStateError for bytes that are not
        a checkpoint this code reads for this device.
        """
        legacy = is_legacy(data)
        monitors = (load_legacy if legacy else checkpoint.decode)(device_id, data)
        try:
            kept = {
                metric: monitor
                for metric, monitor in monitors.items()
                if self._adopt_current_spec(metric, monitor)
            }
            if legacy:  # copied into a document and built afresh from it
                kept = checkpoint.decode(device_id, checkpoint.encode(device_id, kept))
        except DetectorStateError:
            raise
        except Exception as exc:  # a state saved under another catalog must not stop ingest
            raise DetectorStateError(f"device {device_id}: unusable detector state") from exc
        if kept:
            self._devices[device_id] = kept
        else:
            self._devices.pop(device_id, None)
        return legacy

    def _adopt_current_spec(self, metric: str, monitor: MetricMonitor) -> bool:
        """True when the monitor was saved under the catalog's current detector spec.

        A spec saved before a field existed (``absorb_after``) matches on the fields it has
        and takes the current spec, so an upgrade keeps what the detectors learned.
        """
        relation = isinstance(monitor, RelationMonitor)
        if relation != (metric == relation_key(monitor.metric)):
            return False
        for specs in (self._relations if relation else self._specs).values():
            current = specs.get(monitor.metric)
            if current is None:
                continue
            wanted = current.relation if relation else _watch_spec(current)
            assert wanted is not None
            saved = monitor.spec
            if all(
                getattr(saved, f.name, getattr(wanted, f.name)) == getattr(wanted, f.name)
                for f in dataclasses.fields(DetectorSpec)
                if f.name != "threshold"  # judged with, not learned: an override may move it
            ):
                tuning = None if relation else self._tuning.get(monitor.device_id, {}).get(metric)
                if tuning is not None and not tuning.enabled:
                    return False
                monitor.spec = (
                    wanted if tuning is None or tuning.detector is None else tuning.detector
                )
                limits = current.limits if tuning is None else tuning.limits
                if not relation and tuple(w.limit for w in monitor.limits) != limits:
                    monitor.limits = tuple(
                        LimitWatch(monitor.device_id, monitor.metric, limit) for limit in limits
                    )
                return True
        return False


def _watches(device_id: int, metric: MetricSpec) -> tuple[LimitWatch, ...]:
    return tuple(LimitWatch(device_id, metric.key, limit) for limit in metric.limits)


def _closing(
    monitor: MetricMonitor,
    watches: tuple[LimitWatch, ...] | list[LimitWatch],
    *,
    with_detector: bool,
) -> list[FaultEvent]:
    """FaultCleared for the faults open on ``watches`` (and the learned detector)."""
    events: list[FaultEvent] = []
    device_id, metric = monitor.device_id, monitor.metric
    if with_detector and monitor.is_open:
        at = monitor.start if monitor.start > float("-inf") else 0.0
        events.append(FaultCleared(device_id, metric, monitor.detector.name, at))
    for watch in watches:
        if watch.is_open:
            at = watch.last if watch.last > float("-inf") else 0.0
            events.append(FaultCleared(device_id, metric, watch.limit.detector, at))
    return events
