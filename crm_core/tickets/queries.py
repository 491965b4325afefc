"""Tickets as the API and console show them: the list, and one ticket."""

from __future__ import annotations

from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from crm_core.tickets.model import TicketKind, TicketStatus


class TicketSummary(ReadModel):
    id: int
    kind: TicketKind
    status: TicketStatus
    priority: int
    subject: str
    customer_id: int
    customer_name: str
    device_id: int | None
    device_serial: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TicketRecord(TicketSummary):
    """A ticket with its description (the faults behind it are the faults context's)."""

    description: str


_SELECT: LiteralString = """
    SELECT t.id, t.kind, t.status, t.priority, t.subject, t.customer_id,
           c.name AS customer_name, t.device_id, d.serial AS device_serial,
           t.created_at, t.updated_at
    FROM tickets t
    JOIN customers c ON c.id = t.customer_id
    LEFT JOIN devices d ON d.id = t.device_id
"""


def list_tickets(
    conn: psycopg.Connection[TupleRow],
    *,
    status: TicketStatus | None = None,
    kind: TicketKind | None = None,
    customer_id: int | None = None,
    page: Page = FIRST_PAGE,
    customers: list[int] | None = None,
) -> list[TicketSummary]:
    """Tickets, newest first (only ``customers``' when given: a caller's scope)."""
    query = _SELECT + " WHERE (%(status)s::text IS NULL OR t.status = %(status)s)"
    query += " AND (%(kind)s::text IS NULL OR t.kind = %(kind)s)"
    query += " AND (%(customer)s::bigint IS NULL OR t.customer_id = %(customer)s)"
    query += " AND (%(scope)s::bigint[] IS NULL OR t.customer_id = ANY(%(scope)s))"
    query += " ORDER BY t.created_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    params = {
        "status": status,
        "kind": kind,
        "customer": customer_id,
        "scope": customers,
        "limit": page.limit,
        "offset": page.offset,
    }
    return fetch_models(conn, TicketSummary, query, params)


def get_ticket(conn: psycopg.Connection[TupleRow], ticket_id: int) -> TicketRecord:
    """One ticket."""
    query = _SELECT.replace("t.updated_at", "t.updated_at, t.description")
    row = fetch_model(conn, TicketRecord, query + " WHERE t.id = %s", (ticket_id,))
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return row


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
