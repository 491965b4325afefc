"""``careline evaluate``: the matching rules on made-up data, and a small seeded run."""

from __future__ import annotations

from careline.evaluate import START, Raised, evaluate, score, simulate
from devices.catalog import Catalog
from simulators.delivery import deliveries
from simulators.fault_profiles import FaultKind
from simulators.faults import InjectedFault
from simulators.fleet import make_device

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
    run = simulate(
        catalog, seed=1, refrigerators=6, washing_machines=4, heat_pumps=4, days=4, faults=10
    )
    result = evaluate(run, catalog).as_json()
    assert set(result) >= {
        "detected_before_failure",
        "median_lead_hours",
        "false_alarms_per_100_device_days",
        "diagnosis_accuracy",
        "faults",
        "device_days",
        "by_type",
        "late_readings",
    }
    assert result["faults"] == 10
    assert result["device_days"] == 56.0
    assert {f.kind for f in run.injected} == set(FaultKind)
    assert result["by_kind"] == {
        kind.value: {"faults": 1, "detected": 1, "diagnosed_right": 1} for kind in FaultKind
    }
    assert result["detected_before_failure"] == 1.0
    assert result["diagnosis_accuracy"] == 1.0
    assert result["false_alarms_per_100_device_days"] == 0.0
    by_type = result["by_type"]
    assert isinstance(by_type, dict)
    assert by_type["heat_pump"] == {
        "faults": 3,
        "detected": 3,
        "diagnosed_right": 3,
        "false_alarms": 0,
        "device_days": 16.0,
        "false_alarms_per_100_device_days": 0.0,
    }
    # buffered outages were uploaded after live readings: the detectors saw them late
    late = result["late_readings"]
    assert isinstance(late, int)
    assert late > 0


def test_a_buffered_outage_arrives_late_after_the_live_reading_of_the_reconnect() -> None:
    fridge = make_device(1, "refrigerator", 1)
    stream = list(
        deliveries(fridge, 1, START, START + 4 * 86400.0, 60.0, lambda t: {"x": t}, ["x"])
    )
    late = [d for d in stream if d.late]
    assert late, "the seeded device has a buffered outage in four days"
    first = late[0]
    # the live reading of the reconnect came first, with the same arrival time
    live = next(d for d in stream if d.arrival == first.arrival and not d.late)
    assert stream.index(live) < stream.index(first)
    assert first.t < live.t
    # nothing was taken twice, and every late reading is delivered, in device-time order
    times = [d.t for d in stream]
    assert len(times) == len(set(times))
    assert [d.t for d in late] == sorted(d.t for d in late)
    # arrival order is what ingest sees: it is not device-time order
    assert times != sorted(times)
