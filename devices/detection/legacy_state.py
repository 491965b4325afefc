"""Checkpoints of format 1 (pickles of our monitor classes), read once through a fence.

Up to format 1 ``detector_state`` held ``pickle.dumps((1, device_id, monitors))``. Such a
row is read here by an unpickler that resolves only the classes a checkpoint of ours ever
held (our monitors, detectors and catalog records, river's statistics, a few containers
of the standard library): a row naming anything else (``os.system``, ``builtins.eval``,
``getattr``) is refused before anything is called. What it yields is then copied, value
by value, into the explicit document of :mod:`devices.detection.checkpoint` and built
afresh from that, so nothing of the pickle lives on; the worker saves the device again
in the new format soon after (``ingest.batch``).
"""

from __future__ import annotations

import io
import pickle
import struct
from typing import Any, Final

from devices.detection.ewstats import EWMean, EWVar
from devices.detection.limits_only import NoDetector
from devices.detection.monitor import MetricMonitor
from devices.detection.regression import RegressionDetector
from devices.detection.standard_score import StandardScoreDetector
from devices.errors import DetectorStateError

LEGACY_VERSION: Final = 1

_OURS: Final = {
    ("devices.catalog", "DetectorSpec"),
    ("devices.catalog", "HardLimit"),
    ("devices.detection.monitor", "MetricMonitor"),
    ("devices.detection.relation", "RelationMonitor"),
    ("devices.detection.limits", "LimitWatch"),
    ("devices.detection.standard_score", "StandardScoreDetector"),
    ("devices.detection.regression", "RegressionDetector"),
    ("devices.detection.regression", "_Settling"),
}
_RENAMED: Final = {("devices.detection.fleet", "_NoDetector"): NoDetector}
_STDLIB: Final = {
    ("array", "array"),
    ("array", "_array_reconstructor"),
    ("collections", "Counter"),
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("builtins", "float"),
    ("builtins", "int"),
}
_RIVER_PREFIXES: Final = (
    "river.stats.",
    "river.anomaly.sad",
    "river.preprocessing.scale",
    "river.linear_model.",
    "river.optim.",
    "river.compose.pipeline",
    "river.utils.",
    "river._river_rust.",
)
_BOUND_METHODS: Final = {"_scale", "_unscale"}
"""river's TargetStandardScaler pickles its ``func`` and ``inverse_func`` as bound methods
(``getattr(scaler, "_scale")``): ``getattr`` is answered by a stand-in that allows only
these names on river's own objects."""


def _fenced_getattr(obj: object, name: str) -> Any:
    if name not in _BOUND_METHODS or not type(obj).__module__.startswith("river."):
        raise pickle.UnpicklingError(f"getattr(..., {name!r}) is not allowed in a checkpoint")
    return getattr(obj, name)


class _FencedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RENAMED:
            return _RENAMED[(module, name)]
        if (module, name) == ("builtins", "getattr"):
            return _fenced_getattr
        river_class = module.startswith(_RIVER_PREFIXES) and name[:1].isupper()
        if (module, name) in _OURS or (module, name) in _STDLIB or river_class:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a checkpoint")


def is_legacy(data: bytes) -> bool:
    """A pickle (protocol 2 or later starts with 0x80)."""
    return data[:1] == b"\x80"


def load_legacy(device_id: int, data: bytes) -> dict[str, MetricMonitor]:
    """The monitors in a format-1 checkpoint, each fit for :mod:`.checkpoint`'s encoder."""
    try:
        loaded = _FencedUnpickler(io.BytesIO(data)).load()
        version, saved_device, monitors = loaded
    except Exception as exc:  # unpickling bad bytes can raise almost anything
        raise DetectorStateError(f"device {device_id}: unreadable detector state ({exc})") from exc
    if version != LEGACY_VERSION:
        raise DetectorStateError(f"device {device_id}: detector state version {version!r}")
    if saved_device != device_id or not isinstance(monitors, dict):
        raise DetectorStateError(
            f"device {device_id}: the state belongs to device {saved_device!r}"
        )
    kept: dict[str, MetricMonitor] = {}
    for key, monitor in monitors.items():
        if not isinstance(key, str) or not isinstance(monitor, MetricMonitor):
            raise DetectorStateError(f"device {device_id}: unexpected object in its state")
        try:
            _modernise(monitor.detector)
        except (AttributeError, struct.error, TypeError, ValueError) as exc:
            raise DetectorStateError(
                f"device {device_id}: unusable detector state for {key!r} ({exc})"
            ) from exc
        kept[key] = monitor
    return kept


def _modernise(detector: object) -> None:
    """river's Rust EWMean/EWVar (state an opaque byte string) -> :mod:`.ewstats`."""
    if isinstance(detector, StandardScoreDetector) and not isinstance(detector._level, EWMean):
        old: Any = detector._level
        mean, _, _, seen = struct.unpack_from("<dddB", old._ewmean.__getstate__())
        detector._level = EWMean(float(old.fading_factor), mean, seen=bool(seen))
    if isinstance(detector, RegressionDetector) and not isinstance(detector._residuals, EWVar):
        old = detector._residuals
        layout = "<dddBdddB"
        mean, _, _, seen, sq_mean, _, _, _ = struct.unpack_from(layout, old._ewvar.__getstate__())
        detector._residuals = EWVar(float(old.fading_factor), mean, sq_mean, seen=bool(seen))
