"""Daily report snapshots: each report for one UTC day, kept as it was computed that day.

A report over a long period is computed afresh from the data; a snapshot keeps one day's
figures, so that a trend (failures per 100 device-days by batch, week after week) can be
read back even after devices were re-registered or tickets edited. The scheduler writes
yesterday's every night; writing a day again replaces it (idempotent).
"""

from __future__ import annotations

from datetime import date, datetime

import orjson
import psycopg
from psycopg.rows import TupleRow
from pydantic import BaseModel

from careline.reports.catalog import REPORTS, Period, ReportContext, report_named
from careline.reports.export import to_rows
from crm_core.tickets.queries import SlaContext


class Snapshot(BaseModel):
    day: date
    generated_at: datetime
    rows: list[dict[str, object]]


def take_snapshots(
    conn: psycopg.Connection[TupleRow], day: date, now: datetime, sla: SlaContext
) -> int:
    """Compute every report for ``day`` and store it; the number of reports stored."""
    period = Period(day, day)
    ctx = ReportContext(sla, now)
    with conn.transaction():
        for report in REPORTS.values():
            rows = to_rows(report.compute(conn, period, ctx))
            conn.execute(
                "INSERT INTO report_snapshots (name, day, generated_at, rows) "
                "VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (name, day) DO UPDATE "
                "SET generated_at = excluded.generated_at, rows = excluded.rows",
                (report.name, day, now, orjson.dumps(rows).decode()),
            )
    return len(REPORTS)


def snapshots(conn: psycopg.Connection[TupleRow], name: str, period: Period) -> list[Snapshot]:
    """The stored snapshots of report ``name`` for the days of ``period``, oldest first."""
    report_named(name)  # NotFound for a report that does not exist
    rows = conn.execute(
        "SELECT day, generated_at, rows FROM report_snapshots "
        "WHERE name = %s AND day BETWEEN %s AND %s ORDER BY day",
        (name, period.first, period.last),
    ).fetchall()
    return [Snapshot(day=r[0], generated_at=r[1], rows=r[2]) for r in rows]
