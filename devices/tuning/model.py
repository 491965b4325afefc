"""Detector settings in layers: the model's catalog defaults, then the customer's, then the
device's overrides; each setting comes from the highest layer that sets it.

A metric with a learned detector can have its ``threshold`` overridden, its hard limits
(``limit_high`` / ``limit_low`` with durations ``*_for_s``) and ``enabled`` (False turns the
learned detector and the hard limits of that metric off). The pseudo-metric
:data:`~devices.faults.no_data.TELEMETRY` carries the device's no-data interval
(``no_data_after_s``). ``None`` in an :class:`Override` means "inherit".

>>> from devices.catalog import load_catalog
>>> fridge = load_catalog().device_type("refrigerator")
>>> base = model_defaults(fridge, "cabinet_temp")
>>> layers = effective(base, Override(threshold=6.0), Override(limit_high=9.0))
>>> layers["threshold"], layers["limit_high"].source, layers["limit_high_for_s"].source
(Effective(value=6.0, source='customer', note=''), 'device', 'model')
>>> floor = Override(limit_low=10.0, limit_low_for_s=0)
>>> validate(fridge, "cabinet_temp", effective(base, None, floor))
Traceback (most recent call last):
...
devices.errors.TuningError: cabinet_temp: limit_low (10) must be below limit_high (8)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from devices.catalog import DetectorSpec, DeviceType, HardLimit, MetricSpec
from devices.errors import TuningError
from devices.faults.no_data import NO_DATA, TELEMETRY

Source = Literal["model", "customer", "device"]
SettingValue = float | bool | None

METRIC_SETTINGS: Final = (
    "enabled",
    "threshold",
    "limit_high",
    "limit_high_for_s",
    "limit_low",
    "limit_low_for_s",
)
TELEMETRY_SETTINGS: Final = ("no_data_after_s",)
SETTINGS: Final = METRIC_SETTINGS + TELEMETRY_SETTINGS
MAX_THRESHOLD: Final = 100.0
"""Learned detectors' scores stop at 100 (``SCORE_CAP``): a higher threshold never fires."""


@dataclass(frozen=True, slots=True)
class Override:
    """One layer's settings for one metric; None inherits from the layer below."""

    enabled: bool | None = None
    threshold: float | None = None
    limit_high: float | None = None
    limit_high_for_s: float | None = None
    limit_low: float | None = None
    limit_low_for_s: float | None = None
    no_data_after_s: float | None = None
    note: str = ""

    def values(self) -> dict[str, SettingValue]:
        """setting -> value, the settings this layer sets (not None) only."""
        return {s: getattr(self, s) for s in SETTINGS if getattr(self, s) is not None}

    @property
    def empty(self) -> bool:
        return not self.values()


@dataclass(frozen=True, slots=True)
class Effective:
    """A setting's value in force and the layer it comes from."""

    value: SettingValue
    source: Source
    note: str = ""


def model_defaults(kind: DeviceType, metric: str) -> dict[str, SettingValue]:
    """The catalog's settings for ``metric`` of a device type (TuningError if not tunable)."""
    if metric == TELEMETRY:
        return {"no_data_after_s": kind.no_data_after_s}
    spec = kind.metrics.get(metric)
    if spec is None:
        raise TuningError(f"a {kind.key} does not measure {metric!r}")
    if spec.detector is None and not spec.limits:
        raise TuningError(f"{metric} has no detector to tune")
    high = next((limit for limit in spec.limits if limit.above), None)
    low = next((limit for limit in spec.limits if not limit.above), None)
    learned = {} if spec.detector is None else {"threshold": spec.detector.threshold}
    return {
        "enabled": True,
        **learned,  # a metric watched by hard limits alone (a door switch) has no threshold
        "limit_high": None if high is None else high.value,
        "limit_high_for_s": None if high is None else high.for_s,
        "limit_low": None if low is None else low.value,
        "limit_low_for_s": None if low is None else low.for_s,
    }


def effective(
    defaults: Mapping[str, SettingValue],
    customer: Override | None,
    device: Override | None,
) -> dict[str, Effective]:
    """Each setting of ``defaults`` with its value in force: device > customer > model."""
    result: dict[str, Effective] = {}
    for setting, value in defaults.items():
        chosen = Effective(value, "model")
        for source, layer in (("customer", customer), ("device", device)):
            if layer is not None and getattr(layer, setting) is not None:
                chosen = Effective(getattr(layer, setting), source, layer.note)  # type: ignore[arg-type]
        result[setting] = chosen
    return result


def check_layer(kind: DeviceType, metric: str, layer: Override) -> None:
    """Refuse settings that do not belong to ``metric`` or are not finite numbers."""
    allowed: tuple[str, ...] = TELEMETRY_SETTINGS if metric == TELEMETRY else METRIC_SETTINGS
    spec = kind.metrics.get(metric)
    if spec is not None and spec.detector is None:  # hard limits alone
        allowed = tuple(s for s in allowed if s != "threshold")
    for setting, value in layer.values().items():
        if setting not in allowed:
            raise TuningError(
                f"{metric}: {setting} cannot be set here (settings of {metric}: "
                f"{', '.join(allowed)})"
            )
        if setting != "enabled" and not (isinstance(value, int | float) and math.isfinite(value)):
            raise TuningError(f"{metric}: {setting} must be a finite number, got {value!r}")


