"""Tickets as the API and console show them: the queue, one ticket, its SLA clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    MAX_LIMIT,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from crm_core.tickets.business_hours import BusinessCalendar
from crm_core.tickets.model import HistoryEntry, TicketKind, TicketStatus
from crm_core.tickets.policies import ServiceLevels
from crm_core.tickets.sla import SlaClock, SlaState, sla_status


class SlaClockView(ReadModel):
    metric: str
    state: SlaState
    target_min: float
    elapsed_min: float
    remaining_min: float
    due_at: UtcDateTime | None


class SlaView(ReadModel):
    """The ticket's SLA: its policy (tier and priority) and both clocks, in business time."""

    tier: str
    tier_label: str
    state: SlaState
    first_response: SlaClockView
    resolution: SlaClockView


class TicketSummary(ReadModel):
    id: int
    kind: TicketKind
    status: TicketStatus
    priority: int
    impact: str | None
    urgency: str | None
    subject: str
    customer_id: int
    customer_name: str
    device_id: int | None
    device_serial: str | None
    technician_id: int | None
    technician_name: str | None
    window_start: UtcDateTime | None
    window_end: UtcDateTime | None
    queue: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    sla: SlaView | None = None


class TicketRecord(TicketSummary):
    """A ticket with its description and work-order facts (the faults behind it are the
    faults context's)."""

    description: str
    severity: str | None
    safety: bool
    hours_to_failure: float | None
    resolution_code: str | None
    first_time_fix: bool | None


@dataclass(frozen=True, slots=True)
class SlaContext:
    """What SLA clocks are computed with: the policies, the calendar, the warning share."""

    levels: ServiceLevels
    calendar: BusinessCalendar
    warning_share: float


_SELECT: LiteralString = """
    SELECT t.id, t.kind, t.status, t.priority, t.impact, t.urgency, t.subject, t.customer_id,
           c.name AS customer_name, t.device_id, d.serial AS device_serial,
           t.technician_id, tc.name AS technician_name, t.window_start, t.window_end,
           t.queue, t.created_at, t.updated_at
    FROM tickets t
    JOIN customers c ON c.id = t.customer_id
    LEFT JOIN devices d ON d.id = t.device_id
    LEFT JOIN technicians tc ON tc.id = t.technician_id
"""
_RECORD_COLUMNS: LiteralString = (
    ", t.description, t.severity, t.safety, t.hours_to_failure, t.resolution_code, "
    "t.first_time_fix, t.sla_tier"
)


def _clock_view(clock: SlaClock) -> SlaClockView:
    return SlaClockView(
        metric=clock.metric,
        state=clock.state,
        target_min=round(clock.target_s / 60, 1),
        elapsed_min=round(clock.elapsed_s / 60, 1),
        remaining_min=round(clock.remaining_s / 60, 1),
        due_at=clock.due_at,
    )


def _histories(conn: psycopg.Connection[TupleRow], ids: list[int]) -> dict[int, list[HistoryEntry]]:
    out: dict[int, list[HistoryEntry]] = {i: [] for i in ids}
    rows = conn.execute(
        "SELECT ticket_id, at, actor, action, old_status, new_status FROM ticket_history "
        "WHERE ticket_id = ANY(%s) ORDER BY at, id",
        (ids,),
    ).fetchall()
    for r in rows:
        out[int(r[0])].append(HistoryEntry(r[1], r[2], r[3], r[4], r[5]))
    return out


