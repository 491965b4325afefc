"""Ticket use cases on fakes: one transaction each, rules kept, events returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_core.kernel.errors import NotFound
from crm_core.tickets.dispatch import resolve
from crm_core.tickets.model import (
    FaultJoinedTicket,
    TicketConflictError,
    TicketDraft,
    TicketOpened,
    TicketStatus,
    TicketStatusChanged,
)
from crm_core.tickets.policies import load_service_levels
from crm_core.tickets.service import add_comment, change_status, open_or_join_proactive
from tests.service.fakes import FakeTicketsUnitOfWork

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DRAFT = TicketDraft("Fridge: too warm", "details", 2)
LEVELS = load_service_levels()


def open_for(uow: FakeTicketsUnitOfWork, device_id: int, fault_id: int) -> list[object]:
    return list(
        open_or_join_proactive(
            uow.tickets, DRAFT, customer_id=7, device_id=device_id, fault_id=fault_id, now=NOW
        )
    )


def test_status_changes_commit_once_say_what_changed_and_are_history() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    later = NOW + timedelta(hours=1)
    assert change_status(uow, 1, "assigned", later, "dispatch", "to Anna") == [
        TicketStatusChanged(1, "new", "assigned", "dispatch", "to Anna")
    ]
    assert uow.committed == 1
    assert uow.tickets.rows[1].status == "assigned"
    assert uow.tickets.rows[1].updated_at == later
    assert change_status(uow, 1, "assigned", later, "dispatch") == []  # no change
    add_comment(uow, 1, "agent", "customer prefers mornings", later)
    assert [(e.action, e.actor, e.new_status, e.comment) for _, e in uow.tickets.lines] == [
        ("created", "careline", "new", ""),
        ("status", "dispatch", "assigned", "to Anna"),
        ("comment", "agent", None, "customer prefers mornings"),
    ]


def test_the_whole_field_service_path() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    path: tuple[TicketStatus, ...] = (
        "assigned",
        "scheduled",
        "in_progress",
        "waiting_for_customer",
        "in_progress",
        "resolved",
        "closed",
    )
    for status in path:
        if status == "resolved":  # resolving needs a code
            resolve(uow, LEVELS, 1, "repaired", NOW, "agent")
        else:
            change_status(uow, 1, status, NOW, "agent")
    assert uow.tickets.rows[1].status == "closed"


def test_a_move_the_lifecycle_forbids_writes_nothing() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    with pytest.raises(TicketConflictError, match="from new to closed"):
        change_status(uow, 1, "closed", NOW, "agent")
    change_status(uow, 1, "cancelled", NOW, "agent")
    with pytest.raises(TicketConflictError, match="it is final"):
        change_status(uow, 1, "in_progress", NOW, "agent")
    assert uow.tickets.rows[1].status == "cancelled"
    assert uow.committed == 1


def test_reopening_is_refused_while_the_device_has_another_live_ticket() -> None:
    uow = FakeTicketsUnitOfWork()
    open_for(uow, 1, 10)
    resolve(uow, LEVELS, 1, "repaired", NOW, "agent")
    assert [type(e) for e in open_for(uow, 1, 11)] == [TicketOpened, FaultJoinedTicket]
    with pytest.raises(TicketConflictError):
        change_status(uow, 1, "in_progress", NOW, "agent")
    assert uow.tickets.rows[1].status == "resolved"  # rolled back


def test_an_unknown_ticket_is_not_found() -> None:
    with pytest.raises(NotFound):
        change_status(FakeTicketsUnitOfWork(), 404, "assigned", NOW, "agent")
