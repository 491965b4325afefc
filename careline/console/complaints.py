"""The console's complaints and investigations: who complained about which lot, and the
investigation the complaints rule opened, with the lots' backward traces side by side.

Read-only pages for staff not limited to some customers (complaints name customers across
the network); complaints are filed through the API and the trace page.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRouter
from fastapi.templating import Jinja2Templates

from careline.api.deps import Conn
from careline.console.pages import PREFIX, ConsoleUser, fleet_wide_user
from crm_core.kernel.errors import NotFound
from crm_core.recalls.complaints import (
    investigation,
    list_complaints,
    list_investigations,
    rule_text,
)


def install_complaint_pages(app: FastAPI, templates: Jinja2Templates) -> None:
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(fleet_wide_user)]
    )

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, values, status_code=status_code)

    @router.get("/complaints")
    def complaints_page(request: Request, user: ConsoleUser, conn: Conn) -> HTMLResponse:
        return render(
            request,
            "complaints.html",
            user=user,
            investigations=list_investigations(conn),
            complaints=list_complaints(conn),
            rule=rule_text(),
        )

    @router.get("/investigations/{investigation_id}")
    def investigation_page(
        request: Request, investigation_id: int, user: ConsoleUser, conn: Conn
    ) -> HTMLResponse:
        try:
            found = investigation(conn, investigation_id)
        except NotFound as exc:
            return render(request, "not_found.html", 404, user=user, message=str(exc))
        return render(request, "investigation.html", user=user, inv=found)

    app.include_router(router)
