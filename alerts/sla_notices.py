"""Staff notices for SLA warnings, breaches and escalations, through the outbox.

Handlers on :class:`~crm_core.tickets.model.SlaWarning`, ``SlaBreached`` and
``TicketEscalated``, which the SLA job raises once per ticket, clock and kind
(``sla_alerts``). They run in the job's transaction, so the notice is written to the
outbox with the alert, or not at all:

* a warning or a breach goes to the ticket's assigned technician (no one assigned: no
  notice; the escalation below tells the lead);
* an escalation goes to its target's address (``CARELINE_SERVICE__ESCALATION_EMAILS``;
  the service lead, ``CARELINE_SERVICE__LEAD_EMAIL``, for a target without one).

Each notice is an e-mail with an idempotency key made of the alert's own key, so a rerun
adds nothing, and a ``notice`` line in the ticket's history says who was told what.
Staff notices carry no customer, so the customer's consent ledger does not apply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_core.kernel.clock import Clock
from crm_core.kernel.events import Event
from crm_core.notifications.model import Message
from crm_core.notifications.ports import Outbox
from crm_core.tickets.model import HistoryEntry, SlaBreached, SlaWarning, TicketEscalated
from crm_core.tickets.ports import TicketRepository

NOTICE_ACTOR = "careline"
_LABELS = {"first_response": "first response", "resolution": "resolution"}


def alert_text(event: SlaWarning | SlaBreached, subject: str, link: str) -> tuple[str, str]:
    """Subject and body of a warning or breach notice (pure).

    >>> from datetime import datetime, UTC
    >>> at = datetime(2026, 12, 4, 15, 50, tzinfo=UTC)
    >>> e = SlaBreached(7, 3, "first_response", 1, datetime(2026, 12, 4, 15, 30, tzinfo=UTC), at)
    >>> alert_text(e, "Freezer dead", "http://x/console/tickets/7")[0]
    'SLA breached: first response of ticket #7 (P1)'
    """
    what = "breached" if isinstance(event, SlaBreached) else "warning"
    label = _LABELS.get(event.metric, event.metric)
    due = f"{event.due_at:%Y-%m-%d %H:%M} UTC" if event.due_at else "not set"
    body = "\n".join(
        [
            f"Ticket #{event.ticket_id} ({subject}), priority P{event.priority}:",
            f"its {label} target is {'breached' if what == 'breached' else 'close'} (due {due}).",
            "",
            f"Open it: {link}",
            "",
            "Careline SLA check",
        ]
    )
    return f"SLA {what}: {label} of ticket #{event.ticket_id} (P{event.priority})", body


def escalation_text(event: TicketEscalated, subject: str, link: str) -> tuple[str, str]:
    """Subject and body of an escalation notice (pure)."""
    body = "\n".join(
        [
            f"Ticket #{event.ticket_id} ({subject}) is escalated to {event.to} "
            f"({event.kind} escalation):",
            event.reason,
            "",
            f"Open it: {link}",
            "",
            "Careline SLA check",
        ]
    )
    return f"Escalated to {event.to}: ticket #{event.ticket_id}", body


@dataclass(frozen=True, slots=True)
class SlaNotices:
    """SLA events -> an e-mail notice in the outbox and a line in the ticket's history."""

    tickets: Callable[[Any], TicketRepository]
    outbox: Callable[[Any], Outbox]
    escalation_email: Callable[[str], str]
    public_url: str
    clock: Clock

    def __call__(self, event: SlaWarning | SlaBreached | TicketEscalated, uow: Any) -> list[Event]:
        tickets = self.tickets(uow)
        ticket = tickets.get(event.ticket_id)
        if ticket is None:
            return []
        link = f"{self.public_url.rstrip('/')}/console/tickets/{event.ticket_id}"
        if isinstance(event, TicketEscalated):
            recipient = self.escalation_email(event.to)
            subject, body = escalation_text(event, ticket.subject, link)
            digest = hashlib.sha256(event.reason.encode()).hexdigest()[:12]
            key = f"ticket/{event.ticket_id}/escalation/{event.kind}/{digest}/notice"
            kind = f"{event.kind} escalation"
        else:
            assignee = (
                tickets.technician(ticket.technician_id)
                if ticket.technician_id is not None
                else None
            )
            if assignee is None or not assignee.email:
                return []  # nobody assigned: the escalation that follows tells the lead
            recipient = assignee.email
            subject, body = alert_text(event, ticket.subject, link)
            what = "breach" if isinstance(event, SlaBreached) else "warning"
            key = f"ticket/{event.ticket_id}/sla/{event.metric}/{what}/notice"
            kind = f"SLA {what}"
        message = Message(
            idempotency_key=key,
            customer_id=None,
            channel="email",
            purpose="service",
            recipient=recipient,
            subject=subject,
            body=body,
            payload={"type": "ticket.staff_notice", "ticket_id": event.ticket_id},
        )
        now = self.clock()
        if self.outbox(uow).enqueue(message, now):
            tickets.record(
                event.ticket_id,
                HistoryEntry(
                    now,
                    NOTICE_ACTOR,
                    "notice",
                    comment=f"{kind} notice to {recipient}: {subject}",
                    detail={"recipient": recipient, "outbox_key": key},
                ),
            )
        return []
