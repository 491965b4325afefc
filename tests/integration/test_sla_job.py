"""The scheduler's SLA job on real PostgreSQL: a breach is raised once, however often the
job runs and even when two schedulers run it at the same moment; its events go through
the bus, and history and audit log say what happened."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.scheduler import sla_check
from crm_core.kernel.events import Event, EventBus
from crm_core.tickets.model import SlaBreached, SlaWarning, TicketDraft, TicketEscalated
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.service import open_reactive
from crm_core.tickets.settings import ServiceSettings
from tests.api import factories as make

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
OPENED = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # a Friday, 16:00 in Berlin
SERVICE = ServiceSettings(
    timezone="Europe/Berlin",
    workday_start=time(8),
    workday_end=time(17),
    holidays_country="DE",
    holidays_subdivision="BE",
)


def rows(db: Pool, sql: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(sql).fetchall()


def open_ticket(db: Pool) -> int:
    """A P1 reactive ticket of a customer with a premium contract: 30 min first response."""
    with db.connection() as conn:
        customer = make.customer(conn)
        conn.execute(
            "INSERT INTO service_contracts (reference, customer_id, tier, starts_on, ends_on) "
            "VALUES ('SC-1', %s, 'premium', '2026-01-01', '2026-12-31')",
            (customer,),
        )
        ticket_id, _ = open_reactive(
            PostgresTicketsUnitOfWork(conn),
            TicketDraft("Freezer dead", "", 3, severity="high", hours_to_failure=2),
            customer_id=customer,
            device_id=None,
            by="agent",
            now=OPENED,
        )
    return ticket_id


def recording_bus(seen: list[Event]) -> EventBus:
    bus = EventBus()

    def record(event: Event, uow: object) -> list[Event]:
        seen.append(event)
        return []

    for kind in (SlaWarning, SlaBreached, TicketEscalated):
        bus.subscribe(kind, record)
    return bus


def test_a_breach_is_raised_once_under_repeated_runs(db: Pool) -> None:
    ticket_id = open_ticket(db)
    assert rows(db, "SELECT priority, sla_tier FROM tickets") == [(1, "premium")]
    seen: list[Event] = []
    now = [OPENED + timedelta(minutes=50)]  # 60 min to 17:00 Berlin: 50 business minutes
    job = sla_check(db, SERVICE, recording_bus(seen), lambda: now[0])
    assert job() == 2  # 50 of 30 minutes: breached (the warning is skipped), escalated
    for _ in range(5):
        assert job() == 0
    # Over the weekend nothing more happens; Monday the resolution clock (240 min) warns.
    now[0] = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday 10:00 Berlin: 180 min used
    assert job() == 2
    assert job() == 0
    kinds = [(type(e).__name__, getattr(e, "metric", getattr(e, "kind", ""))) for e in seen]
    assert kinds == [
        ("SlaBreached", "first_response"),
        ("TicketEscalated", "functional"),
        ("SlaWarning", "resolution"),
        ("TicketEscalated", "hierarchical"),
    ]
    assert rows(db, "SELECT metric, kind FROM sla_alerts ORDER BY raised_at") == [
        ("first_response", "breach"),
        ("resolution", "warning"),
    ]
    assert rows(db, "SELECT queue FROM tickets") == [("field service L2",)]
    history = rows(
        db, f"SELECT action, actor FROM ticket_history WHERE ticket_id = {ticket_id} ORDER BY id"
    )
    assert history == [
        ("created", "agent"),
        ("sla", "careline"),
        ("escalation", "careline"),
        ("sla", "careline"),
        ("escalation", "careline"),
    ]
    audited = rows(
        db, "SELECT action, detail->>'kind' FROM audit_log WHERE entity = 'ticket' ORDER BY id"
    )
    assert audited[1:] == [
        ("sla", "breach"),
        ("escalation", "functional"),
        ("sla", "warning"),
        ("escalation", "hierarchical"),
    ]


def test_two_schedulers_at_the_same_moment_raise_it_once(db: Pool) -> None:
    open_ticket(db)
    seen: list[Event] = []
    late = OPENED + timedelta(minutes=55)
    jobs = [sla_check(db, SERVICE, recording_bus(seen), lambda: late) for _ in range(2)]
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run(job: Any) -> None:
        barrier.wait()
        counts.append(job())

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(counts) == [0, 2]
    assert rows(db, "SELECT count(*) FROM sla_alerts") == [(1,)]
    assert sum(isinstance(e, SlaBreached) for e in seen) == 1
