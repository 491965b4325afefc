"""The console's fleet pages: product issues (list, one issue, its actions) and reports.

The actions are forms (CSRF-protected like every console form) that run the same use cases
as the API, then redirect back to the issue; agents and admins only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRouter

from careline.api.deps import MAX_BIGINT, Conn, Context, Now, Sla
from careline.api.routes.reports import period_of
from careline.console.charts import rate_figure
from careline.console.pages import PAGE_SIZE, ConsoleUser, console_templates, fleet_wide_user
from careline.console.sign_in import PREFIX
from careline.reports.catalog import REPORTS, InvalidReportRequest, ReportContext
from careline.reports.export import to_rows
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Page
from devices.product_issues.model import (
    ISSUE_STATUSES,
    TRANSITIONS,
    IssueStatus,
    ProductIssueConflict,
)
from devices.product_issues.postgres import PostgresProductIssuesUnitOfWork
from devices.product_issues.queries import get_product_issue, list_product_issues
from devices.product_issues.service import add_note, change_status

ISSUES = f"{PREFIX}/product-issues"


def _back(issue_id: int, error: str | None = None) -> RedirectResponse:
    url = f"{ISSUES}/{issue_id}"
    if error:
        url += f"?error={quote(error)}"
    return RedirectResponse(url, status_code=303)


def _day(text: str, what: str) -> date | None:
    """A day typed in the form (YYYY-MM-DD), or None when left empty."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidReportRequest(f"{what}: {text!r} is not a day (YYYY-MM-DD)") from None


def install_fleet_pages(app: FastAPI) -> None:
    templates = console_templates()
    # fleet-wide pages: users limited to some customers are refused them (403)
    router = APIRouter(
        prefix=PREFIX, include_in_schema=False, dependencies=[Depends(fleet_wide_user)]
    )

    @router.get("/product-issues")
    def issues_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        status: IssueStatus | None = None,
        offset: Annotated[int, Query(le=MAX_BIGINT)] = 0,
    ) -> HTMLResponse:
        page = Page(limit=PAGE_SIZE, offset=max(offset, 0))
        issues = list_product_issues(conn, status=status, page=page)
        return templates.TemplateResponse(
            request,
            "product_issues.html",
            {
                "user": user,
                "issues": issues,
                "status": status,
                "statuses": ISSUE_STATUSES,
                "page": page,
                "has_more": len(issues) == PAGE_SIZE,
            },
        )

    @router.get("/product-issues/{issue_id}")
    def issue_page(
        request: Request,
        issue_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        context: Context,
        error: str | None = None,
    ) -> HTMLResponse:
        try:
            issue = get_product_issue(conn, issue_id, now, context.settings.fleet.rate_days)
        except NotFound as exc:
            return templates.TemplateResponse(
                request, "not_found.html", {"user": user, "message": str(exc)}, status_code=404
            )
        return templates.TemplateResponse(
            request,
            "product_issue.html",
            {
                "user": user,
                "issue": issue,
                "moves": TRANSITIONS[issue.status],
                "figure": rate_figure(issue.rates, issue.group_value),
                "error": error[:300] if error else None,
            },
        )

    @router.post("/product-issues/{issue_id}/status")
    def move_issue(
        issue_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        status: Annotated[IssueStatus, Form()],
        comment: Annotated[str, Form(max_length=4000)] = "",
    ) -> RedirectResponse:
        if not user.allows("agent"):
            return _back(issue_id, "Viewers cannot change product issues.")
        uow = PostgresProductIssuesUnitOfWork(conn)
        try:
            change_status(uow, issue_id, status, now, user.name, comment.strip())
        except (ProductIssueConflict, NotFound) as exc:
            return _back(issue_id, str(exc))
        return _back(issue_id)

    @router.post("/product-issues/{issue_id}/notes")
    def note_issue(
        issue_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        comment: Annotated[str, Form(max_length=4000)],
    ) -> RedirectResponse:
        if not user.allows("agent"):
            return _back(issue_id, "Viewers cannot add notes.")
        try:
            add_note(PostgresProductIssuesUnitOfWork(conn), issue_id, user.name, comment, now)
        except (NotFound, ValueError) as exc:
            return _back(issue_id, str(exc))
        return _back(issue_id)

    @router.get("/reports")
    def reports_page(
        request: Request,
        user: ConsoleUser,
        conn: Conn,
        sla: Sla,
        name: str = "reliability-by-model",
        start: Annotated[str, Query(alias="from", max_length=10)] = "",
        end: Annotated[str, Query(alias="to", max_length=10)] = "",
    ) -> HTMLResponse:
        report = REPORTS.get(name) or REPORTS["reliability-by-model"]
        error, frame, period = None, None, None
        ctx, now = sla
        try:
            period = period_of(_day(start, "from"), _day(end, "to"), now.date())
            frame = report.compute(conn, period, ReportContext(ctx, now))
        except InvalidReportRequest as exc:
            error = str(exc)
        query = urlencode(
            {"from": period.first, "to": period.last, "format": "csv"} if period else {}
        )
        return templates.TemplateResponse(
            request,
            "reports.html",
            {
                "user": user,
                "reports": REPORTS.values(),
                "report": report,
                "period": period,
                "error": error,
                "columns": [] if frame is None else [str(c) for c in frame.columns],
                "rows": [] if frame is None else to_rows(frame),
                "figure": None if frame is None or frame.empty else report.chart(frame),
                "csv_url": f"/api/v1/reports/{report.name}?{query}",
            },
        )

    app.include_router(router)
