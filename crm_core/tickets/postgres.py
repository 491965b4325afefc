"""The ticket repository and unit of work on PostgreSQL.

The database keeps the rules too: a partial unique index allows one live proactive ticket
per device, and ``ticket_faults.fault_id`` is unique, so concurrent writers and redelivered
messages cannot break them.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.uow import PostgresUnitOfWork
from crm_core.tickets.model import HistoryEntry, Ticket, TicketConflictError
from crm_core.tickets.ports import TicketRepository

_COLUMNS = (
    "id, kind, status, priority, subject, description, customer_id, device_id, "
    "created_at, updated_at"
)
_LIVE_PROACTIVE = "kind = 'proactive' AND status NOT IN ('resolved', 'closed', 'cancelled')"


def _ticket(row: tuple[Any, ...]) -> Ticket:
    return Ticket(
        id=int(row[0]),
        kind=row[1],
        status=row[2],
        priority=int(row[3]),
        subject=str(row[4]),
        description=str(row[5]),
        customer_id=int(row[6]),
        device_id=None if row[7] is None else int(row[7]),
        created_at=row[8],
        updated_at=row[9],
    )


class PostgresTicketRepository:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        lock = " FOR UPDATE" if for_update else ""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM tickets WHERE id = %s{lock}", (ticket_id,)
        ).fetchone()
        return None if row is None else _ticket(row)

    def live_proactive(self, device_id: int) -> Ticket | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM tickets WHERE device_id = %s AND {_LIVE_PROACTIVE}",
            (device_id,),
        ).fetchone()
        return None if row is None else _ticket(row)

    def add(self, ticket: Ticket) -> Ticket | None:
        conflict = (
            f"ON CONFLICT (device_id) WHERE {_LIVE_PROACTIVE} DO NOTHING"
            if ticket.kind == "proactive"
            else ""
        )
        row = self._conn.execute(
            f"""
            INSERT INTO tickets (kind, status, priority, subject, description, customer_id,
                                 device_id, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            {conflict}
            RETURNING id
            """,
            (
                ticket.kind,
                ticket.status,
                ticket.priority,
                ticket.subject,
                ticket.description,
                ticket.customer_id,
                ticket.device_id,
                ticket.created_at,
                ticket.updated_at,
            ),
        ).fetchone()
        if row is None:
            return None
        ticket.id = int(row[0])
        return ticket

    def save(self, ticket: Ticket) -> None:
        try:
            with self._conn.transaction():  # a savepoint: the caller's transaction survives
                self._conn.execute(
                    "UPDATE tickets SET status = %s, updated_at = %s WHERE id = %s",
                    (ticket.status, ticket.updated_at, ticket.id),
                )
        except psycopg.errors.UniqueViolation as exc:
            raise TicketConflictError(
                f"ticket {ticket.id} cannot be reopened: its device has another live "
                "proactive ticket"
            ) from exc

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        self._conn.execute(
            "INSERT INTO ticket_history (ticket_id, at, actor, action, old_status, new_status, "
            "comment) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                ticket_id,
                change.at,
                change.actor,
                change.action,
                change.old_status,
                change.new_status,
                change.comment,
            ),
        )

    def link_fault(self, ticket_id: int, fault_id: int) -> bool:
        cur = self._conn.execute(
            "INSERT INTO ticket_faults (ticket_id, fault_id) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            (ticket_id, fault_id),
        )
        return cur.rowcount > 0


class PostgresTicketsUnitOfWork(PostgresUnitOfWork):
    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        super().__init__(connection)
        self.tickets: TicketRepository = PostgresTicketRepository(connection)
