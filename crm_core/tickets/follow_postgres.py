"""The PostgreSQL side of :mod:`crm_core.tickets.follow`: a ticket's faults, its words."""

from __future__ import annotations

from datetime import datetime

import orjson
import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.events import Event
from crm_core.tickets.model import HistoryEntry, Ticket, TicketDraft, TicketResolved
from crm_core.tickets.postgres import PostgresTicketRepository

SELF_CLEARED_CODE = "fault_cleared"
"""The resolution code of a ticket whose faults all cleared by themselves (service_levels)."""


class PostgresTicketFaultLinks:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn
        self._tickets = PostgresTicketRepository(conn)

    def ticket_of_fault(self, fault_id: int) -> Ticket | None:
        row = self._conn.execute(
            "SELECT ticket_id FROM ticket_faults WHERE fault_id = %s", (fault_id,)
        ).fetchone()
        return None if row is None else self._tickets.get(int(row[0]), for_update=True)

    def live_faults(self, ticket_id: int) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM ticket_faults tf JOIN faults f ON f.id = tf.fault_id "
            "WHERE tf.ticket_id = %s AND f.status <> 'cleared'",
            (ticket_id,),
        ).fetchone()
        return int(row[0]) if row else 0

    def redraft(self, ticket: Ticket, draft: TicketDraft, now: datetime) -> None:
        self._conn.execute(
            "UPDATE tickets SET subject = %s, description = %s, updated_at = %s WHERE id = %s",
            (draft.subject, draft.description, now, ticket.id),
        )
        self._audit(
            now,
            "careline",
            ticket.id,
            "redrafted",
            {"old_subject": ticket.subject, "subject": draft.subject},
        )
        ticket.subject, ticket.description, ticket.updated_at = (
            draft.subject,
            draft.description,
            now,
        )

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        self._tickets.record(ticket_id, change)

    def resolve(self, ticket: Ticket, now: datetime, by: str, comment: str) -> list[Event]:
        """Resolved with the code ``fault_cleared`` (its effect: none), recorded like any
        resolution (history and audit log), and announced with :class:`TicketResolved`."""
        assert ticket.id is not None
        old = ticket.status
        events = ticket.change_status("resolved", now, by, comment)
        if events:
            ticket.resolution_code = SELF_CLEARED_CODE
            self._tickets.save(ticket)
            self._tickets.record(
                ticket.id,
                HistoryEntry(
                    now,
                    by,
                    "resolution",
                    old,
                    "resolved",
                    comment,
                    {"code": SELF_CLEARED_CODE, "first_time_fix": None},
                ),
            )
            events.append(
                TicketResolved(
                    ticket.id,
                    ticket.device_id,
                    ticket.customer_id,
                    SELF_CLEARED_CODE,
                    "none",
                    self._tickets.fault_ids(ticket.id),
                    None,
                    by,
                    now,
                )
            )
        return events

    def _audit(
        self, at: datetime, actor: str, ticket_id: int | None, action: str, detail: object
    ) -> None:
        self._conn.execute(
            "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
            "VALUES (%s, %s, 'ticket', %s, %s, %s::jsonb)",
            (at, actor, str(ticket_id), action, orjson.dumps(detail).decode()),
        )
