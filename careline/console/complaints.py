"""The console's complaints and investigations: who complained about which lot, and the
investigation the complaints rule opened, with the lots' backward traces side by side.

Pages for staff not limited to some customers (complaints name customers across the
network); complaints are filed through the API and the trace page. Quality staff work an
investigation here (note, link or open a recall, close with an outcome, reopen): CSRF-
protected forms (:mod:`careline.api.csrf`) that run the same use cases as the API, each
audited, committed before the redirect; other roles get a 403.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn, Now
from careline.console.pages import PREFIX, ConsoleUser, fleet_wide_user
from crm_core.kernel.errors import NotFound
from crm_core.recalls import investigations as actions
from crm_core.recalls.complaints import (
    investigation,
    list_complaints,
    list_investigations,
    rule_text,
)
from crm_core.recalls.postgres import list_recalls

Text = Annotated[str, Form(min_length=1, max_length=4000)]


def install_complaint_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(fleet_wide_user)]
    )

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    def back(investigation_id: int, *, error: str = "", done: str = "") -> RedirectResponse:
        query = f"?error={quote(error)}" if error else f"?done={quote(done)}" if done else ""
        return RedirectResponse(
            f"{PREFIX}/investigations/{investigation_id}{query}", status_code=303
        )

    def refused(request: Request, user: ConsoleUser) -> HTMLResponse:
        return render(request, "forbidden.html", 403, user=user, needed="quality")

    @router.get("/complaints")
    def complaints_page(request: Request, user: ConsoleUser, conn: Conn) -> HTMLResponse:
        return render(
            request,
            "complaints.html",
            user=user,
            investigations=list_investigations(conn),
            complaints=list_complaints(conn),
            rule=rule_text(),
            outcomes=actions.OUTCOMES,
        )

    @router.get("/investigations/{investigation_id}")
    def investigation_page(
        request: Request,
        investigation_id: int,
        user: ConsoleUser,
        conn: Conn,
        error: str | None = None,
        done: str | None = None,
    ) -> HTMLResponse:
        try:
            found = investigation(conn, investigation_id)
        except NotFound as exc:
            return render(request, "not_found.html", 404, user=user, message=str(exc))
        may_act = user.allows("quality")
        return render(
            request,
            "investigation.html",
            user=user,
            inv=found,
            may_act=may_act,
            outcomes=actions.OUTCOMES,
            recalls=list_recalls(conn) if may_act and found.status == "open" else [],
            error=error[:300] if error else None,
            done=done[:300] if done else None,
        )

    def act(
        request: Request, user: ConsoleUser, investigation_id: int, done: str, move: Any
    ) -> Response:
        if not user.allows("quality"):
            return refused(request, user)
        try:
            move()
        except (NotFound, actions.InvestigationError) as exc:
            return back(investigation_id, error=str(exc))
        return back(investigation_id, done=done)

    @router.post("/investigations/{investigation_id}/notes")
    def note(
        request: Request,
        investigation_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        text: Text,
    ) -> Response:
        def move() -> None:
            with conn.transaction():
                actions.add_note(conn, investigation_id, text.strip(), user.name, now)

        return act(request, user, investigation_id, "Note added.", move)

    @router.post("/investigations/{investigation_id}/recall")
    def link(
        request: Request,
        investigation_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        recall_id: Annotated[int, Form(ge=1, le=2**62)],
    ) -> Response:
        def move() -> None:
            with conn.transaction():
                actions.link_recall(conn, investigation_id, recall_id, user.name, now)

        return act(request, user, investigation_id, f"Linked to recall #{recall_id}.", move)

    @router.post("/investigations/{investigation_id}/open-recall")
    def open_recall(
        request: Request, investigation_id: int, user: ConsoleUser, conn: Conn, now: Now
    ) -> Response:
        opened: list[int] = []

        def move() -> None:
            with conn.transaction():
                opened.append(actions.open_recall(conn, investigation_id, user.name, now))

        answer = act(request, user, investigation_id, "", move)
        if opened:  # straight to the proposal, for review
            return RedirectResponse(
                f"{PREFIX}/recalls/{opened[0]}?done="
                + quote(f"Recall proposed from investigation {investigation_id}: review it."),
                status_code=303,
            )
        return answer

    @router.post("/investigations/{investigation_id}/close")
    def close(
        request: Request,
        investigation_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        outcome: Annotated[actions.Outcome, Form()],
        conclusion: Text,
    ) -> Response:
        def move() -> None:
            with conn.transaction():
                actions.close(conn, investigation_id, outcome, conclusion.strip(), user.name, now)

        label = actions.OUTCOMES[outcome]
        return act(request, user, investigation_id, f"Closed: {label}.", move)

    @router.post("/investigations/{investigation_id}/reopen")
    def reopen(
        request: Request,
        investigation_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        why: Text,
    ) -> Response:
        def move() -> None:
            with conn.transaction():
                actions.reopen(conn, investigation_id, why.strip(), user.name, now)

        return act(request, user, investigation_id, "Reopened.", move)

    app.include_router(router)
