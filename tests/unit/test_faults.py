"""The fault entity's lifecycle: open -> cleared, once, never before its onset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from devices.errors import (
    DeviceError,
    FaultAlreadyCleared,
    FaultClearedBeforeOpened,
    InvalidTimeError,
)
from devices.faults.model import (
    Fault,
    FaultCleared,
    FaultOpened,
    FaultStatus,
    WindowSummary,
    epoch_from_utc,
    utc_from_epoch,
)

OPENED = 1_700_006_400.0  # 2023-11-15 00:00 UTC
EVIDENCE = (
    WindowSummary(start=OPENED - 300, mean=4.1, count=5, score=0.7),
    WindowSummary(start=OPENED, mean=6.3, count=5, score=9.5),
)


def opened_event() -> FaultOpened:
    return FaultOpened(
        device_id=7,
        metric="cabinet_temp",
        detector="standard_score",
        score=9.5,
        threshold=4.0,
        opened_at=OPENED,
        evidence=EVIDENCE,
    )


def test_a_fault_opened_by_an_event_is_open_with_an_aware_utc_onset() -> None:
    fault = Fault.from_opened(opened_event())

    assert fault.status is FaultStatus.OPEN
    assert fault.is_open
    assert fault.id is None
    assert fault.opened_at == datetime(2023, 11, 15, tzinfo=UTC)
    assert fault.opened_at.tzinfo is UTC
    assert (fault.device_id, fault.metric, fault.detector) == (7, "cabinet_temp", "standard_score")
    assert (fault.score, fault.threshold) == (9.5, 4.0)
    assert fault.evidence == EVIDENCE
    assert fault.cleared_at is None


def test_clearing_an_open_fault_records_the_time_and_returns_the_event() -> None:
    fault = Fault.from_opened(opened_event())
    at = datetime(2023, 11, 15, 3, 30, tzinfo=UTC)

    event = fault.clear(at)

    assert event == FaultCleared(
        device_id=7,
        metric="cabinet_temp",
        detector=fault.detector,
        cleared_at=OPENED + 3.5 * 3600,
    )
    assert fault.status is FaultStatus.CLEARED
    assert not fault.is_open
    assert fault.cleared_at == at


def test_clearing_twice_is_refused_and_keeps_the_first_clearing() -> None:
    fault = Fault.from_opened(opened_event())
    first = datetime(2023, 11, 15, 3, 30, tzinfo=UTC)
    fault.clear(first)

    with pytest.raises(FaultAlreadyCleared, match="was cleared at 2023-11-15T03:30:00"):
        fault.clear(first + timedelta(hours=1))

    assert fault.cleared_at == first
    assert fault.status is FaultStatus.CLEARED
    assert issubclass(FaultAlreadyCleared, DeviceError)


def test_clearing_before_the_onset_is_refused_and_leaves_the_fault_open() -> None:
    fault = Fault.from_opened(opened_event())

    with pytest.raises(FaultClearedBeforeOpened, match="it opened at 2023-11-15T00:00:00"):
        fault.clear(datetime(2023, 11, 14, 23, 59, tzinfo=UTC))

    assert fault.is_open
    assert fault.cleared_at is None
    assert issubclass(FaultClearedBeforeOpened, DeviceError)


def test_clearing_exactly_at_the_onset_is_allowed() -> None:
    fault = Fault.from_opened(opened_event())

    event = fault.clear(fault.opened_at)

    assert event.cleared_at == OPENED


def test_a_naive_clearing_time_is_refused() -> None:
    fault = Fault.from_opened(opened_event())

    with pytest.raises(InvalidTimeError, match="timezone-aware"):
        fault.clear(datetime(2023, 11, 15, 3, 30))  # noqa: DTZ001 - the point of the test

    assert fault.is_open


def test_times_in_other_zones_are_stored_as_utc() -> None:
    cet = timezone(timedelta(hours=1))
    fault = Fault(
        device_id=1,
        metric="vibration_rms",
        detector="standard_score",
        score=5.0,
        threshold=4.0,
        opened_at=datetime(2023, 11, 15, 1, 0, tzinfo=cet),
    )

    assert fault.opened_at == datetime(2023, 11, 15, 0, 0, tzinfo=UTC)
    assert fault.opened_at.tzinfo is UTC


def built(status: FaultStatus, cleared_at: datetime | None) -> Fault:
    return Fault(
        device_id=1,
        metric="vibration_rms",
        detector="standard_score",
        score=5.0,
        threshold=4.0,
        opened_at=datetime(2023, 11, 15, tzinfo=UTC),
        status=status,
        cleared_at=cleared_at,
    )


def test_a_fault_must_be_consistent_when_built() -> None:
    with pytest.raises(ValueError, match="cleared_at exactly when"):
        built(FaultStatus.CLEARED, None)
    with pytest.raises(ValueError, match="cleared_at exactly when"):
        built(FaultStatus.OPEN, datetime(2023, 11, 16, tzinfo=UTC))
    with pytest.raises(FaultClearedBeforeOpened):
        built(FaultStatus.CLEARED, datetime(2023, 11, 14, tzinfo=UTC))
    assert built(FaultStatus.CLEARED, datetime(2023, 11, 16, tzinfo=UTC)).status == "cleared"


def test_epoch_conversions_round_trip_and_refuse_bad_input() -> None:
    at = utc_from_epoch(OPENED + 0.25)

    assert at == datetime(2023, 11, 15, 0, 0, 0, 250000, tzinfo=UTC)
    assert epoch_from_utc(at) == OPENED + 0.25
    with pytest.raises(InvalidTimeError):
        utc_from_epoch(float("nan"))
    with pytest.raises(InvalidTimeError):
        epoch_from_utc(datetime(2023, 11, 15))  # noqa: DTZ001 - the point of the test
