"""``careline evaluate``: the matching rules on made-up data, and a small seeded run."""

from __future__ import annotations

from careline.evaluate import START, Raised, cause_parts, score, simulate
from devices.catalog import Catalog
from simulators.faults import FaultKind, InjectedFault

HOUR = 3600.0
FAULT = InjectedFault("FR-000001", FaultKind.COMPRESSOR_DEGRADATION, START + 48 * HOUR, 6 * HOUR)


def test_a_fault_raised_between_onset_and_failure_counts_with_its_lead_and_delay() -> None:
    raised = [
        Raised("FR-000001", "cabinet_temp", "standard_score", START + 50 * HOUR),
        Raised("FR-000001", "compressor_power", "standard_score", START + 51 * HOUR),
    ]
    result = score([FAULT], raised, device_days=10)
    assert result.detected_before_failure == 1.0
    assert result.median_lead_hours == 4.0  # failure at onset + 6 h, raised at onset + 2 h
    assert result.median_delay_hours == 2.0
    assert result.false_alarms == 0  # both explained by the fault


def test_too_late_is_missed_and_elsewhere_or_before_is_a_false_alarm() -> None:
    raised = [
        Raised("FR-000001", "cabinet_temp", "standard_score", START + 55 * HOUR),  # after failure
        Raised("FR-000001", "cabinet_temp", "standard_score", START + 10 * HOUR),  # before onset
        Raised("FR-000002", "cabinet_temp", "limit_high", START + 60 * HOUR),  # no fault there
    ]
    result = score([FAULT], raised, device_days=50)
    assert result.detected_before_failure == 0.0
    assert result.missed == [FAULT.label]
    assert result.false_alarms == 2
    assert result.false_alarms_per_100_device_days == 4.0


def test_a_detection_counts_only_on_a_metric_the_fault_moves() -> None:
    drain = InjectedFault("WM-000001", FaultKind.DRAIN_PUMP_BLOCKAGE, START + 48 * HOUR, 24 * HOUR)
    raised = [Raised("WM-000001", "vibration_rms", "standard_score", START + 50 * HOUR)]
    result = score([drain], raised, device_days=10)
    assert result.detected_before_failure == 0.0
    assert result.false_alarms == 0  # not a false alarm either: the device is faulty


def test_the_diagnosis_at_the_last_detection_before_failure_is_judged() -> None:
    raised = [
        Raised("FR-000001", "cabinet_temp", "standard_score", START + 49 * HOUR, "cooling_loss"),
        Raised("FR-000001", "compressor_power", "regression", START + 50 * HOUR, "compressor_wear"),
    ]
    assert score([FAULT], raised, device_days=10).diagnosis_accuracy == 1.0
    wrong = [
        *raised,
        Raised("FR-000001", "duty_cycle", "standard_score", START + 51 * HOUR, "door_seal_leak"),
    ]
    result = score([FAULT], wrong, device_days=10)
    assert result.diagnosis_accuracy == 0.0
    assert result.misdiagnosed == [f"{FAULT.label}: diagnosed door_seal_leak"]
    # another cause that brings the same part is right: the technician has what it takes
    same_part = [
        *raised[:1],
        Raised("FR-000001", "cabinet_temp", "limit_high", START + 52 * HOUR, "x"),
    ]
    parts = {"compressor_wear": "compressor", "x": "compressor"}
    assert score([FAULT], same_part, 10, parts).diagnosis_accuracy == 1.0


def test_a_small_seeded_run_of_the_real_detectors(catalog: Catalog) -> None:
    injected, raised, device_days = simulate(
        catalog, seed=1, refrigerators=6, washing_machines=3, days=4, faults=7
    )
    result = score(injected, raised, device_days, cause_parts(catalog)).as_json()
    assert set(result) >= {
        "detected_before_failure",
        "median_lead_hours",
        "false_alarms_per_100_device_days",
        "diagnosis_accuracy",
        "faults",
        "device_days",
    }
    assert result["faults"] == 7
    assert result["device_days"] == 36.0
    assert result["detected_before_failure"] == 1.0
    assert result["diagnosis_accuracy"] == 1.0
    assert result["by_kind"] == {
        kind.value: {"faults": 1, "detected": 1, "diagnosed_right": 1} for kind in FaultKind
    }
    assert result["false_alarms_per_100_device_days"] == 0.0
    assert {f.kind for f in injected} == set(FaultKind)
