"""The metric catalog: what each device type measures, kept as data (``catalog.toml``).

Decoder, validation, detectors, simulators and reports read the same :class:`Catalog`, so a
new device type or metric is a data change, not a code change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from devices.causes import Cause, CauseError, parse_causes

MetricKind = Literal["number", "boolean"]


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    kind: str
    window_s: float
    threshold: float
    warmup: int
    open_after: int
    clear_after: int
    adapt: float
    absorb_after: int = 288
    """Windows a fault may stay open before its level is taken as the new normal."""
    inputs: tuple[str, ...] = ()
    """Other metrics of the device the value is regressed on (``regression`` detectors)."""


@dataclass(frozen=True, slots=True)
class Typical:
    mean: float
    daily_amplitude: float
    noise: float


@dataclass(frozen=True, slots=True)
class HardLimit:
    """A value past ``value`` (``above`` it, or below it) for ``for_s`` seconds is a fault;
    back within it for ``clear_s`` seconds clears the fault."""

    value: float
    above: bool
    for_s: float
    clear_s: float

    @property
    def detector(self) -> str:
        """The name faults from this limit carry: ``limit_high`` or ``limit_low``."""
        return "limit_high" if self.above else "limit_low"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    key: str
    label: str
    unit: str
    kind: MetricKind
    low: float
    high: float
    typical: Typical
    detector: DetectorSpec | None
    limits: tuple[HardLimit, ...] = ()
    relation: DetectorSpec | None = None
    """A second learned detector that judges the metric against its ``inputs``."""

    def in_range(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Pause:
    """While the device's boolean metric ``flag`` reads true (a defrost cycle), and for
    ``settle_s`` seconds of device time after, readings of ``metrics`` are not judged by the
    detectors (a gap to them), because the device says it is not in normal operation."""

    flag: str
    metrics: frozenset[str]
    settle_s: float = 0.0


@dataclass(frozen=True, slots=True)
class DeviceType:
    key: str
    label: str
    report_interval_s: float
    offline_after_s: float
    metrics: dict[str, MetricSpec]
    no_data_after_s: float = 3600.0
    """Silence that becomes a fault (and a ticket): longer than offline, which only shows."""
    causes: tuple[Cause, ...] = ()
    """What a fault signature on this type means, in the order the diagnosis tries them."""
    models: tuple[str, ...] = ()
    """The product lines of the type; a device registered by staff names one of them."""
    pause: Pause | None = None
    """When its detectors look away (a defrost cycle), if ever."""


@dataclass(frozen=True, slots=True)
class Catalog:
    device_types: dict[str, DeviceType]

    def device_type(self, key: str) -> DeviceType:
        try:
            return self.device_types[key]
        except KeyError:
            raise CatalogError(f"unknown device type {key!r}") from None

    def metric_keys(self) -> list[str]:
        """Every metric key of every device type, sorted, without repeats."""
        return sorted({m for t in self.device_types.values() for m in t.metrics})

    def units(self) -> dict[str, str]:
        """metric key -> unit; a key means one quantity across device types."""
        return {m.key: m.unit for t in self.device_types.values() for m in t.metrics.values()}


def _limits(raw: dict[str, Any], where: str) -> tuple[HardLimit, ...]:
    # A metric without a learned detector is still watched by its limits (door open > 10 min).
    return tuple(_limit(item, where) for item in raw.get("limits", ()))


def _limit(raw: dict[str, Any], where: str) -> HardLimit:
    if ("above" in raw) == ("below" in raw):
        raise CatalogError(f"{where}.limits: each limit has exactly one of above, below")
    try:
        for_s = float(raw["for_s"])
        limit = HardLimit(
            value=float(raw["above"] if "above" in raw else raw["below"]),
            above="above" in raw,
            for_s=for_s,
            clear_s=float(raw.get("clear_s", for_s / 2)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"{where}.limits: {exc!r}") from exc
    if limit.for_s < 0 or limit.clear_s < 0:
        raise CatalogError(f"{where}.limits: durations must not be negative")
    return limit


def _detector(raw: dict[str, Any], where: str) -> DetectorSpec:
    try:
        spec = DetectorSpec(
            kind=str(raw["kind"]),
            window_s=float(raw["window_s"]),
            threshold=float(raw["threshold"]),
            warmup=int(raw["warmup"]),
            open_after=int(raw["open_after"]),
            clear_after=int(raw["clear_after"]),
            adapt=float(raw["adapt"]),
            absorb_after=int(raw.get("absorb_after", 288)),
            inputs=tuple(str(m) for m in raw.get("inputs", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"{where}.detector: {exc!r}") from exc
    if spec.window_s <= 0 or spec.open_after < 1 or spec.clear_after < 1 or spec.warmup < 2:
        raise CatalogError(f"{where}.detector: window, warmup and counts must be positive")
    if spec.absorb_after < spec.clear_after:
        raise CatalogError(
            f"{where}.detector: absorb_after ({spec.absorb_after}) must be at least "
            f"clear_after ({spec.clear_after}): a fault must be able to clear before it is "
            "taken as the new normal"
        )
    return spec


def _metric(raw: dict[str, Any], where: str) -> MetricSpec:
    try:
        low, high = (float(v) for v in raw["range"])
        typical = raw["typical"]
        kind = raw.get("kind", "number")
        if kind not in ("number", "boolean"):
            raise CatalogError(f"{where}: kind must be number or boolean")
        spec = MetricSpec(
            key=str(raw["key"]),
            label=str(raw.get("label", raw["key"])),
            unit=str(raw["unit"]),
            kind=kind,
            low=low,
            high=high,
            typical=Typical(
                mean=float(typical["mean"]),
                daily_amplitude=float(typical["daily_amplitude"]),
                noise=float(typical["noise"]),
            ),
            detector=_detector(raw["detector"], where) if "detector" in raw else None,
            limits=_limits(raw, where),
            relation=_detector(raw["relation"], f"{where}.relation") if "relation" in raw else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"{where}: {exc!r}") from exc
    if low >= high:
        raise CatalogError(f"{where}: range must be [low, high] with low < high")
    return spec


def _check_inputs(metric: MetricSpec, metrics: dict[str, MetricSpec], where: str) -> None:
    assert metric.relation is not None
    inputs = metric.relation.inputs
    unknown = [m for m in inputs if m not in metrics or m == metric.key]
    if not inputs or unknown:
        raise CatalogError(
            f"{where}.{metric.key}.relation: inputs must name other metrics of the type"
            f"{f', not {unknown}' if unknown else ''}"
        )


def _causes(raw: dict[str, Any], metrics: dict[str, MetricSpec], where: str) -> tuple[Cause, ...]:
    try:
        return parse_causes(raw.get("causes", []), metrics, where)
    except CauseError as exc:
        raise CatalogError(str(exc)) from exc


def _pause(raw: dict[str, Any], metrics: dict[str, MetricSpec], where: str) -> Pause | None:
    if "pause" not in raw:
        return None
    try:
        spec = raw["pause"]
        pause = Pause(
            flag=str(spec["flag"]),
            metrics=frozenset(str(m) for m in spec["metrics"]),
            settle_s=float(spec.get("settle_s", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"{where}.pause: {exc!r}") from exc
    flag = metrics.get(pause.flag)
    if flag is None or flag.kind != "boolean":
        raise CatalogError(f"{where}.pause: flag must name a boolean metric of the type")
    unknown = sorted(pause.metrics - metrics.keys())
    if unknown or pause.flag in pause.metrics or pause.settle_s < 0:
        raise CatalogError(
            f"{where}.pause: metrics must be other metrics of the type (not {unknown}) and "
            "settle_s must not be negative"
        )
    return pause


def parse_catalog(data: dict[str, Any]) -> Catalog:
    types: dict[str, DeviceType] = {}
    units: dict[str, str] = {}
    for key, raw in data.get("device_types", {}).items():
        metrics: dict[str, MetricSpec] = {}
        for index, raw_metric in enumerate(raw.get("metrics", [])):
            metric = _metric(raw_metric, f"device_types.{key}.metrics[{index}]")
            if units.setdefault(metric.key, metric.unit) != metric.unit:
                raise CatalogError(f"metric {metric.key!r} has two units")
            metrics[metric.key] = metric
        where = f"device_types.{key}"
        for metric in metrics.values():
            if metric.relation is not None:
                _check_inputs(metric, metrics, where)
        types[key] = DeviceType(
            causes=_causes(raw, metrics, where),
            key=key,
            label=str(raw.get("label", key)),
            report_interval_s=float(raw.get("report_interval_s", 60)),
            offline_after_s=float(raw.get("offline_after_s", 600)),
            no_data_after_s=float(raw.get("no_data_after_s", 3600)),
            metrics=metrics,
            models=tuple(str(m) for m in raw.get("models", ())),
            pause=_pause(raw, metrics, where),
        )
    if not types:
        raise CatalogError("the catalog defines no device types")
    return Catalog(device_types=types)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read the catalog from ``path``, or the one shipped with the package."""
    if path is None:
        text = resources.files("devices").joinpath("catalog.toml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    try:
        return parse_catalog(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog is not valid TOML: {exc}") from exc
