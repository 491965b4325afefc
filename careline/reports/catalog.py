"""The reports there are: each one a name, a title, a computation and a chart.

Fleet reliability (by model, firmware, batch) and ticket times are here; the service
quality reports (SLA compliance, first-time fix, CSAT/NPS over time, proactive against
reactive) are in :mod:`careline.reports.service_reports`.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import psycopg
from psycopg.rows import TupleRow

from careline.reports.data import devices_frame, faults_frame, history_frame, tickets_frame
from careline.reports.measures import Dimension, reliability, ticket_times
from careline.reports.report import (
    BAR,
    BAR_2,
    Compute,
    Figure,
    InvalidReportRequest,
    Period,
    Report,
    ReportContext,
    layout,
    values,
)
from careline.reports.service_reports import SERVICE_REPORTS
from crm_core.kernel.errors import NotFound

__all__ = ["REPORTS", "InvalidReportRequest", "Period", "Report", "ReportContext", "report_named"]


def _reliability(by: Dimension) -> Compute:
    def compute(
        conn: psycopg.Connection[TupleRow], period: Period, ctx: ReportContext
    ) -> pd.DataFrame:
        devices = devices_frame(conn, period.end)
        faults = faults_frame(conn, period.start, period.end)
        return reliability(devices, faults, by, period.start, period.end)

    return compute


def _reliability_chart(frame: pd.DataFrame) -> Figure:
    rates = frame["failures_per_100_device_days"].astype(float).fillna(0.0)
    return {
        "data": [
            {
                "type": "bar",
                "x": frame["group"].tolist(),
                "y": rates.tolist(),
                "marker": {"color": BAR},
                "customdata": frame[["devices", "device_days", "failures"]].values.tolist(),
                "hovertemplate": "%{x}<br>%{y} failures per 100 device-days<br>"
                "%{customdata[0]} devices, %{customdata[1]} device-days, "
                "%{customdata[2]} failures<extra></extra>",
            }
        ],
        "layout": layout("Failures per 100 device-days", "per 100 device-days"),
    }


def _ticket_times(
    conn: psycopg.Connection[TupleRow], period: Period, ctx: ReportContext
) -> pd.DataFrame:
    return ticket_times(
        tickets_frame(conn, period.start, period.end),
        history_frame(conn, period.start, period.end),
    )


def _ticket_chart(frame: pd.DataFrame) -> Figure:
    def bar(column: str, name: str, color: str) -> dict[str, object]:
        return {
            "type": "bar",
            "name": name,
            "x": frame["kind"].tolist(),
            "y": values(frame[column]),
            "marker": {"color": color},
            "hovertemplate": "%{x}: %{y} h<extra>" + name + "</extra>",
        }

    figure_layout = layout("Median hours, proactive against reactive", "hours")
    figure_layout["barmode"] = "group"
    figure_layout["legend"] = {"orientation": "h", "y": -0.25}
    return {
        "data": [
            bar("first_response_median_h", "to first response", BAR),
            bar("resolution_median_h", "to resolution", BAR_2),
        ],
        "layout": figure_layout,
    }


_RELIABILITY_TEXT = (
    "Devices, device-days in service, faults and failures (fault onsets on a device less "
    "than 24 h apart are one failure; no-data silences are not failures), failures per 100 "
    "device-days and mean time between failures in days, {}."
)

REPORTS: Final[dict[str, Report]] = {
    report.name: report
    for report in (
        Report(
            "reliability-by-model",
            "Reliability by model",
            _RELIABILITY_TEXT.format("per model"),
            _reliability("model"),
            _reliability_chart,
        ),
        Report(
            "reliability-by-firmware",
            "Reliability by firmware",
            _RELIABILITY_TEXT.format("per device type and firmware version"),
            _reliability("firmware"),
            _reliability_chart,
        ),
        Report(
            "reliability-by-batch",
            "Reliability by production batch",
            _RELIABILITY_TEXT.format("per device type and production batch"),
            _reliability("production_batch"),
            _reliability_chart,
        ),
        Report(
            "ticket-times",
            "Time to first response and to resolution",
            "Tickets created in the period, proactive against reactive: how many were "
            "answered and resolved, and the median and mean hours to each. First response: "
            "the first comment or status change by a person (not careline itself) after "
            "the ticket was created. Resolution: its first move to resolved.",
            _ticket_times,
            _ticket_chart,
        ),
        *SERVICE_REPORTS,
    )
}


def report_named(name: str) -> Report:
    try:
        return REPORTS[name]
    except KeyError:
        known = ", ".join(REPORTS)
        raise NotFound(f"no report named {name!r}; there are: {known}") from None
