"""The satisfaction survey a customer reaches through a signed link, without signing in.

``/survey/{token}``: the token names the survey (:mod:`crm_core.surveys.links`, valid for
30 days). The form is protected against cross-site request forgery like every console
form. A changed or expired link gets a page saying so
(400 or 410), an answered survey a page saying it is answered already (409), and the
answer is recorded once, on the ticket and the customer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Now
from crm_core.kernel.errors import NotFound
from crm_core.kernel.links import BadLinkError, LinkExpiredError, LinkSigner
from crm_core.surveys.links import SurveyLinks
from crm_core.surveys.model import AlreadyAnsweredError, Answer, InvalidAnswerError, Survey
from crm_core.surveys.store import get_survey, record_answer
from crm_core.tickets.queries import get_ticket


def _number(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidAnswerError(f"{value[:20]!r} is not a whole number") from None


def install_survey(app: FastAPI, templates: Jinja2Templates, links: LinkSigner) -> None:
    router = APIRouter(include_in_schema=False)
    surveys = SurveyLinks(links)

    def page(request: Request, status_code: int = 200, **values: object) -> HTMLResponse:
        values.setdefault("problem", None)
        return templates.TemplateResponse(
            request, "survey.html", {"user": None, **values}, status_code=status_code
        )

    def opened(request: Request, conn: Conn, token: str) -> Survey | HTMLResponse:
        try:
            survey = get_survey(conn, surveys.survey(token))
        except BadLinkError as exc:
            expired = isinstance(exc, LinkExpiredError)
            return page(
                request,
                410 if expired else 400,
                problem=str(exc),
                problem_title="This link has expired" if expired else "This link does not work",
            )
        except NotFound:
            return page(request, 404, problem="This survey no longer exists.", problem_title="Gone")
        if survey.answered_at is not None:
            return page(
                request,
                409,
                problem="This survey is answered already. Thank you!",
                problem_title="Already answered",
            )
        return survey

    @router.get("/survey/{token}")
    def survey_form(request: Request, token: str, conn: Conn) -> HTMLResponse:
        survey = opened(request, conn, token)
        if isinstance(survey, HTMLResponse):
            return survey
        subject = get_ticket(conn, survey.ticket_id).subject
        return page(request, survey=survey, token=token, subject=subject, error=None)

    @router.post("/survey/{token}")
    def survey_answer(
        request: Request,
        token: str,
        conn: Conn,
        now: Now,
        csat: Annotated[str | None, Form()] = None,
        nps: Annotated[str | None, Form()] = None,
        comment: Annotated[str, Form(max_length=4000)] = "",
    ) -> HTMLResponse:
        survey = opened(request, conn, token)
        if isinstance(survey, HTMLResponse):
            return survey
        try:
            answer = Answer.checked(csat=_number(csat), nps=_number(nps), comment=comment)
            survey = record_answer(conn, survey.id, answer, now)
        except InvalidAnswerError as exc:
            subject = get_ticket(conn, survey.ticket_id).subject
            return page(request, 422, survey=survey, token=token, subject=subject, error=str(exc))
        except AlreadyAnsweredError:
            return page(
                request,
                409,
                problem="This survey is answered already. Thank you!",
                problem_title="Already answered",
            )
        return page(request, survey=survey, thanks=True)

    app.include_router(router)
