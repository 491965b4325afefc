"""``careline evaluate``: the matching rules on made-up data, and a small seeded run."""

from __future__ import annotations

from careline.evaluate import START, Raised, score, simulate
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


def test_a_small_seeded_run_of_the_real_detectors(catalog: Catalog) -> None:
    injected, raised, device_days = simulate(
        catalog, seed=1, refrigerators=6, washing_machines=3, days=4, faults=4
    )
    result = score(injected, raised, device_days).as_json()
    assert set(result) >= {
        "detected_before_failure",
        "median_lead_hours",
        "false_alarms_per_100_device_days",
        "diagnosis_accuracy",
        "faults",
        "device_days",
    }
    assert result["faults"] == 4
    assert result["device_days"] == 36.0
    assert result["detected_before_failure"] == 1.0
    assert result["false_alarms_per_100_device_days"] == 0.0
    assert {f.kind for f in injected} == set(FaultKind)
