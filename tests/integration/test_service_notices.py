"""Staff notices on real services: SLA warnings, breaches and escalations mailed to the
assignee and the escalation target, and reminders of unacknowledged faults, through the
outbox (PostgreSQL) to a real SMTP server (aiosmtpd over TCP)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.scheduler import sla_check
from careline.service_jobs import fault_reminders, sla_notices, subscribe_sla_notices
from careline.settings import Settings
from crm_core.kernel.events import EventBus
from crm_core.notifications.channels.email import SmtpChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import OutboxPolicy
from crm_core.notifications.settings import NotificationSettings
from crm_core.tickets.model import TicketDraft
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.service import open_reactive
from crm_core.tickets.settings import ServiceSettings
from devices.faults.postgres import PostgresFaultsUnitOfWork
from devices.faults.queries import list_faults
from devices.faults.service import acknowledge
from tests.api import factories as make
from tests.integration.mail import MailServer, mail_server

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
OPENED = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # a Friday, 16:00 in Berlin
LEAD, DESK, L2 = "lead@careline.test", "desk@careline.test", "l2@careline.test"
SETTINGS = Settings(
    service=ServiceSettings(
        timezone="Europe/Berlin",
        workday_start=time(8),
        workday_end=time(17),
        holidays_country="DE",
        holidays_subdivision="BE",
        lead_email=LEAD,
        desk_email=DESK,
        escalation_emails={"field service L2": L2},
        reminder_first_after_min=30,
        reminder_growth=2,
        reminder_max_interval_min=480,
        reminder_escalate_after=2,
    ),
    notifications=NotificationSettings(public_url="http://careline.test"),
)
POLICY = OutboxPolicy(base_delay_s=10, max_delay_s=60, max_attempts=3, lease_s=30, batch=10)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[MailServer]:
    server = mail_server(tmp_path / "mail")
    server.start()
    yield server
    server.stop()


def rows(db: Pool, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(sql, params).fetchall()


def deliver(db: Pool, smtp: MailServer, now: datetime) -> dict[str, list[str]]:
    """Send what the outbox holds; the mail the server received: recipient -> subjects."""
    channel = SmtpChannel("127.0.0.1", smtp.port, "Careline <service@careline.test>", 5)
    Dispatcher(db, {"email": channel}, policy=POLICY, clock=lambda: now).drain()
    mail: dict[str, list[str]] = {}
    for message in smtp.received():
        # strip: the standard library folds a long Subject onto a continuation line and
        # keeps the fold's space when it reads it back; mail clients drop it
        mail.setdefault(str(message["To"]), []).append(str(message["Subject"]).strip())
    return {to: sorted(subjects) for to, subjects in mail.items()}


def premium_ticket(db: Pool, *, assigned: bool) -> int:
    """A P1 ticket of a premium customer (30 min to respond, 240 to resolve)."""
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
        if assigned:
            conn.execute(
                "INSERT INTO technicians (name, email) VALUES ('Anna Tech', 'anna@careline.test')"
            )
            conn.execute("UPDATE tickets SET technician_id = 1 WHERE id = %s", (ticket_id,))
    return ticket_id


def job(db: Pool, now: list[datetime]) -> Any:
    bus = subscribe_sla_notices(EventBus(), sla_notices(SETTINGS, lambda: now[0]))
    return sla_check(db, SETTINGS.service, bus, lambda: now[0])


def test_sla_alerts_mail_the_assignee_and_the_escalation_targets_once(
    db: Pool, smtp: MailServer
) -> None:
    ticket_id = premium_ticket(db, assigned=True)
    now = [OPENED + timedelta(minutes=50)]  # first response: 50 of 30 business minutes
    check = job(db, now)
    assert check() == 2  # breached, escalated to L2
    assert check() == 0
    now[0] = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday: resolution at 180 of 240
    assert check() == 2  # warning, escalated to the lead
    assert check() == 0
    assert deliver(db, smtp, now[0]) == {
        "anna@careline.test": [
            f"SLA breached: first response of ticket #{ticket_id} (P1)",
            f"SLA warning: resolution of ticket #{ticket_id} (P1)",
        ],
        L2: [f"Escalated to field service L2: ticket #{ticket_id}"],
        LEAD: [f"Escalated to service lead: ticket #{ticket_id}"],
    }
    [body] = [
        m.get_content() for m in smtp.received() if str(m["Subject"]).startswith("SLA breached")
    ]
    assert f"http://careline.test/console/tickets/{ticket_id}" in body
    assert "due 2026-12-04 15:30 UTC" in body
    # the ticket's history says who was told what, after each run's alert and escalation
    history = rows(
        db,
        "SELECT action, comment FROM ticket_history WHERE ticket_id = %s ORDER BY id",
        (ticket_id,),
    )
    assert [action for action, _ in history] == [
        "created",
        "sla",
        "escalation",
        "notice",
        "notice",
        "sla",
        "escalation",
        "notice",
        "notice",
    ]
    assert history[3][1] == (
        f"SLA breach notice to anna@careline.test: SLA breached: first response of ticket "
        f"#{ticket_id} (P1)"
    )
    statuses = rows(db, "SELECT status, customer_id FROM outbox")
    assert statuses == [("sent", None)] * 4


def test_without_an_assignee_only_the_escalation_target_is_told(db: Pool, smtp: MailServer) -> None:
    ticket_id = premium_ticket(db, assigned=False)
    now = [OPENED + timedelta(minutes=50)]
    jobs = [job(db, now) for _ in range(2)]
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run(check: Any) -> None:
        barrier.wait()
        counts.append(check())

    threads = [threading.Thread(target=run, args=(check,)) for check in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(counts) == [0, 2]  # two schedulers at once: one alert, one notice
    assert deliver(db, smtp, now[0]) == {
        L2: [f"Escalated to field service L2: ticket #{ticket_id}"]
    }


def faulty_fridge(db: Pool) -> tuple[int, int, int]:
    """Two open faults on a fridge from OPENED, the first behind a ticket; a third that
    cleared. Returns (fault with a ticket, fault without, ticket)."""
    with db.connection() as conn:
        customer = make.customer(conn)
        device = make.device(conn, "FR-9", customer_id=customer)
        with_ticket = make.fault(conn, device, OPENED)
        without = make.fault(conn, device, OPENED + timedelta(minutes=5), metric="power")
        make.fault(
            conn, device, OPENED, metric="door_open", cleared_at=OPENED + timedelta(minutes=1)
        )
        ticket_id = make.ticket(conn, customer, OPENED, device_id=device)
        make.ticket_fault(conn, ticket_id, with_ticket)
    return with_ticket, without, ticket_id


def test_reminders_grow_escalate_and_stop_at_acknowledgement(db: Pool, smtp: MailServer) -> None:
    fault, other, ticket_id = faulty_fridge(db)
    now = [OPENED]
    remind = fault_reminders(db, SETTINGS, lambda: now[0])

    def at(minutes: int) -> list[tuple[int, int, str, bool]]:
        now[0] = OPENED + timedelta(minutes=minutes)
        return [(r.fault_id, r.seq, r.recipient, r.escalated) for r in remind()]

    assert at(29) == []
    assert at(30) == [(fault, 1, DESK, False)]
    assert at(30) == []  # a rerun sends nothing twice
    assert at(35) == [(other, 1, DESK, False)]
    assert at(89) == []  # reminder 2 is due 60 min after reminder 1
    assert at(90) == [(fault, 2, DESK, False)]
    assert at(95) == [(other, 2, DESK, False)]
    assert at(210) == [(fault, 3, LEAD, True)]  # 120 min later, past 2: escalated
    with db.connection() as conn:
        acknowledge(PostgresFaultsUnitOfWork(conn), fault, "anna", "on it", now[0])
    assert at(215) == [(other, 3, LEAD, True)]
    assert at(2000) == [(other, 4, LEAD, True)]  # the acknowledged one is left alone
    assert at(2000 + 479) == []  # at most 8 h apart
    assert at(2000 + 480) == [(other, 5, LEAD, True)]

    mail = deliver(db, smtp, now[0])
    assert sorted(mail) == [DESK, LEAD]
    assert (len(mail[DESK]), len(mail[LEAD])) == (4, 4)
    assert f"Escalated: Reminder 3: fault #{fault} on FR-9 not acknowledged" in (mail[LEAD])
    assert rows(db, "SELECT fault_id, count(*) FROM fault_reminders GROUP BY 1 ORDER BY 1") == [
        (fault, 3),
        (other, 5),
    ]
    # visible on the ticket (history) and on the fault (read model)
    history = rows(
        db,
        "SELECT comment FROM ticket_history WHERE ticket_id = %s AND action = 'reminder' "
        "ORDER BY id",
        (ticket_id,),
    )
    assert [c.split(":")[0] for (c,) in history] == [
        "Reminder 1",
        "Reminder 2",
        "Escalated",
    ]
    with db.connection() as conn:
        shown = {f.id: (f.reminders, f.last_reminder_at) for f in list_faults(conn)}
    assert shown[fault] == (3, OPENED + timedelta(minutes=210))
    assert shown[other][0] == 5


def test_two_reminder_jobs_at_once_send_one_reminder(db: Pool) -> None:
    fault, _, _ = faulty_fridge(db)
    late = OPENED + timedelta(minutes=31)
    jobs = [fault_reminders(db, SETTINGS, lambda: late) for _ in range(2)]
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def run(remind: Any) -> None:
        barrier.wait()
        sent.append(len(remind()))

    threads = [threading.Thread(target=run, args=(remind,)) for remind in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sum(sent) == 1  # the power fault is not due yet (opened 5 min later)
    assert rows(db, "SELECT fault_id, seq FROM fault_reminders") == [(fault, 1)]
    assert rows(db, "SELECT count(*) FROM outbox") == [(1,)]
