"""A device's detector state as an explicit, versioned document, and back.

The ``detector_state`` table holds one of these per device. It is JSON (with
``Infinity``/``NaN`` for the few non-finite floats a fresh window has) that names every
field it carries, so that:

* reading a row never runs code: the document is parsed as data and every object is
  built by our code from the numbers in it (checkpoints were pickles of our classes up
  to format 1; :mod:`devices.detection.legacy_state` reads those once, through a
  restricted path, and they are rewritten in this format);
* a rolling upgrade loads: a field added later takes its default when missing and a field
  this code does not know is ignored, so a device moving between workers of two releases
  keeps what was learned. ``version`` is bumped only when a field changes meaning; a
  document of a newer version than this code reads is refused (and the device warms up)
  rather than misread.

>>> from devices.catalog import load_catalog
>>> from devices.detection.fleet import FleetDetectors
>>> fleet = FleetDetectors(load_catalog())
>>> for minute in range(30):
...     _ = fleet.observe(7, "refrigerator", "cabinet_temp", 1_700_006_400 + 60 * minute, 4.0)
>>> document = encode(7, fleet._devices[7])
>>> document[:56]
b'{"format":"careline.detector-state","version":2,"device"'
>>> monitors = decode(7, document)
>>> monitors["cabinet_temp"].detector.learned == fleet.monitor(7, "cabinet_temp").detector.learned
True
"""

from __future__ import annotations

import dataclasses
import json
from array import array
from collections.abc import Callable, Mapping
from typing import Any, Final

from devices.catalog import DetectorSpec, HardLimit
from devices.detection.base import Detector
from devices.detection.limits import LimitWatch
from devices.detection.limits_only import NoDetector
from devices.detection.monitor import _FIELDS, EVIDENCE_WINDOWS, MetricMonitor
from devices.detection.regression import RegressionDetector
from devices.detection.relation import RelationMonitor
from devices.detection.standard_score import StandardScoreDetector
from devices.errors import DetectorStateError

FORMAT: Final = "careline.detector-state"
VERSION: Final = 2
"""1 was a pickle (:mod:`devices.detection.legacy_state`); 2 is this document."""

_KINDS: Final[Mapping[str, Callable[[Mapping[str, Any]], Detector]]] = {
    StandardScoreDetector.kind: StandardScoreDetector.from_state,
    RegressionDetector.kind: RegressionDetector.from_state,
    NoDetector.name: NoDetector.from_state,
}
_COUNTERS: Final = (
    ("late", "late"),
    ("invalid", "invalid"),
    ("anomalous_run", "_anomalous_run"),
    ("normal_run", "_normal_run"),
    ("open_windows", "_open_windows"),
    ("ring_next", "_ring_next"),
    ("ring_len", "_ring_len"),
)
_TIMES: Final = (
    ("run_start", "_run_start"),
    ("run_max", "_run_max"),
    ("clear_start", "_clear_start"),
)


def is_document(data: bytes) -> bool:
    """True for a checkpoint in this format (a pickle starts with byte 0x80)."""
    return data[:1] == b"{"


def encode(device_id: int, monitors: Mapping[str, MetricMonitor]) -> bytes:
    """The document for one device's monitors (keyed as in ``FleetDetectors``)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "device": device_id,
        "monitors": [_monitor(key, monitor) for key, monitor in monitors.items()],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def decode(device_id: int, data: bytes) -> dict[str, MetricMonitor]:
    """The monitors in a document from :func:`encode`; DetectorStateError if it is not
    one, is for another device, or is of a newer version than this code reads."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DetectorStateError(f"device {device_id}: unreadable detector state") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DetectorStateError(f"device {device_id}: not a detector state document")
    version = document.get("version")
    if not isinstance(version, int) or not 2 <= version <= VERSION:
        raise DetectorStateError(
            f"device {device_id}: detector state version {version!r}, this code reads "
            f"2 to {VERSION}"
        )
    if document.get("device") != device_id:
        raise DetectorStateError(
            f"device {device_id}: the state belongs to device {document.get('device')!r}"
        )
    try:
        return {entry["key"]: _monitor_from(device_id, entry) for entry in document["monitors"]}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DetectorStateError(f"device {device_id}: malformed detector state ({exc})") from exc


