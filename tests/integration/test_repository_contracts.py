"""One contract per port, run against its fake and its PostgreSQL adapter alike.

The service tests trust the fakes; these tests are why they may.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.tickets.model import Ticket, TicketConflictError, TicketDraft, new_proactive
from crm_core.tickets.ports import TicketRepository
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.faults.model import Fault, FaultStatus, WindowSummary
from devices.faults.ports import FaultRepository
from devices.faults.postgres import PostgresFaultRepository
from devices.owners import OwnedDevice, PostgresDeviceOwners
from tests.integration.conftest import register_devices
from tests.service.fakes import FakeFaultRepository, FakeTicketRepository

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DRAFT = TicketDraft("subject", "description", 2)


@pytest.fixture
def conn(db: Pool) -> Iterator[psycopg.Connection[TupleRow]]:
    """A connection inside a transaction that is rolled back afterwards."""
    register_devices(db, ["FR-000001", "FR-000002"])
    with db.connection() as connection, connection.transaction(force_rollback=True):
        yield connection


@pytest.fixture(params=["fake", "postgres"])
def tickets(request: pytest.FixtureRequest) -> TicketRepository:
    if request.param == "fake":
        return FakeTicketRepository()
    return PostgresTicketRepository(request.getfixturevalue("conn"))


@pytest.fixture(params=["fake", "postgres"])
def faults(request: pytest.FixtureRequest) -> FaultRepository:
    if request.param == "fake":
        return FakeFaultRepository()
    return PostgresFaultRepository(request.getfixturevalue("conn"))


def customer_of(tickets: TicketRepository) -> int:
    if isinstance(tickets, PostgresTicketRepository):
        return 1  # register_devices made customer 1 (identities restart per test)
    return 7


def proactive(tickets: TicketRepository, device_id: int = 1) -> Ticket:
    return new_proactive(DRAFT, customer_of(tickets), device_id, NOW)


def test_a_device_has_one_live_proactive_ticket(tickets: TicketRepository) -> None:
    first = tickets.add(proactive(tickets))
    assert first is not None
    assert first.id is not None
    assert tickets.add(proactive(tickets)) is None
    live = tickets.live_proactive(1)
    assert live is not None
    assert live.id == first.id
    assert tickets.live_proactive(2) is None
    assert tickets.add(proactive(tickets, device_id=2)) is not None


def test_a_fault_joins_one_ticket_once(tickets: TicketRepository, conn_fault: int) -> None:
    ticket = tickets.add(proactive(tickets))
    assert ticket is not None
    assert ticket.id is not None
    assert tickets.link_fault(ticket.id, conn_fault) is True
    assert tickets.link_fault(ticket.id, conn_fault) is False


def test_status_is_saved_and_reopening_beside_a_live_ticket_is_refused(
    tickets: TicketRepository,
) -> None:
    first = tickets.add(proactive(tickets))
    assert first is not None
    assert first.id is not None
    first.change_status("resolved", NOW + timedelta(hours=1), "agent")
    tickets.save(first)
    stored = tickets.get(first.id)
    assert stored is not None
    assert (stored.status, stored.updated_at) == ("resolved", NOW + timedelta(hours=1))
    assert tickets.add(proactive(tickets)) is not None  # the device's new live ticket
    first.change_status("in_progress", NOW, "agent")
    with pytest.raises(TicketConflictError):
        tickets.save(first)
    again = tickets.get(first.id)
    assert again is not None
    assert again.status == "resolved"
    assert tickets.get(999_999) is None


def fault(device_id: int = 1, at: datetime = NOW) -> Fault:
    window = WindowSummary(at.timestamp(), 9.0, 5, 8.0)
    return Fault(
        device_id=device_id,
        metric="cabinet_temp",
        detector="standard_score",
        score=8.0,
        threshold=4.0,
        opened_at=at,
        evidence=(window,),
    )


def test_one_open_fault_per_device_and_metric(faults: FaultRepository) -> None:
    stored = faults.add(fault())
    assert stored is not None
    assert stored.id is not None
    assert faults.add(fault()) is None  # the same onset again
    assert faults.add(fault(at=NOW + timedelta(hours=1))) is None  # still open
    found = faults.open_fault(1, "cabinet_temp", "standard_score")
    assert found is not None
    assert (found.id, found.opened_at, found.evidence) == (stored.id, NOW, stored.evidence)
    found.clear(NOW + timedelta(minutes=30))
    faults.save(found)
    assert faults.open_fault(1, "cabinet_temp", "standard_score") is None
    reopened = faults.add(fault(at=NOW + timedelta(hours=1)))
    assert reopened is not None
    assert reopened.status is FaultStatus.OPEN


@pytest.fixture
def conn_fault(request: pytest.FixtureRequest, tickets: TicketRepository) -> int:
    """A stored fault's id where the ticket repository stores its links."""
    if isinstance(tickets, PostgresTicketRepository):
        stored = PostgresFaultRepository(request.getfixturevalue("conn")).add(fault())
        assert stored is not None
        assert stored.id is not None
        return stored.id
    return 1


def test_device_owners_on_postgres(conn: psycopg.Connection[TupleRow]) -> None:
    """The fake of this port is a lookup table the tests fill in; only the adapter has rules."""
    owners = PostgresDeviceOwners(conn)
    assert owners.owner_of(1) == OwnedDevice("FR-000001", "refrigerator", "CoolFrost CF-300", 1)
    assert owners.owner_of(999) is None


def test_a_limit_and_a_learned_detector_each_have_their_open_fault(
    faults: FaultRepository,
) -> None:
    learned = faults.add(fault())
    limit = faults.add(dataclasses.replace(fault(), detector="limit_high", id=None))
    assert learned is not None
    assert limit is not None
    assert learned.id != limit.id
    found = faults.open_fault(1, "cabinet_temp", "limit_high")
    assert found is not None
    assert found.id == limit.id