def validate(kind: DeviceType, metric: str, settings: Mapping[str, Effective]) -> None:
    """Refuse a combination of effective settings that cannot work (TuningError)."""
    value = {name: e.value for name, e in settings.items()}
    if metric == TELEMETRY:
        interval = value["no_data_after_s"]
        if not isinstance(interval, float | int) or interval < kind.report_interval_s:
            raise TuningError(
                f"{TELEMETRY}: no_data_after_s ({interval:g}) must be at least the reporting "
                f"interval of a {kind.key} ({kind.report_interval_s:g} s)"
            )
        return
    spec = kind.metrics[metric]
    threshold = value.get("threshold", 1.0)
    assert isinstance(threshold, float | int)
    if not 0 < threshold <= MAX_THRESHOLD:
        raise TuningError(
            f"{metric}: threshold ({threshold:g}) must be above 0 and at most {MAX_THRESHOLD:g}"
        )
    for side in ("high", "low"):
        level, duration = value[f"limit_{side}"], value[f"limit_{side}_for_s"]
        if (level is None) != (duration is None):
            missing = f"limit_{side}_for_s" if duration is None else f"limit_{side}"
            raise TuningError(f"{metric}: limit_{side} needs {missing} too")
        if isinstance(level, float | int) and not spec.low <= level <= spec.high:
            raise TuningError(
                f"{metric}: limit_{side} ({level:g}) lies outside what the sensor can "
                f"measure ({spec.low:g} to {spec.high:g} {spec.unit})"
            )
        if isinstance(duration, float | int) and duration < 0:
            raise TuningError(f"{metric}: limit_{side}_for_s ({duration:g}) must be >= 0")
    high, low = value["limit_high"], value["limit_low"]
    if isinstance(high, float | int) and isinstance(low, float | int) and not low < high:
        raise TuningError(f"{metric}: limit_low ({low:g}) must be below limit_high ({high:g})")


@dataclass(frozen=True, slots=True)
class MetricTuning:
    """What a monitor runs with for one metric of one device, resolved from the layers."""

    enabled: bool
    detector: DetectorSpec | None
    """None for a metric watched by hard limits alone."""
    limits: tuple[HardLimit, ...]


def tuned(spec: MetricSpec, settings: Mapping[str, Effective]) -> MetricTuning:
    """The monitor settings for ``spec`` under effective ``settings`` (already validated)."""
    value = {name: e.value for name, e in settings.items()}
    limits: list[HardLimit] = []
    for above, side in ((True, "high"), (False, "low")):
        level, duration = value[f"limit_{side}"], value[f"limit_{side}_for_s"]
        if level is None or duration is None:
            continue
        level, duration = float(level), float(duration)
        same = next((x for x in spec.limits if x.above == above), None)
        if same is not None and (same.value, same.for_s) == (level, duration):
            limits.append(same)  # unchanged: equal to the catalog's, so state carries over
        else:  # the catalog's clearing time for that side if it has one, else half
            clear = same.clear_s if same is not None else duration / 2
            limits.append(HardLimit(level, above, duration, clear))
    detector = spec.detector
    if detector is not None:
        threshold = float(value.get("threshold") or detector.threshold)
        if threshold != detector.threshold:
            detector = dataclasses.replace(detector, threshold=threshold)
    return MetricTuning(bool(value["enabled"]), detector, tuple(limits))


# -- "no fault found": the bounded step that keeps a false alarm from coming back ---------

NFF_THRESHOLD_STEP: Final = 1.0
"""A learned detector's threshold rises by this many standard scores per no-fault-found..."""
NFF_CAP_FACTOR: Final = 2.0
"""...and durations (hard limits, no-data) by half the model's, each up to this many times
the model's value. A hard limit's level is never moved: it is a safety limit."""


def desensitised(
    detector: str,
    metric: str,
    defaults: Mapping[str, SettingValue],
    settings: Mapping[str, Effective],
) -> dict[str, float] | None:
    """The device-level setting that makes the fault a step less likely, or None when it is
    at its cap already or the detector is not one this knows.

    >>> from devices.catalog import load_catalog
    >>> fridge = load_catalog().device_type("refrigerator")
    >>> base = model_defaults(fridge, "cabinet_temp")
    >>> desensitised("standard_score", "cabinet_temp", base, effective(base, None, None))
    {'threshold': 5.0}
    >>> desensitised("limit_high", "cabinet_temp", base, effective(base, None, None))
    {'limit_high_for_s': 1800.0}
    >>> at_cap = effective(base, None, Override(threshold=8.0))
    >>> desensitised("standard_score", "cabinet_temp", base, at_cap) is None
    True
    """
    if detector == NO_DATA:
        name = "no_data_after_s" if metric == TELEMETRY else ""
    elif detector in ("limit_high", "limit_low"):
        name = f"{detector}_for_s"
    else:  # a learned detector: its threshold
        name = "threshold"
    current = settings[name].value if name in settings else None
    if not isinstance(current, float | int) or isinstance(current, bool):
        return None
    model = defaults.get(name)
    base = float(model) if isinstance(model, float | int) else float(current)
    step = NFF_THRESHOLD_STEP if name == "threshold" else base / 2
    cap = base * NFF_CAP_FACTOR
    if name == "threshold":
        cap = min(cap, MAX_THRESHOLD)
    raised = min(float(current) + step, cap)
    if raised <= current:
        return None
    return {name: raised}
