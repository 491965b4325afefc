"""The reports there are: each one a name, a title, a computation and a chart.

A report covers a :class:`Period` of whole UTC days, ``start`` to ``end`` inclusive.
Left out for now, and why: SLA compliance (the SLA clocks are being built on their own
branch), first-time-fix rate (tickets record no visits or resolution codes yet), and
CSAT/NPS over time (surveys come later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import pandas as pd
import psycopg
from psycopg.rows import TupleRow

from careline.reports.data import devices_frame, faults_frame, history_frame, tickets_frame
from careline.reports.measures import Dimension, reliability, ticket_times
from crm_core.kernel.errors import NotFound

MAX_DAYS: Final = 366
BAR = "rgb(31, 95, 160)"
BAR_2 = "rgb(230, 126, 34)"


class InvalidReportRequest(ValueError):
    """The report or its period cannot be: the message says what to send instead."""


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days from ``first`` to ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidReportRequest(
                f"the period ends ({self.last}) before it starts ({self.first})"
            )
        if (self.last - self.first).days + 1 > MAX_DAYS:
            raise InvalidReportRequest(f"a report covers at most {MAX_DAYS} days")

    @classmethod
    def ending(cls, last: date, days: int = 30) -> Period:
        return cls(last - timedelta(days=days - 1), last)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        """The instant after the period (midnight after its last day)."""
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


Figure = dict[str, object]


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    title: str
    description: str
    compute: Callable[[psycopg.Connection[TupleRow], Period], pd.DataFrame]
    chart: Callable[[pd.DataFrame], Figure]


def _layout(title: str, y_title: str) -> dict[str, object]:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": 340,
        "margin": {"l": 56, "r": 16, "t": 56, "b": 96},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "xaxis": {"type": "category", "automargin": True},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }


def _reliability(by: Dimension) -> Callable[[psycopg.Connection[TupleRow], Period], pd.DataFrame]:
    def compute(conn: psycopg.Connection[TupleRow], period: Period) -> pd.DataFrame:
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
        "layout": _layout("Failures per 100 device-days", "per 100 device-days"),
    }


def _ticket_times(conn: psycopg.Connection[TupleRow], period: Period) -> pd.DataFrame:
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
            "y": [None if pd.isna(v) else float(v) for v in frame[column]],
            "marker": {"color": color},
            "hovertemplate": "%{x}: %{y} h<extra>" + name + "</extra>",
        }

    layout = _layout("Median hours, proactive against reactive", "hours")
    layout["barmode"] = "group"
    layout["legend"] = {"orientation": "h", "y": -0.25}
    return {
        "data": [
            bar("first_response_median_h", "to first response", BAR),
            bar("resolution_median_h", "to resolution", BAR_2),
        ],
        "layout": layout,
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
    )
}


def report_named(name: str) -> Report:
    try:
        return REPORTS[name]
    except KeyError:
        known = ", ".join(REPORTS)
        raise NotFound(f"no report named {name!r}; there are: {known}") from None
