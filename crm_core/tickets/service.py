"""Ticket use cases: open or join a proactive ticket, change a ticket's status.

Each takes its storage through ports (:mod:`crm_core.tickets.ports`) and the time as a
parameter, and returns the events it caused.
"""

from __future__ import annotations

from datetime import datetime

from crm_core.kernel.errors import NotFound
from crm_core.kernel.events import Event
from crm_core.tickets.model import (
    FaultJoinedTicket,
    HistoryEntry,
    TicketCommented,
    TicketDraft,
    TicketOpened,
    TicketStatus,
    new_proactive,
)
from crm_core.tickets.ports import TicketRepository, TicketsUnitOfWork

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
    ticket = tickets.add(new_proactive(draft, customer_id, device_id, now))
    if ticket is None:
        ticket = tickets.live_proactive(device_id)
        if ticket is None:  # closed between the two statements: nothing to join
            return events
    else:
        assert ticket.id is not None
        tickets.record(ticket.id, HistoryEntry(now, SYSTEM_ACTOR, "created", None, "new"))
        events.append(TicketOpened(ticket.id, device_id, customer_id))
    assert ticket.id is not None
    if tickets.link_fault(ticket.id, fault_id):
        events.append(FaultJoinedTicket(ticket.id, fault_id))
    return events


def change_status(
    uow: TicketsUnitOfWork,
    ticket_id: int,
    status: TicketStatus,
    now: datetime,
    by: str,
    comment: str = "",
) -> list[Event]:
    """Move a ticket along its lifecycle, in one transaction, on the record.

    :class:`NotFound`, or :class:`~crm_core.tickets.model.TicketConflictError` when the
    lifecycle does not allow the move or it would give a device a second live ticket.
    """
    with uow:
        ticket = uow.tickets.get(ticket_id, for_update=True)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        old = ticket.status
        events = ticket.change_status(status, now, by, comment)
        if events:
            uow.tickets.save(ticket)
            uow.tickets.record(ticket_id, HistoryEntry(now, by, "status", old, status, comment))
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
