"""Satisfaction surveys: send one for a ticket, read it, and the scores over a period."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from careline.api.deps import Conn, Now, RequireAgent, require_unscoped
from careline.api.errors import responses
from careline.api.scopes import PathId, ticket_in_scope
from careline.views import SurveyView, survey_view
from crm_core.kernel.errors import NotFound
from crm_core.kernel.links import LinkSigner
from crm_core.surveys.links import SurveyLinks
from crm_core.surveys.model import csat_percent, nps
from crm_core.surveys.store import answered_scores, open_survey, ticket_survey
from crm_core.tickets.queries import get_ticket

router = APIRouter(tags=["surveys"])


class SentSurvey(SurveyView):
    link: str


class Scores(BaseModel):
    since: datetime | None
    responses: int
    csat_percent: int | None
    nps: int | None


@router.post(
    "/tickets/{ticket_id}/survey",
    summary="Make the ticket's satisfaction survey (once) and return its signed link (agent)",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def survey_send(
    ticket_id: PathId, request: Request, conn: Conn, now: Now, principal: RequireAgent
) -> SentSurvey:
    ticket = get_ticket(conn, ticket_id)
    survey = open_survey(conn, ticket.id, ticket.customer_id, now)
    links = request.app.state.links
    assert isinstance(links, LinkSigner)
    link = SurveyLinks(links).url(str(request.base_url), survey.id)
    return SentSurvey(**survey_view(survey).model_dump(), link=link)


@router.get(
    "/tickets/{ticket_id}/survey",
    summary="The ticket's survey",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def survey_get(ticket_id: PathId, conn: Conn) -> SurveyView:
    survey = ticket_survey(conn, ticket_id)
    if survey is None:
        raise NotFound(f"ticket {ticket_id} has no survey")
    return survey_view(survey)


@router.get(
    "/surveys/scores",
    summary="CSAT % and NPS of the answers since a time (callers of every customer)",
    dependencies=[Depends(require_unscoped)],
)
def survey_scores(conn: Conn, since: datetime | None = None) -> Scores:
    csats, npss, answered = answered_scores(conn, since)
    return Scores(since=since, responses=answered, csat_percent=csat_percent(csats), nps=nps(npss))
