"""The PostgreSQL side of :mod:`crm_core.tickets.follow`: a ticket's faults, its words."""

from __future__ import annotations

from datetime import datetime

import orjson
import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.events import Event
from crm_core.tickets.model import HistoryEntry, Ticket, TicketDraft
from crm_core.tickets.postgres import PostgresTicketRepository


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
        assert ticket.id is not None
        old = ticket.status
        events = ticket.change_status("resolved", now, by, comment)
        if events:
            self._tickets.save(ticket)
            self._tickets.record(
                ticket.id, HistoryEntry(now, by, "status", old, "resolved", comment)
            )
            self._audit(
                now, by, ticket.id, "status", {"old": old, "new": "resolved", "comment": comment}
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
