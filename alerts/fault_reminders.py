"""Acknowledgement reminders: an open fault nobody acknowledged is reminded of, at growing
intervals, and escalated to the service lead after a few reminders.

One run (the scheduler's ``fault-reminders`` job, every minute) looks at every fault that
is still ``open`` (acknowledging or clearing it stops its reminders) and sends the next
reminder of each one that is due by :class:`~alerts.reminder_policy.ReminderPolicy`.
Sending a reminder is, in the run's one transaction: a ``fault_reminders`` row (fault,
number), an e-mail in the outbox with the key ``fault/<id>/reminder/<n>``, and a
``reminder`` line in the history of the fault's ticket, if it has one. The row's primary
key makes it idempotent: a rerun, or a second scheduler racing this one, finds reminder n
taken (it waits for the first one's commit, then inserts nothing) and writes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import TupleRow

from alerts.reminder_policy import ReminderPolicy
from crm_core.notifications.model import Message
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.tickets.model import HistoryEntry
from crm_core.tickets.postgres import PostgresTicketRepository

REMINDER_ACTOR = "careline"


@dataclass(frozen=True, slots=True)
class OpenFault:
    id: int
    device_serial: str
    metric: str
    detector: str
    opened_at: datetime
    ticket_id: int | None
    sent: int
    last_sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder sent: which fault, its number, to whom, escalated or not."""

    fault_id: int
    seq: int
    recipient: str
    escalated: bool
    ticket_id: int | None


@dataclass(frozen=True, slots=True)
class Recipients:
    desk: str
    lead: str


def _age(delta_s: float) -> str:
    """A duration for people: '45 min', '3 h 05 min', '2 d 4 h'.

    >>> _age(45 * 60), _age(3 * 3600 + 300), _age(52 * 3600)
    ('45 min', '3 h 05 min', '2 d 4 h')
    """
    minutes = int(delta_s // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def reminder_text(
    fault: OpenFault, seq: int, escalated: bool, now: datetime, link: str
) -> tuple[str, str]:
    """Subject and body of reminder ``seq`` (pure)."""
    age = _age((now - fault.opened_at).total_seconds())
    what = f"fault #{fault.id} on {fault.device_serial}"
    subject = f"{'Escalated: ' if escalated else ''}Reminder {seq}: {what} not acknowledged"
    body = "\n".join(
        [
            f"The {what} ({fault.metric}), detected by {fault.detector} at "
            f"{fault.opened_at:%Y-%m-%d %H:%M} UTC, has been open for {age} and nobody "
            "has acknowledged it.",
            (
                f"This is reminder {seq}; earlier reminders went to the service desk."
                if escalated
                else f"This is reminder {seq}."
            ),
            "Acknowledge it (or clear it) to stop the reminders.",
            "",
            f"Open it: {link}",
            "",
            "Careline fault reminders",
        ]
    )
    return subject, body


def open_faults(conn: psycopg.Connection[TupleRow], opened_before: datetime) -> list[OpenFault]:
    """Faults still open (not acknowledged, not cleared) that began before the given time,
    with their reminders so far."""
    rows = conn.execute(
        """
        SELECT f.id, d.serial, f.metric, f.detector, f.opened_at, tf.ticket_id,
               count(r.seq), max(r.sent_at)
          FROM faults f
          JOIN devices d ON d.id = f.device_id
          LEFT JOIN ticket_faults tf ON tf.fault_id = f.id
          LEFT JOIN fault_reminders r ON r.fault_id = f.id
         WHERE f.status = 'open' AND f.opened_at <= %s
         GROUP BY f.id, d.serial, tf.ticket_id
         ORDER BY f.opened_at, f.id
        """,
        (opened_before,),
    ).fetchall()
    return [
        OpenFault(int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4], r[5], int(r[6]), r[7])
        for r in rows
    ]


def _claim(
    conn: psycopg.Connection[TupleRow],
    fault: OpenFault,
    seq: int,
    now: datetime,
    escalated: bool,
    recipient: str,
    key: str,
) -> bool:
    """Take reminder ``seq`` of the fault; False when it was already taken (or the fault
    was acknowledged or cleared meanwhile)."""
    row = conn.execute(
        """
        INSERT INTO fault_reminders (fault_id, seq, sent_at, escalated, recipient, outbox_key)
        SELECT id, %s, %s, %s, %s, %s FROM faults WHERE id = %s AND status = 'open'
        ON CONFLICT (fault_id, seq) DO NOTHING
        RETURNING seq
        """,
        (seq, now, escalated, recipient, key, fault.id),
    ).fetchone()
    return row is not None


def send_reminders(
    conn: psycopg.Connection[TupleRow],
    policy: ReminderPolicy,
    recipients: Recipients,
    public_url: str,
    now: datetime,
) -> list[Reminder]:
    """Send every reminder due at ``now``, inside the caller's transaction."""
    sent: list[Reminder] = []
    outbox, tickets = PostgresOutbox(conn), PostgresTicketRepository(conn)
    base = public_url.rstrip("/")
    for fault in open_faults(conn, now - policy.first_after):
        if policy.due(fault.opened_at, sent=fault.sent, last_sent_at=fault.last_sent_at) > now:
            continue
        seq = fault.sent + 1
        escalated = policy.escalated(seq)
        recipient = recipients.lead if escalated else recipients.desk
        key = f"fault/{fault.id}/reminder/{seq}"
        if not _claim(conn, fault, seq, now, escalated, recipient, key):
            continue
        link = (
            f"{base}/console/tickets/{fault.ticket_id}"
            if fault.ticket_id is not None
            else f"{base}/console/devices/{fault.device_serial}"
        )
        subject, body = reminder_text(fault, seq, escalated, now, link)
        outbox.enqueue(
            Message(
                idempotency_key=key,
                customer_id=None,
                channel="email",
                purpose="service",
                recipient=recipient,
                subject=subject,
                body=body,
                payload={"type": "fault.reminder", "fault_id": fault.id, "seq": seq},
            ),
            now,
        )
        if fault.ticket_id is not None:
            tickets.record(
                fault.ticket_id,
                HistoryEntry(
                    now,
                    REMINDER_ACTOR,
                    "reminder",
                    comment=f"{subject} (to {recipient})",
                    detail={"fault_id": fault.id, "seq": seq, "escalated": escalated},
                ),
            )
        sent.append(Reminder(fault.id, seq, recipient, escalated, fault.ticket_id))
    return sent
