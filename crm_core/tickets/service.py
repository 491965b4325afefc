"""Ticket use cases: open or join a proactive ticket, open a reactive one, change a
ticket's status, comment. (Assignment, scheduling and resolution: :mod:`.dispatch`.)

Each takes its storage through ports (:mod:`crm_core.tickets.ports`) and the time as a
parameter, and returns the events it caused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from crm_core.kernel.errors import NotFound
from crm_core.kernel.events import Event
from crm_core.tickets.model import (
    FaultJoinedTicket,
    HistoryEntry,
    Ticket,
    TicketCommented,
    TicketDraft,
    TicketInputError,
    TicketOpened,
    TicketStatus,
    new_proactive,
    new_ticket,
)
from crm_core.tickets.ports import TicketRepository, TicketsUnitOfWork

Publish = Callable[[list[Event], Any], object]
"""Hands a use case's events to the event bus inside its transaction, before the commit."""

SYSTEM_ACTOR = "careline"
"""Who the history names for what careline did by itself (a proactive ticket opened)."""


def open_or_join_proactive(
    tickets: TicketRepository,
    draft: TicketDraft,
    *,
    customer_id: int,
    device_id: int,
    fault_id: int,
    now: datetime,
) -> list[Event]:
    """Open the device's proactive ticket for a fault, or add the fault to the live one.

    Runs inside the caller's transaction (ingest's batch); idempotent: a fault already
    linked adds nothing.
    """
    events: list[Event] = []
    tier = tickets.contract_tier(customer_id, device_id, now.date())
    ticket = tickets.add(new_proactive(draft, customer_id, device_id, now, tier))
    if ticket is None:
        ticket = tickets.live_proactive(device_id)
        if ticket is None:  # closed between the two statements: nothing to join
            return events
        _raise_priority(
            tickets, ticket, new_proactive(draft, customer_id, device_id, now, tier), now
        )
    else:
        assert ticket.id is not None
        tickets.record(ticket.id, HistoryEntry(now, SYSTEM_ACTOR, "created", None, "new"))
        events.append(TicketOpened(ticket.id, device_id, customer_id))
    assert ticket.id is not None
    if tickets.link_fault(ticket.id, fault_id):
        events.append(FaultJoinedTicket(ticket.id, fault_id))
    return events


def _raise_priority(
    tickets: TicketRepository, ticket: Ticket, joining: Ticket, now: datetime
) -> None:
    """A fault that joins a live ticket raises its priority when it is worse (a food-safety
    limit joining a drifting compressor makes the ticket P1); it never lowers it."""
    if joining.priority >= ticket.priority or ticket.id is None:
        return
    old = ticket.priority
    locked = tickets.get(ticket.id, for_update=True) or ticket
    locked.priority, locked.impact, locked.urgency = (
        joining.priority,
        joining.impact,
        joining.urgency,
    )
    locked.safety = locked.safety or joining.safety
    locked.updated_at = now
    tickets.save(locked)
    why = "safety risk" if joining.safety else f"impact {joining.impact}, urgency {joining.urgency}"
    tickets.record(
        ticket.id,
        HistoryEntry(
            now,
            SYSTEM_ACTOR,
            "escalation",
            comment=f"priority raised from P{old} to P{joining.priority} by a new fault: {why}",
            detail={"old_priority": old, "new_priority": joining.priority},
        ),
    )


def change_status(
    uow: TicketsUnitOfWork,
    ticket_id: int,
    status: TicketStatus,
    now: datetime,
    by: str,
    comment: str = "",
    publish: Publish | None = None,
) -> list[Event]:
    """Move a ticket along its lifecycle, in one transaction, on the record.

    :class:`NotFound`, or :class:`~crm_core.tickets.model.TicketConflictError` when the
    lifecycle does not allow the move or it would give a device a second live ticket.
    Resolving needs a resolution code: :func:`crm_core.tickets.dispatch.resolve`.
    """
    if status == "resolved":
        raise TicketInputError("resolving a ticket needs a resolution code: use resolve")
    with uow:
        ticket = uow.tickets.get(ticket_id, for_update=True)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        old = ticket.status
        events = ticket.change_status(status, now, by, comment)
        if events:
            uow.tickets.save(ticket)
            uow.tickets.record(ticket_id, HistoryEntry(now, by, "status", old, status, comment))
            if publish is not None:
                publish(events, uow)
        uow.commit()
    return events


def add_comment(
    uow: TicketsUnitOfWork, ticket_id: int, by: str, comment: str, now: datetime
) -> list[Event]:
    """Add a comment to a ticket's history (an agent's note, a call with the customer)."""
    if not comment.strip():
        raise ValueError("a comment says something")
    with uow:
        if uow.tickets.get(ticket_id) is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        uow.tickets.record(ticket_id, HistoryEntry(now, by, "comment", comment=comment))
        uow.commit()
    return [TicketCommented(ticket_id, by, comment)]


def open_reactive(
    uow: TicketsUnitOfWork,
    draft: TicketDraft,
    *,
    customer_id: int,
    device_id: int | None,
    by: str,
    now: datetime,
    publish: Publish | None = None,
) -> tuple[int, list[Event]]:
    """Log a customer's call as a reactive ticket: same lifecycle, priority and SLA as a
    proactive one (the contract tier is the one valid today for the device)."""
    if not draft.subject.strip():
        raise TicketInputError("a ticket needs a subject")
    with uow:
        tier = uow.tickets.contract_tier(customer_id, device_id, now.date())
        ticket = uow.tickets.add(new_ticket(draft, "reactive", customer_id, device_id, now, tier))
        assert ticket is not None  # reactive: never refused
        assert ticket.id is not None
        uow.tickets.record(
            ticket.id,
            HistoryEntry(now, by, "created", None, "new", detail={"kind": "reactive"}),
        )
        events: list[Event] = [TicketOpened(ticket.id, device_id, customer_id)]
        if publish is not None:
            publish(events, uow)
        uow.commit()
    return ticket.id, events
