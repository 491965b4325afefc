"""What the API and the console show that spans contexts: a ticket with the faults behind
it (the customer 360 is :mod:`careline.customer360`).

Each context answers for its own tables (``crm_core.customers.queries``,
``crm_core.tickets.queries``, ``devices.queries``, ``devices.faults.queries``); this is the
one place that puts their answers side by side, above all of them.
"""

from __future__ import annotations

from datetime import date, datetime

import psycopg
from psycopg.rows import TupleRow
from pydantic import BaseModel

from crm_core.kernel.read_models import ReadModel
from crm_core.surveys.model import Survey
from crm_core.surveys.store import ticket_survey
from crm_core.tickets.entitlement import ticket_entitlement
from crm_core.tickets.queries import (
    SlaContext,
    TicketHistoryLine,
    TicketRecord,
    get_ticket,
    ticket_history,
)
from devices.faults.queries import FaultSummary, ticket_faults


class SurveyView(BaseModel):
    """A ticket's satisfaction survey: when it was sent, and the answer once given."""

    id: int
    ticket_id: int
    customer_id: int
    sent_at: datetime
    answered_at: datetime | None
    csat: int | None
    nps: int | None
    comment: str | None


def survey_view(survey: Survey) -> SurveyView:
    answer = survey.answer
    return SurveyView(
        id=survey.id,
        ticket_id=survey.ticket_id,
        customer_id=survey.customer_id,
        sent_at=survey.sent_at,
        answered_at=survey.answered_at,
        csat=answer.csat if answer else None,
        nps=answer.nps if answer else None,
        comment=answer.comment if answer else None,
    )


class EntitlementView(ReadModel):
    """Warranty and service contract on the day the ticket was opened."""

    on: date
    in_warranty: bool
    warranty_end: date | None
    contract_reference: str | None
    contract_tier: str | None
    contract_ends_on: date | None
    billable: bool
    label: str


class TicketDetail(TicketRecord):
    faults: list[FaultSummary]
    history: list[TicketHistoryLine]
    survey: SurveyView | None
    entitlement: EntitlementView


def ticket_detail(
    conn: psycopg.Connection[TupleRow],
    ticket_id: int,
    sla: tuple[SlaContext, datetime] | None = None,
) -> TicketDetail:
    """One ticket with its linked faults (oldest onset first), history, SLA and entitlement."""
    record = get_ticket(conn, ticket_id, sla)
    e = ticket_entitlement(conn, ticket_id)
    contract = e.contract
    return TicketDetail(
        **record.model_dump(),
        faults=ticket_faults(conn, ticket_id),
        history=ticket_history(conn, ticket_id),
        survey=None if (survey := ticket_survey(conn, ticket_id)) is None else survey_view(survey),
        entitlement=EntitlementView(
            on=e.on,
            in_warranty=e.in_warranty,
            warranty_end=e.warranty_end,
            contract_reference=contract.reference if contract else None,
            contract_tier=contract.tier if contract else None,
            contract_ends_on=contract.ends_on if contract else None,
            billable=e.billable,
            label=e.label,
        ),
    )
