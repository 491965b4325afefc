"""Changing a ticket's status: the one write the API offers on tickets so far.

It lives beside the ticket read model until the ticket domain (``crm_core/tickets``) has a
service layer of its own; then it moves there unchanged. One function, one transaction.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.tickets.queries import TicketDetail, TicketStatus, get_ticket


class TicketConflictError(Exception):
    """The change would break a rule: a closed ticket is final, and a device has at most
    one live proactive ticket."""


def change_ticket_status(
    conn: psycopg.Connection[TupleRow], ticket_id: int, status: TicketStatus, now: datetime
) -> TicketDetail:
    """Set the ticket's status and ``updated_at``; returns the ticket as it is now."""
    try:
        with conn.transaction():
            row = conn.execute(
                "SELECT status FROM tickets WHERE id = %s FOR UPDATE", (ticket_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"ticket {ticket_id} does not exist")
            if row[0] == "closed" and status != "closed":
                raise TicketConflictError(f"ticket {ticket_id} is closed; open a new one instead")
            if row[0] != status:
                conn.execute(
                    "UPDATE tickets SET status = %s, updated_at = %s WHERE id = %s",
                    (status, now, ticket_id),
                )
    except psycopg.errors.UniqueViolation as exc:
        raise TicketConflictError(
            f"ticket {ticket_id} cannot be reopened: its device has another live proactive ticket"
        ) from exc
    return get_ticket(conn, ticket_id)
