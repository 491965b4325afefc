"""Validation of samples against the catalog: metric, unit, kind, time, range; summaries."""

from __future__ import annotations

import pytest

from devices.catalog import DeviceType, parse_catalog
from ingest.messages import RejectReason, Sample
from ingest.validation import Validated, summarize, validate

NOW = 1_763_971_200.0  # receive time
TOLERANCE = 300.0
TYPICAL = {"mean": 0.0, "daily_amplitude": 0.0, "noise": 0.0}


@pytest.fixture(scope="module")
def fridge() -> DeviceType:
    # Our own small catalog, so these tests do not move when the shipped one changes.
    metrics = [
        {"key": "cabinet_temp", "unit": "Cel", "range": [-40.0, 60.0]},
        {"key": "compressor_power", "unit": "W", "range": [0.0, 2000.0]},
        {"key": "door_open", "unit": "/", "kind": "boolean", "range": [0.0, 1.0]},
    ]
    catalog = parse_catalog(
        {"device_types": {"refrigerator": {"metrics": [m | {"typical": TYPICAL} for m in metrics]}}}
    )
    return catalog.device_type("refrigerator")


def sample(
    metric: str, value: float | bool | str, *, time: float = NOW - 60, unit: str | None = None
) -> Sample:
    return Sample("FR-000001", metric, time, value, unit)


def check(device_type: DeviceType, *samples: Sample) -> Validated:
    return validate(samples, device_type, NOW, TOLERANCE)


@pytest.mark.parametrize(
    ("given", "reading"),
    [
        (sample("cabinet_temp", 4.2), ("cabinet_temp", NOW - 60, 4.2)),
        (sample("cabinet_temp", 4.2, unit="Cel"), ("cabinet_temp", NOW - 60, 4.2)),
        (sample("cabinet_temp", 5), ("cabinet_temp", NOW - 60, 5.0)),
        (sample("cabinet_temp", -40.0), ("cabinet_temp", NOW - 60, -40.0)),  # at the limits
        (sample("cabinet_temp", 60.0), ("cabinet_temp", NOW - 60, 60.0)),
        (sample("compressor_power", 0), ("compressor_power", NOW - 60, 0.0)),
        (sample("door_open", True), ("door_open", NOW - 60, 1.0)),
        (sample("door_open", False, unit="/"), ("door_open", NOW - 60, 0.0)),
        (sample("cabinet_temp", 4.2, time=NOW), ("cabinet_temp", NOW, 4.2)),
        (sample("cabinet_temp", 4.2, time=NOW + TOLERANCE), ("cabinet_temp", NOW + 300, 4.2)),
        (  # as old as accepted: 90 days before it was received
            sample("cabinet_temp", 4.2, time=NOW - 90 * 86400),
            ("cabinet_temp", NOW - 90 * 86400, 4.2),
        ),
    ],
)
def test_good_samples_become_readings(
    fridge: DeviceType, given: Sample, reading: tuple[str, float, float]
) -> None:
    result = check(fridge, given)
    assert result.problems == []
    assert result.readings == [reading]
    assert type(result.readings[0][2]) is float


