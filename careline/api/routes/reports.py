"""``/api/v1/reports``: fleet reliability and ticket times as JSON, or as CSV to download."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from careline.api.deps import Conn, Now, Sla, require_unscoped
from careline.api.errors import responses
from careline.reports.catalog import REPORTS, Period, ReportContext, report_named
from careline.reports.export import to_csv, to_rows
from careline.reports.snapshots import Snapshot, snapshots

# Reports are fleet-wide figures: for callers of every customer only (403 otherwise).
router = APIRouter(prefix="/reports", tags=["reports"], dependencies=[Depends(require_unscoped)])


class ReportInfo(BaseModel):
    name: str
    title: str
    description: str


class ReportBody(ReportInfo):
    start: date
    end: date
    columns: list[str]
    rows: list[dict[str, object]]


def period_of(start: date | None, end: date | None, today: date) -> Period:
    """The requested period; by default the 30 days up to today (UTC), both included."""
    last = end or today
    return Period(start, last) if start is not None else Period.ending(last)


@router.get("", summary="The reports there are")
def reports_list() -> list[ReportInfo]:
    return [
        ReportInfo(name=r.name, title=r.title, description=r.description) for r in REPORTS.values()
    ]


@router.get(
    "/{name}/snapshots",
    summary="The daily snapshots of a report (each day's figures as computed that night)",
    responses=responses(404, 422),
)
def report_snapshots(
    name: str,
    conn: Conn,
    now: Now,
    start: Annotated[
        date | None, Query(alias="from", description="First day (default: 29 days before to).")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day (default: today).")] = None,
) -> list[Snapshot]:
    return snapshots(conn, name, period_of(start, end, now.date()))


@router.get(
    "/{name}",
    summary="One report over a period of whole UTC days (JSON, or CSV with format=csv)",
    responses={
        **responses(404, 422),
        200: {"content": {"text/csv": {}}, "description": "The report."},
    },
)
def report_get(
    name: str,
    conn: Conn,
    sla: Sla,
    start: Annotated[
        date | None, Query(alias="from", description="First day (default: 29 days before to).")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day (default: today).")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    report = report_named(name)
    ctx, now = sla
    period = period_of(start, end, now.date())
    frame = report.compute(conn, period, ReportContext(ctx, now))
    if format == "csv":
        filename = f"{report.name}_{period.first}_{period.last}.csv"
        return Response(
            to_csv(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    body = ReportBody(
        name=report.name,
        title=report.title,
        description=report.description,
        start=period.first,
        end=period.last,
        columns=[str(c) for c in frame.columns],
        rows=to_rows(frame),
    )
    return Response(body.model_dump_json(), media_type="application/json")
