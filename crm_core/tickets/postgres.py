"""The ticket repository and unit of work on PostgreSQL.

The database keeps the rules too: a partial unique index allows one live proactive ticket
per device, ``ticket_faults.fault_id`` is unique, and ``sla_alerts``' primary key lets an
SLA warning or breach be raised once, so concurrent writers, redelivered messages and two
schedulers cannot break them. Every history line is also written to ``audit_log``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.kernel.uow import PostgresUnitOfWork
from crm_core.tickets.model import HistoryEntry, Ticket, TicketConflictError
from crm_core.tickets.ports import TechnicianRef, TicketRepository

_COLUMNS = (
    "id, kind, status, priority, subject, description, customer_id, device_id, "
    "created_at, updated_at, impact, urgency, severity, safety, hours_to_failure, sla_tier, "
    "technician_id, window_start, window_end, resolution_code, first_time_fix, queue"
)
_LIVE = "status NOT IN ('resolved', 'closed', 'cancelled')"
_LIVE_PROACTIVE = f"kind = 'proactive' AND {_LIVE}"


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
        impact=row[10],
        urgency=row[11],
        severity=row[12],
        safety=bool(row[13]),
        hours_to_failure=row[14],
        sla_tier=row[15],
        technician_id=None if row[16] is None else int(row[16]),
        window_start=row[17],
        window_end=row[18],
        resolution_code=row[19],
        first_time_fix=row[20],
        queue=row[21],
    )


def contract_tier(
    conn: psycopg.Connection[TupleRow], customer_id: int, device_id: int | None, on: date
) -> str:
    """The best tier of the customer's contracts valid ``on`` that cover the device (a
    contract without a device covers all of them); ``none`` without one."""
    row = conn.execute(
        """
        SELECT tier FROM service_contracts
        WHERE customer_id = %s AND (device_id IS NULL OR device_id = %s)
          AND %s BETWEEN starts_on AND ends_on
        ORDER BY array_position(ARRAY['premium', 'standard', 'basic'], tier) LIMIT 1
        """,
        (customer_id, device_id, on),
    ).fetchone()
    return "none" if row is None else str(row[0])


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

    def live(self) -> list[Ticket]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM tickets WHERE {_LIVE} ORDER BY id"
        ).fetchall()
        return [_ticket(r) for r in rows]

    def contract_tier(self, customer_id: int, device_id: int | None, on: date) -> str:
        return contract_tier(self._conn, customer_id, device_id, on)

    def add(self, ticket: Ticket) -> Ticket | None:
        conflict = (
            f"ON CONFLICT (device_id) WHERE {_LIVE_PROACTIVE} DO NOTHING"
            if ticket.kind == "proactive"
            else ""
        )
        row = self._conn.execute(
            f"""
            INSERT INTO tickets (kind, status, priority, subject, description, customer_id,
                                 device_id, created_at, updated_at, impact, urgency, severity,
                                 safety, hours_to_failure, sla_tier)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
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
                ticket.impact,
                ticket.urgency,
                ticket.severity,
                ticket.safety,
                ticket.hours_to_failure,
                ticket.sla_tier,
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
                    "UPDATE tickets SET status = %s, updated_at = %s, technician_id = %s, "
                    "window_start = %s, window_end = %s, resolution_code = %s, "
                    "first_time_fix = %s, queue = %s, priority = %s, impact = %s, "
                    "urgency = %s, safety = %s WHERE id = %s",
                    (
                        ticket.status,
                        ticket.updated_at,
                        ticket.technician_id,
                        ticket.window_start,
                        ticket.window_end,
                        ticket.resolution_code,
                        ticket.first_time_fix,
                        ticket.queue,
                        ticket.priority,
                        ticket.impact,
                        ticket.urgency,
                        ticket.safety,
                        ticket.id,
                    ),
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
        detail: dict[str, object] = dict(change.detail or {})
        if change.old_status or change.new_status:
            detail.update(old_status=change.old_status, new_status=change.new_status)
        if change.comment:
            detail["comment"] = change.comment
        self._conn.execute(
            "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
            "VALUES (%s, %s, 'ticket', %s, %s, %s)",
            (change.at, change.actor, str(ticket_id), change.action, Jsonb(detail)),
        )

    def history(self, ticket_id: int) -> list[HistoryEntry]:
        rows = self._conn.execute(
            "SELECT at, actor, action, old_status, new_status, comment FROM ticket_history "
            "WHERE ticket_id = %s ORDER BY at, id",
            (ticket_id,),
        ).fetchall()
        return [HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def link_fault(self, ticket_id: int, fault_id: int) -> bool:
        cur = self._conn.execute(
            "INSERT INTO ticket_faults (ticket_id, fault_id) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            (ticket_id, fault_id),
        )
        return cur.rowcount > 0

    def fault_ids(self, ticket_id: int) -> tuple[int, ...]:
        rows = self._conn.execute(
            "SELECT fault_id FROM ticket_faults WHERE ticket_id = %s ORDER BY fault_id",
            (ticket_id,),
        ).fetchall()
        return tuple(int(r[0]) for r in rows)

    def technician(self, technician_id: int) -> TechnicianRef | None:
        row = self._conn.execute(
            "SELECT id, name, active, email FROM technicians WHERE id = %s", (technician_id,)
        ).fetchone()
        if row is None:
            return None
        return TechnicianRef(int(row[0]), str(row[1]), bool(row[2]), str(row[3]))

    def raise_alert(
        self, ticket_id: int, metric: str, kind: str, at: datetime, due_at: datetime | None
    ) -> bool:
        cur = self._conn.execute(
            "INSERT INTO sla_alerts (ticket_id, metric, kind, raised_at, due_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (ticket_id, metric, kind, at, due_at),
        )
        return cur.rowcount > 0


class PostgresTicketsUnitOfWork(PostgresUnitOfWork):
    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        super().__init__(connection)
        self.tickets: TicketRepository = PostgresTicketRepository(connection)
