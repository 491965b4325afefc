"""What the API and the console show that spans contexts: a ticket with the faults behind
it (the customer 360 is :mod:`careline.customer360`).

Each context answers for its own tables (``crm_core.customers.queries``,
``crm_core.tickets.queries``, ``devices.queries``, ``devices.faults.queries``); this is the
one place that puts their answers side by side, above all of them.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import TupleRow
from pydantic import BaseModel

from crm_core.surveys.model import Survey
from crm_core.surveys.store import ticket_survey
from crm_core.tickets.queries import TicketHistoryLine, TicketRecord, get_ticket, ticket_history
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


class TicketDetail(TicketRecord):
    faults: list[FaultSummary]
    history: list[TicketHistoryLine]
    survey: SurveyView | None


def ticket_detail(conn: psycopg.Connection[TupleRow], ticket_id: int) -> TicketDetail:
    """One ticket with its linked faults, oldest onset first."""
    record = get_ticket(conn, ticket_id)
    return TicketDetail(
        **record.model_dump(),
        faults=ticket_faults(conn, ticket_id),
        history=ticket_history(conn, ticket_id),
        survey=None if (survey := ticket_survey(conn, ticket_id)) is None else survey_view(survey),
    )