@pytest.mark.parametrize(
    ("given", "reason", "detail"),
    [
        (
            sample("vibration_rms", 1.2),
            RejectReason.INVALID,
            "unknown metric 'vibration_rms' for device type refrigerator",
        ),
        (
            sample("cabinet_temp", 4.2, unit="K"),
            RejectReason.INVALID,
            "cabinet_temp: unit 'K', the catalog's is 'Cel'",
        ),
        (
            sample("door_open", True, unit="Cel"),
            RejectReason.INVALID,
            "door_open: unit 'Cel', the catalog's is '/'",
        ),
        (
            sample("cabinet_temp", True),
            RejectReason.INVALID,
            "cabinet_temp takes a number, got boolean true",
        ),
        (
            sample("cabinet_temp", "4.2"),
            RejectReason.INVALID,
            "cabinet_temp takes a number, got string '4.2'",
        ),
        (sample("door_open", 1), RejectReason.INVALID, "door_open takes a boolean, got int 1"),
        (
            sample("door_open", 0.0),
            RejectReason.INVALID,
            "door_open takes a boolean, got float 0.0",
        ),
        (
            sample("door_open", "open"),
            RejectReason.INVALID,
            "door_open takes a boolean, got string 'open'",
        ),
        (
            sample("cabinet_temp", 60.001),
            RejectReason.OUT_OF_RANGE,
            "cabinet_temp: 60.001 Cel is outside the possible range [-40, 60] Cel",
        ),
        (
            sample("cabinet_temp", -40.5),
            RejectReason.OUT_OF_RANGE,
            "cabinet_temp: -40.5 Cel is outside the possible range [-40, 60] Cel",
        ),
        (
            sample("compressor_power", -1),
            RejectReason.OUT_OF_RANGE,
            "compressor_power: -1.0 W is outside the possible range [0, 2000] W",
        ),
        (
            sample("cabinet_temp", float("nan")),
            RejectReason.INVALID,
            "cabinet_temp: value is not a number",
        ),
        (
            sample("cabinet_temp", 4.2, time=NOW + TOLERANCE + 1),
            RejectReason.INVALID,
            "cabinet_temp: time 2025-11-24T08:05:01Z is in the future, 301 s after it was "
            "received (tolerance 300 s)",
        ),
        (
            sample("cabinet_temp", 4.2, time=NOW * 1000),
            RejectReason.INVALID,
            "(milliseconds instead of seconds?)",
        ),
        (
            sample("cabinet_temp", 4.2, time=946_684_799.0),
            RejectReason.INVALID,
            "cabinet_temp: time 1999-12-31T23:59:59Z is before 2000-01-01",
        ),
        (
            sample("cabinet_temp", 4.2, time=float("inf")),
            RejectReason.INVALID,
            "cabinet_temp: time inf is in the future",
        ),
        (
            sample("cabinet_temp", 4.2, time=float("nan")),
            RejectReason.INVALID,
            "cabinet_temp: time is not a number",
        ),
    ],
)
def test_bad_samples_are_problems(
    fridge: DeviceType, given: Sample, reason: RejectReason, detail: str
) -> None:
    result = check(fridge, given)
    assert result.readings == []
    assert len(result.problems) == 1
    assert result.problems[0][0] is reason
    assert detail in result.problems[0][1]


def test_good_samples_are_kept_when_others_are_refused(fridge: DeviceType) -> None:
    result = check(
        fridge,
        sample("cabinet_temp", 4.2),
        sample("cabinet_temp", 99.0),
        sample("door_open", True),
        sample("humidity", 40.0),
        sample("compressor_power", 95.0, time=NOW - 120),
    )
    assert result.readings == [
        ("cabinet_temp", NOW - 60, 4.2),
        ("door_open", NOW - 60, 1.0),
        ("compressor_power", NOW - 120, 95.0),
    ]
    assert [reason for reason, _ in result.problems] == [
        RejectReason.OUT_OF_RANGE,
        RejectReason.INVALID,
    ]


def test_no_samples_nothing_to_say(fridge: DeviceType) -> None:
    assert check(fridge) == Validated(readings=[], problems=[])


@pytest.mark.parametrize(
    ("count", "detail"),
    [
        (1, "p0"),
        (5, "p0; p1; p2; p3; p4"),
        (6, "p0; p1; p2; p3; p4; and 1 more"),
        (12, "p0; p1; p2; p3; p4; and 7 more"),
    ],
)
def test_summarize_gives_the_first_reason_and_at_most_five_details(count: int, detail: str) -> None:
    problems = [(RejectReason.OUT_OF_RANGE, "p0")] + [
        (RejectReason.INVALID, f"p{i}") for i in range(1, count)
    ]
    assert summarize(problems) == (RejectReason.OUT_OF_RANGE, detail)


def test_summarize_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        summarize([])


def test_a_reading_older_than_the_past_tolerance_is_refused(fridge: DeviceType) -> None:
    old = sample("cabinet_temp", 4.2, time=NOW - 90 * 86400 - 1)
    result = check(fridge, old)
    assert result.readings == []
    assert result.problems == [
        (
            RejectReason.INVALID,
            "cabinet_temp: time 2025-08-26T07:59:59Z is more than 90 days before it was "
            "received (ingest.past_tolerance_s)",
        )
    ]
    kept = validate([old], fridge, NOW, TOLERANCE, past_tolerance_s=365 * 86400)
    assert kept.problems == []