def _monitor(key: str, monitor: MetricMonitor) -> dict[str, Any]:
    detector = monitor.detector
    entry: dict[str, Any] = {
        "key": key,
        "metric": monitor.metric,
        "spec": dataclasses.asdict(monitor.spec),
        "detector": {"kind": detector.name, **detector.state()},
        "window": [monitor.start, monitor.end, monitor.total, monitor.count],
        "is_open": monitor.is_open,
        "ring": list(monitor._ring),
        "limits": [_limit(watch) for watch in monitor.limits],
    }
    for name, attribute in (*_COUNTERS, *_TIMES):
        entry[name] = getattr(monitor, attribute)
    if isinstance(monitor, RelationMonitor):
        entry["inputs"] = {
            "total": monitor._in_total,
            "count": monitor._in_count,
            "last": monitor._in_last,
        }
    return entry


def _limit(watch: LimitWatch) -> dict[str, Any]:
    return {
        "limit": dataclasses.asdict(watch.limit),
        "since": watch.since,
        "back_since": watch.back_since,
        "worst": watch.worst,
        "is_open": watch.is_open,
        "last": watch.last,
    }


def _spec(raw: Mapping[str, Any]) -> DetectorSpec:
    known = {f.name for f in dataclasses.fields(DetectorSpec)}
    fields = {k: v for k, v in raw.items() if k in known}
    fields["inputs"] = tuple(str(i) for i in fields.get("inputs", ()))
    return DetectorSpec(**fields)


def _monitor_from(device_id: int, entry: Mapping[str, Any]) -> MetricMonitor:
    metric, spec = str(entry["metric"]), _spec(entry["spec"])
    raw_detector = dict(entry["detector"])
    make = _KINDS.get(raw_detector.pop("kind"))
    if make is None:
        raise ValueError(f"unknown detector kind in {entry['key']!r}")
    detector = make(raw_detector)
    monitor: MetricMonitor
    if "inputs" in entry:
        monitor = RelationMonitor(device_id, metric, spec, detector)
        inputs, n = entry["inputs"], len(spec.inputs)
        monitor._in_total = [float(v) for v in inputs["total"]]
        monitor._in_count = [int(v) for v in inputs["count"]]
        monitor._in_last = [float(v) for v in inputs["last"]]
        if not len(monitor._in_total) == len(monitor._in_count) == len(monitor._in_last) == n:
            raise ValueError(f"{entry['key']!r}: inputs do not match the spec")
    else:
        limits = tuple(_watch_from(device_id, metric, raw) for raw in entry.get("limits", ()))
        monitor = MetricMonitor(device_id, metric, spec, detector, limits)
    start, end, total, count = entry["window"]
    monitor.start, monitor.end, monitor.total = float(start), float(end), float(total)
    monitor.count = int(count)
    monitor.is_open = bool(entry["is_open"])
    for name, attribute in _COUNTERS:
        setattr(monitor, attribute, int(entry.get(name, 0)))
    for name, attribute in _TIMES:
        setattr(monitor, attribute, float(entry.get(name, 0.0)))
    ring = [float(v) for v in entry["ring"]]
    fits = 0 <= monitor._ring_next < EVIDENCE_WINDOWS and 0 <= monitor._ring_len <= EVIDENCE_WINDOWS
    if len(ring) == _FIELDS * EVIDENCE_WINDOWS and fits:
        monitor._ring = array("d", ring)
    else:  # saved by a release keeping more or less evidence: start the evidence afresh
        monitor._ring_next = monitor._ring_len = 0
    return monitor


def _watch_from(device_id: int, metric: str, raw: Mapping[str, Any]) -> LimitWatch:
    known = {f.name for f in dataclasses.fields(HardLimit)}
    limit = HardLimit(**{k: v for k, v in raw["limit"].items() if k in known})
    watch = LimitWatch(device_id, metric, limit)
    since, back_since = raw.get("since"), raw.get("back_since")
    watch.since = None if since is None else float(since)
    watch.back_since = None if back_since is None else float(back_since)
    watch.worst = float(raw.get("worst", 0.0))
    watch.is_open = bool(raw.get("is_open", False))
    watch.last = float(raw.get("last", float("-inf")))
    return watch
