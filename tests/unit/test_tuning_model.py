"""Detector settings in layers: precedence, validation, what a monitor runs with, and the
bounded no-fault-found step."""

from __future__ import annotations

import pytest

from devices.catalog import Catalog, HardLimit
from devices.errors import TuningError
from devices.tuning.model import (
    Override,
    check_layer,
    desensitised,
    effective,
    model_defaults,
    tuned,
    validate,
)


def test_device_beats_customer_beats_model_setting_by_setting(catalog: Catalog) -> None:
    fridge = catalog.device_type("refrigerator")
    base = model_defaults(fridge, "cabinet_temp")
    customer = Override(threshold=6.0, limit_high=9.0, note="")
    device = Override(threshold=7.0, note="no fault found on ticket 3")

    settings = effective(base, customer, device)

    assert (settings["threshold"].value, settings["threshold"].source) == (7.0, "device")
    assert settings["threshold"].note == "no fault found on ticket 3"
    assert (settings["limit_high"].value, settings["limit_high"].source) == (9.0, "customer")
    assert (settings["limit_high_for_s"].value, settings["limit_high_for_s"].source) == (
        1200.0,
        "model",
    )
    assert (settings["enabled"].value, settings["enabled"].source) == (True, "model")
    assert settings["limit_low"].value is None


def test_telemetry_carries_the_no_data_interval_only(catalog: Catalog) -> None:
    washer = catalog.device_type("washing_machine")
    base = model_defaults(washer, "telemetry")
    assert base == {"no_data_after_s": 259200.0}
    assert effective(base, None, Override(no_data_after_s=7200.0))["no_data_after_s"].source == (
        "device"
    )
    with pytest.raises(TuningError, match="threshold cannot be set here"):
        check_layer(washer, "telemetry", Override(threshold=5.0))
    with pytest.raises(TuningError, match="no_data_after_s cannot be set here"):
        check_layer(washer, "vibration_rms", Override(no_data_after_s=60.0))


@pytest.mark.parametrize(
    ("metric", "layer", "message"),
    [
        ("cabinet_temp", Override(limit_low=9.0, limit_low_for_s=60.0), "must be below"),
        ("cabinet_temp", Override(threshold=0.0), "must be above 0"),
        ("cabinet_temp", Override(threshold=150.0), "at most 100"),
        ("cabinet_temp", Override(limit_high=80.0), "outside what the sensor can measure"),
        ("cabinet_temp", Override(limit_high_for_s=-1.0), ">= 0"),
        ("compressor_power", Override(limit_high=500.0), "needs limit_high_for_s"),
        ("telemetry", Override(no_data_after_s=10.0), "at least the reporting interval"),
    ],
)
def test_impossible_settings_are_refused_with_a_clear_reason(
    catalog: Catalog, metric: str, layer: Override, message: str
) -> None:
    fridge = catalog.device_type("refrigerator")
    with pytest.raises(TuningError, match=message):
        validate(fridge, metric, effective(model_defaults(fridge, metric), None, layer))


def test_non_finite_numbers_and_untunable_metrics_are_refused(catalog: Catalog) -> None:
    fridge = catalog.device_type("refrigerator")
    with pytest.raises(TuningError, match="finite"):
        check_layer(fridge, "cabinet_temp", Override(limit_high=float("nan")))
    with pytest.raises(TuningError, match="has no detector"):
        model_defaults(catalog.device_type("washing_machine"), "drum_speed")
    with pytest.raises(TuningError, match="does not measure"):
        model_defaults(fridge, "vibration_rms")


def test_tuned_keeps_the_catalogs_objects_when_nothing_changes(catalog: Catalog) -> None:
    spec = catalog.device_type("refrigerator").metrics["cabinet_temp"]
    fridge = catalog.device_type("refrigerator")
    base = model_defaults(fridge, "cabinet_temp")

    same = tuned(spec, effective(base, None, None))
    assert same.detector is spec.detector
    assert same.limits == spec.limits
    assert same.enabled

    moved = tuned(spec, effective(base, None, Override(threshold=6.0, limit_high=10.0)))
    assert moved.detector is not None
    assert moved.detector.threshold == 6.0
    assert moved.limits == (HardLimit(10.0, True, 1200.0, 600.0),)

    floor = Override(limit_low=0.0, limit_low_for_s=600.0, enabled=False)
    off = tuned(spec, effective(base, None, floor))
    assert not off.enabled
    assert [limit.detector for limit in off.limits] == ["limit_high", "limit_low"]


def test_no_fault_found_raises_a_step_up_to_a_cap(catalog: Catalog) -> None:
    fridge = catalog.device_type("refrigerator")
    base = model_defaults(fridge, "cabinet_temp")
    layer = Override()
    steps = []
    for _ in range(6):
        step = desensitised("standard_score", "cabinet_temp", base, effective(base, None, layer))
        if step is None:
            break
        steps.append(step["threshold"])
        layer = Override(threshold=step["threshold"])
    assert steps == [5.0, 6.0, 7.0, 8.0]  # twice the model's 4, then no further

    for_s = desensitised("limit_high", "cabinet_temp", base, effective(base, None, None))
    assert for_s == {"limit_high_for_s": 1800.0}  # the limit's level never moves
    telemetry = model_defaults(fridge, "telemetry")
    assert desensitised("no_data", "telemetry", telemetry, effective(telemetry, None, None)) == {
        "no_data_after_s": 5400.0
    }
    assert desensitised("limit_low", "cabinet_temp", base, effective(base, None, None)) is None


def test_a_metric_watched_by_limits_alone_tunes_its_limits_not_a_threshold(
    catalog: Catalog,
) -> None:
    fridge = catalog.device_type("refrigerator")
    base = model_defaults(fridge, "door_open")
    assert "threshold" not in base
    assert (base["limit_high"], base["limit_high_for_s"]) == (0.5, 600.0)
    with pytest.raises(TuningError, match="threshold cannot be set here"):
        check_layer(fridge, "door_open", Override(threshold=5.0))
    spec = fridge.metrics["door_open"]
    longer = tuned(spec, effective(base, None, Override(limit_high_for_s=900.0)))
    assert longer.detector is None
    assert longer.limits == (HardLimit(0.5, True, 900.0, 120.0),)  # the catalog's clear_s
    step = desensitised("limit_high", "door_open", base, effective(base, None, None))
    assert step == {"limit_high_for_s": 900.0}