def sla_views(
    conn: psycopg.Connection[TupleRow], ids: list[int], ctx: SlaContext, now: datetime
) -> dict[int, SlaView]:
    """The SLA of each ticket, from its history."""
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT id, sla_tier, priority, created_at FROM tickets WHERE id = ANY(%s)", (ids,)
    ).fetchall()
    histories = _histories(conn, ids)
    out: dict[int, SlaView] = {}
    for ticket_id, tier, priority, created_at in rows:
        status = sla_status(
            created_at,
            histories[ticket_id],
            ctx.levels.target(tier, priority),
            ctx.calendar,
            now,
            ctx.warning_share,
        )
        out[ticket_id] = SlaView(
            tier=tier,
            tier_label=ctx.levels.tier_labels[tier],
            state=status.worst,
            first_response=_clock_view(status.first_response),
            resolution=_clock_view(status.resolution),
        )
    return out


def list_tickets(
    conn: psycopg.Connection[TupleRow],
    *,
    status: TicketStatus | None = None,
    kind: TicketKind | None = None,
    customer_id: int | None = None,
    priority: int | None = None,
    technician_id: int | None = None,
    sla_state: SlaState | None = None,
    sla: tuple[SlaContext, datetime] | None = None,
    page: Page = FIRST_PAGE,
    customers: list[int] | None = None,
) -> list[TicketSummary]:
    """Tickets, newest first (only ``customers``' when given: a caller's scope), with their
    SLA when ``sla`` (the context and now) is given.

    Filtering by SLA state computes the clocks of up to 500 matching tickets and pages
    through those that are in that state.
    """
    query = _SELECT + " WHERE (%(status)s::text IS NULL OR t.status = %(status)s)"
    query += " AND (%(kind)s::text IS NULL OR t.kind = %(kind)s)"
    query += " AND (%(customer)s::bigint IS NULL OR t.customer_id = %(customer)s)"
    query += " AND (%(priority)s::int IS NULL OR t.priority = %(priority)s)"
    query += " AND (%(tech)s::bigint IS NULL OR t.technician_id = %(tech)s)"
    query += " AND (%(scope)s::bigint[] IS NULL OR t.customer_id = ANY(%(scope)s))"
    query += " ORDER BY t.created_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    filtering = sla_state is not None and sla is not None
    params = {
        "status": status,
        "kind": kind,
        "customer": customer_id,
        "scope": customers,
        "priority": priority,
        "tech": technician_id,
        "limit": MAX_LIMIT if filtering else page.limit,
        "offset": 0 if filtering else page.offset,
    }
    items = fetch_models(conn, TicketSummary, query, params)
    if sla is None:
        return items
    views = sla_views(conn, [t.id for t in items], *sla)
    items = [t.model_copy(update={"sla": views.get(t.id)}) for t in items]
    if filtering:
        items = [t for t in items if t.sla is not None and t.sla.state == sla_state]
        items = items[page.offset : page.offset + page.limit]
    return items


def get_ticket(
    conn: psycopg.Connection[TupleRow],
    ticket_id: int,
    sla: tuple[SlaContext, datetime] | None = None,
) -> TicketRecord:
    """One ticket (with its SLA when ``sla`` is given)."""
    query = _SELECT.replace("t.updated_at", "t.updated_at" + _RECORD_COLUMNS)
    found = fetch_model(
        conn,
        _RecordRow,
        query + " WHERE t.id = %s",
        (ticket_id,),
    )
    if found is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    values = found.model_dump(exclude={"sla_tier"})
    if sla is not None:
        values["sla"] = sla_views(conn, [ticket_id], *sla)[ticket_id]
    return TicketRecord(**values)


class _RecordRow(TicketRecord):
    sla_tier: str


class TicketHistoryLine(ReadModel):
    at: UtcDateTime
    actor: str
    action: str
    old_status: TicketStatus | None
    new_status: TicketStatus | None
    comment: str


def ticket_history(conn: psycopg.Connection[TupleRow], ticket_id: int) -> list[TicketHistoryLine]:
    """Who did what to the ticket, oldest first."""
    return fetch_models(
        conn,
        TicketHistoryLine,
        "SELECT at, actor, action, old_status, new_status, comment FROM ticket_history "
        "WHERE ticket_id = %s ORDER BY at, id",
        (ticket_id,),
    )
