"""Work-order use cases: assign a technician, schedule a visit, resolve with a code.

Each runs in one transaction, writes the ticket's history (and so the audit log) and
returns its events.

**First-time fix**, as careline records it: a visit is a move into ``in_progress`` (the
technician starts work); a ticket resolved after exactly one visit, with no visit booked
(``scheduled``) after that visit began, is a first-time fix; one that needed a second
visit or a new booking is not; one resolved with no visit at all (remotely, or by itself)
has no first-time-fix value (None), so it neither helps nor hurts the rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from crm_core.kernel.errors import NotFound
from crm_core.kernel.events import Event
from crm_core.tickets.model import (
    HistoryEntry,
    Ticket,
    TicketAssigned,
    TicketConflictError,
    TicketInputError,
    TicketResolved,
    TicketScheduled,
)
from crm_core.tickets.policies import ServiceLevels
from crm_core.tickets.ports import TicketsUnitOfWork
from crm_core.tickets.service import Publish

MAX_WINDOW: Final = timedelta(hours=12)


def _publish(publish: Publish | None, events: list[Event], uow: object) -> None:
    if publish is not None:
        publish(events, uow)


def _locked(uow: TicketsUnitOfWork, ticket_id: int) -> Ticket:
    ticket = uow.tickets.get(ticket_id, for_update=True)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def assign(
    uow: TicketsUnitOfWork,
    ticket_id: int,
    technician_id: int,
    now: datetime,
    by: str,
    publish: Publish | None = None,
) -> list[Event]:
    """Give the ticket to an active technician; a new ticket becomes ``assigned``."""
    with uow:
        ticket = _locked(uow, ticket_id)
        if not ticket.is_live:
            raise TicketConflictError(f"ticket {ticket_id} is {ticket.status}: nothing to assign")
        tech = uow.tickets.technician(technician_id)
        if tech is None:
            raise NotFound(f"technician {technician_id} does not exist")
        if not tech.active:
            raise TicketInputError(f"technician {tech.name} is not active")
        if ticket.technician_id == technician_id:
            return []
        old = ticket.status
        events: list[Event] = []
        if old == "new":
            events += ticket.change_status("assigned", now, by)
        ticket.technician_id, ticket.updated_at = technician_id, now
        uow.tickets.save(ticket)
        uow.tickets.record(
            ticket_id,
            HistoryEntry(
                now,
                by,
                "assignment",
                old,
                ticket.status,
                f"assigned to {tech.name}",
                {"technician_id": tech.id, "technician": tech.name},
            ),
        )
        events.append(TicketAssigned(ticket_id, technician_id, by))
        _publish(publish, events, uow)
        uow.commit()
    return events


def schedule(
    uow: TicketsUnitOfWork,
    ticket_id: int,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    by: str,
    publish: Publish | None = None,
) -> list[Event]:
    """Book the assigned technician's visit in an appointment window (at most 12 h, not
    over yet); the ticket becomes ``scheduled``."""
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise TicketInputError("an appointment window needs times with a time zone")
    if window_end <= window_start:
        raise TicketInputError("the appointment window ends before it starts")
    if window_end - window_start > MAX_WINDOW:
        raise TicketInputError("an appointment window is 12 hours at most")
    if window_end <= now:
        raise TicketInputError("the appointment window is already over")
    with uow:
        ticket = _locked(uow, ticket_id)
        if ticket.technician_id is None:
            raise TicketConflictError(f"ticket {ticket_id} has no technician: assign one first")
        old = ticket.status
        events: list[Event] = list(ticket.change_status("scheduled", now, by))
        ticket.window_start, ticket.window_end, ticket.updated_at = window_start, window_end, now
        uow.tickets.save(ticket)
        begins, ends = window_start.astimezone(UTC), window_end.astimezone(UTC)
        window = f"{begins:%Y-%m-%d %H:%M}–{ends:%H:%M} UTC"
        uow.tickets.record(
            ticket_id,
            HistoryEntry(
                now,
                by,
                "schedule",
                old,
                "scheduled",
                f"visit {window}",
                {
                    "technician_id": ticket.technician_id,
                    "window_start": window_start.isoformat(),
                    "window_end": window_end.isoformat(),
                },
            ),
        )
        events.append(
            TicketScheduled(ticket_id, ticket.technician_id, window_start, window_end, by)
        )
        _publish(publish, events, uow)
        uow.commit()
    return events


def first_time_fix(history: Sequence[HistoryEntry]) -> bool | None:
    """See the module: True after one visit, False after more, None without a visit."""
    visits, booked_after_visit = 0, False
    for line in history:
        if line.new_status == "in_progress" and line.old_status != "in_progress":
            visits += 1
        elif line.new_status == "scheduled" and visits > 0:
            booked_after_visit = True
    if visits == 0:
        return None
    return visits == 1 and not booked_after_visit


def resolve(
    uow: TicketsUnitOfWork,
    levels: ServiceLevels,
    ticket_id: int,
    code: str,
    now: datetime,
    by: str,
    comment: str = "",
    publish: Publish | None = None,
) -> list[Event]:
    """Resolve with a resolution code (ValueError for an unknown one); records the
    first-time fix and raises :class:`TicketResolved` for the detectors and the survey."""
    try:
        resolution = levels.resolution_code(code)
    except ValueError as exc:
        raise TicketInputError(str(exc)) from None
    with uow:
        ticket = _locked(uow, ticket_id)
        old = ticket.status
        events: list[Event] = list(ticket.change_status("resolved", now, by, comment))
        if not events:
            raise TicketConflictError(f"ticket {ticket_id} is resolved already")
        ticket.resolution_code = code
        ticket.first_time_fix = first_time_fix(uow.tickets.history(ticket_id))
        uow.tickets.save(ticket)
        uow.tickets.record(
            ticket_id,
            HistoryEntry(
                now,
                by,
                "resolution",
                old,
                "resolved",
                comment or resolution.label,
                {"code": code, "first_time_fix": ticket.first_time_fix},
            ),
        )
        events.append(
            TicketResolved(
                ticket_id,
                ticket.device_id,
                ticket.customer_id,
                code,
                resolution.effect,
                uow.tickets.fault_ids(ticket_id),
                ticket.first_time_fix,
                by,
                now,
            )
        )
        _publish(publish, events, uow)
        uow.commit()
    return events
