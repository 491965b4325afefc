"""The satisfaction survey, mailed when a ticket is resolved: "how did we do?".

A handler on :class:`~crm_core.tickets.model.TicketResolved`: it makes the ticket's survey
(one per ticket) and writes the message with the survey's signed link to the outbox, in
the transaction that resolved the ticket. The idempotency key is the ticket's, so a
ticket resolved, reopened and resolved again is asked once. No survey when nobody served
the customer: a ticket whose faults cleared by themselves (``fault_cleared``) or a
duplicate. Consent is that of service messages, checked here and again when sending.
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
from crm_core.notifications.recipients import Recipients
from crm_core.surveys.links import SurveyLinks
from crm_core.surveys.store import open_survey
from crm_core.tickets.model import TicketResolved

NO_SURVEY = frozenset({"fault_cleared", "duplicate"})


def survey_text(name: str, ticket_id: int, survey: str, preferences: str) -> tuple[str, str]:
    """Subject and body of the survey request (pure).

    >>> s, b = survey_text("Jonas Becker", 12, "https://x/survey/t", "https://x/preferences/p")
    >>> s
    'How did we do? Ticket #12'
    >>> "https://x/survey/t" in b
    True
    """
    body = "\n".join(
        [
            f"Hello {name},",
            "",
            f"We have resolved your service ticket #{ticket_id}. Two questions, one minute:",
            "how satisfied are you, and would you recommend us?",
            "",
            f"Answer here (no sign-in needed): {survey}",
            "",
            "Thank you,",
            "Careline Service",
            "",
            "--",
            f"Choose what we may send you, and how: {preferences}",
        ]
    )
    return f"How did we do? Ticket #{ticket_id}", body


@dataclass(frozen=True, slots=True)
class SurveyRequest:
    """``TicketResolved`` -> a survey, and its link in the outbox."""

    recipients: Callable[[Any], Recipients]
    consents: Callable[[Any], ConsentLedger]
    outbox: Callable[[Any], Outbox]
    links: Callable[[], tuple[SurveyLinks, PreferenceLinks]]  # called only when mailing
    public_url: str
    clock: Clock

    def __call__(self, event: TicketResolved, uow: Any) -> list[Event]:
        if event.resolution_code in NO_SURVEY:
            return []
        contact = self.recipients(uow).contact(event.customer_id)
        if contact is None:
            return []
        now = self.clock()
        survey = open_survey(uow.connection, event.ticket_id, event.customer_id, now)
        surveys, preferences = self.links()
        subject, body = survey_text(
            contact.name,
            event.ticket_id,
            surveys.url(self.public_url, survey.id),
            preferences.url(self.public_url, contact.customer_id),
        )
        channel: Channel = "email" if contact.email else "push"
        recipient = contact.email or push_topic(contact.customer_id)
        decision = may_send(self.consents(uow), contact.customer_id, "service", channel)
        suppressed = None if decision.allowed else decision.cited
        message = Message(
            idempotency_key=f"ticket/{event.ticket_id}/survey",
            customer_id=contact.customer_id,
            channel=channel,
            purpose="service",
            recipient=recipient,
            subject=subject,
            body=body,
            payload={"type": "ticket.survey", "ticket_id": event.ticket_id},
        )
        self.outbox(uow).enqueue(message, now, suppressed=suppressed)
        return []
