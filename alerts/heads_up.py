"""The customer's heads-up when a proactive ticket opens: "we noticed X on your fridge".

A handler on :class:`~crm_core.tickets.model.TicketOpened`, subscribed by
``careline.bootstrap`` after the proactive-ticket rule, so the message is written to the
outbox in the same transaction as the ticket (and the fault, and the readings batch): no
ticket without its heads-up, no heads-up for a ticket that rolled back. The idempotency
key is the ticket's, so a redelivered batch adds nothing.

The channel is the customer's preferred one where we have an adapter: ``push`` goes to
their app, everything else (``email``, and ``sms``/``phone``, which have no adapter yet)
by e-mail; a customer without an e-mail address gets a push. When a webhook endpoint is
configured, it gets a signed copy too. The words fit the diagnosis of the fault that opened
the ticket: a cause the customer can fix (a door left open) gets their advice and no visit
promised (:func:`next_steps`). Consent is checked here (a customer who said no
gets a ``suppressed`` row that says why) and again by the dispatcher at sending time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_core.consent.links import PreferenceLinks
from crm_core.consent.model import Channel
from crm_core.consent.ports import ConsentLedger
from crm_core.consent.service import may_send
from crm_core.kernel.clock import Clock
from crm_core.kernel.events import Event
from crm_core.notifications.channels.push import push_topic
from crm_core.notifications.model import Message
from crm_core.notifications.ports import Outbox
from crm_core.notifications.recipients import Contact, Recipients
from crm_core.tickets.model import TicketOpened
from crm_core.tickets.ports import TicketRepository
from devices.faults.findings import Diagnosis


def heads_up_channel(contact: Contact) -> Channel:
    """Push when they prefer it or have no e-mail address; else e-mail.

    >>> heads_up_channel(Contact(1, "A", None, "email"))
    'push'
    >>> heads_up_channel(Contact(1, "A", "a@x", "sms"))
    'email'
    """
    if contact.preferred_channel == "push" or not contact.email:
        return "push"
    return "email"


NO_VISIT = (
    "No technician visit is needed for this. If it does not settle within a few hours, we "
    "will contact you."
)
VISIT = "A technician will contact you to arrange a visit; there is nothing you need to do now."
VISIT_MEANWHILE = "A technician will contact you to arrange a visit. Until then: {advice}"


def next_steps(diagnosis: Diagnosis | None) -> str:
    """What the heads-up says happens next, fitting the diagnosis (pure).

    A cause that needs no visit (a door left open) gets the customer's advice and no visit
    promised; a cause that needs one gets the visit, with what to do until then if the
    catalog says; an undiagnosed fault (or a silent device) gets the visit.

    >>> from devices.faults.findings import Urgency
    >>> door = Diagnosis("door_left_open", "Door left open", "", False, "...", "door closed",
    ...                  (), Urgency(None, "none", ""), "Please close the door.")
    >>> next_steps(door)  # doctest: +ELLIPSIS
    'Please close the door. No technician visit is needed for this. ...'
    >>> next_steps(None)
    'A technician will contact you to arrange a visit; there is nothing you need to do now.'
    """
    if diagnosis is None or not diagnosis.cause:
        return VISIT
    advice = diagnosis.customer_advice.strip()
    if not diagnosis.visit:
        return f"{advice} {NO_VISIT}" if advice else NO_VISIT
    return VISIT_MEANWHILE.format(advice=advice) if advice else VISIT


def heads_up_text(
    name: str,
    subject: str,
    ticket_id: int,
    preferences: str,
    diagnosis: Diagnosis | None = None,
) -> tuple[str, str]:
    """Subject and body of the heads-up (pure); the next steps fit ``diagnosis``.

    >>> s, b = heads_up_text("Amélie Laurent", "Refrigerator FR-1: cabinet temperature abnormal",
    ...                      7, "https://x/preferences/t")
    >>> s
    'We noticed something on your refrigerator FR-1'
    >>> b.splitlines()[2]
    'Our monitoring noticed a problem with your refrigerator FR-1: cabinet temperature abnormal.'
    """
    device, _, what = subject.partition(": ")
    if not what:
        device, what = "appliance", subject
    device = device[:1].lower() + device[1:]
    body = "\n".join(
        [
            f"Hello {name},",
            "",
            f"Our monitoring noticed a problem with your {device}: {what}.",
            next_steps(diagnosis),
            "",
            f"Your reference: ticket #{ticket_id}.",
            "",
            "Careline Service",
            "",
            "--",
            f"Choose what we may send you, and how: {preferences}",
            "You can object to marketing at any time on the same page.",
        ]
    )
    return f"We noticed something on your {device}", body


@dataclass(frozen=True, slots=True)
class HeadsUp:
    """``TicketOpened`` (proactive) -> a heads-up message in the outbox."""

    recipients: Callable[[Any], Recipients]
    tickets: Callable[[Any], TicketRepository]
    consents: Callable[[Any], ConsentLedger]
    outbox: Callable[[Any], Outbox]
    links: Callable[[], PreferenceLinks]  # called only when a message is written
    diagnosis: Callable[[Any, int], Diagnosis | None]  # (uow, ticket id): its fault's diagnosis
    public_url: str
    clock: Clock
    webhook_url: str | None = None

    def __call__(self, event: TicketOpened, uow: Any) -> list[Event]:
        ticket = self.tickets(uow).get(event.ticket_id)
        contact = self.recipients(uow).contact(event.customer_id)
        if ticket is None or ticket.kind != "proactive" or contact is None:
            return []
        channel = heads_up_channel(contact)
        subject, body = heads_up_text(
            contact.name,
            ticket.subject,
            event.ticket_id,
            self.links().url(self.public_url, contact.customer_id),
            self.diagnosis(uow, event.ticket_id),
        )
        payload = {"type": "ticket.heads_up", "ticket_id": event.ticket_id}
        key = f"ticket/{event.ticket_id}/heads-up"
        targets: list[tuple[Channel, str, str]] = [
            (
                channel,
                (contact.email or "") if channel == "email" else push_topic(contact.customer_id),
                key,
            )
        ]
        if self.webhook_url:
            targets.append(("webhook", self.webhook_url, f"{key}/webhook"))
        ledger, outbox, now = self.consents(uow), self.outbox(uow), self.clock()
        for target, recipient, idempotency_key in targets:
            decision = may_send(ledger, contact.customer_id, "service", target)
            suppressed = None if decision.allowed else decision.cited
            message = Message(
                idempotency_key=idempotency_key,
                customer_id=contact.customer_id,
                channel=target,
                purpose="service",
                recipient=recipient,
                subject=subject,
                body=body,
                payload=payload,
            )
            outbox.enqueue(message, now, suppressed=suppressed)
        return []
