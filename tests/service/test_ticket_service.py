"""Ticket use cases on fakes: one transaction each, rules kept, events returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.kernel.errors import NotFound
from crm_core.tickets.model import (
    FaultJoinedTicket,
    TicketConflictError,
    TicketDraft,
    TicketOpened,
    TicketStatusChanged,
)
from crm_core.tickets.service import change_status, open_or_join_proactive
from tests.service.fakes import FakeTicketsUnitOfWork

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DRAFT = TicketDraft("Fridge: too warm", "details", 2)


def open_for(uow: FakeTicketsUnitOfWork, device_id: int, fault_id: int) -> list[object]:
    return list(
        open_or_join_proactive(
            uow.tickets, DRAFT, customer_id=7, device_id=device_id, fault_id=fault_id, now=NOW
        )
    )


def test_status_changes_commit_once_and_say_what_changed() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    later = NOW + timedelta(hours=1)
    assert change_status(uow, 1, "pending", later) == [TicketStatusChanged(1, "new", "pending")]
    assert uow.committed == 1
    assert uow.tickets.rows[1].status == "pending"
    assert uow.tickets.rows[1].updated_at == later
    assert change_status(uow, 1, "pending", later) == []  # no change, nothing saved


def test_a_closed_ticket_is_final_and_nothing_is_written() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    change_status(uow, 1, "closed", NOW)
    with pytest.raises(TicketConflictError):
        change_status(uow, 1, "open", NOW)
    assert uow.tickets.rows[1].status == "closed"
    assert uow.committed == 1


def test_reopening_is_refused_while_the_device_has_another_live_ticket() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    change_status(uow, 1, "solved", NOW)
    assert [type(e) for e in open_for(uow, 1, 11)] == [TicketOpened, FaultJoinedTicket]
    with pytest.raises(TicketConflictError):
        change_status(uow, 1, "open", NOW)
    assert uow.tickets.rows[1].status == "solved"  # rolled back


def test_an_unknown_ticket_is_not_found() -> None:
    with pytest.raises(NotFound):
        change_status(FakeTicketsUnitOfWork(), 404, "open", NOW)
