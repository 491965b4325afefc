"""Acknowledging a fault on fakes: one transaction, the entity's rules, a line of history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.kernel.errors import NotFound
from devices.errors import FaultAlreadyCleared
from devices.faults.model import Fault, FaultAcknowledged, FaultStatus
from devices.faults.service import acknowledge
from tests.service.fakes import FakeFaultsUnitOfWork

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def stored(uow: FakeFaultsUnitOfWork) -> int:
    fault = uow.faults.add(
        Fault(
            device_id=1,
            metric="cabinet_temp",
            detector="limit_high",
            score=9.0,
            threshold=8.0,
            opened_at=NOW - timedelta(hours=1),
        )
    )
    assert fault is not None
    assert fault.id is not None
    return fault.id


def test_acknowledging_records_who_when_and_why() -> None:
    uow = FakeFaultsUnitOfWork()
    fault_id = stored(uow)
    events = acknowledge(uow, fault_id, "agent@example.com", "on it", NOW)
    assert events == [FaultAcknowledged(fault_id, "agent@example.com", NOW, "on it")]
    fault = uow.faults.rows[fault_id]
    assert (fault.status, fault.acknowledged_by, fault.acknowledged_at) == (
        FaultStatus.ACKNOWLEDGED,
        "agent@example.com",
        NOW,
    )
    assert fault.is_open  # acknowledged is still live
    assert uow.faults.notes == [(fault_id, NOW, "agent@example.com", "acknowledged", "on it")]
    assert uow.committed == 1


def test_a_cleared_or_unknown_fault_cannot_be_acknowledged_and_nothing_is_written() -> None:
    uow = FakeFaultsUnitOfWork()
    fault_id = stored(uow)
    fault = uow.faults.rows[fault_id]
    fault.clear(NOW - timedelta(minutes=5))
    with pytest.raises(FaultAlreadyCleared):
        acknowledge(uow, fault_id, "agent@example.com", "", NOW)
    with pytest.raises(NotFound):
        acknowledge(uow, 404, "agent@example.com", "", NOW)
    assert uow.faults.notes == []
    assert uow.committed == 0
