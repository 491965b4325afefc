"""The service quality reports: SLA compliance, first-time fix, CSAT and NPS over time,
and proactive against reactive tickets on the same measures; each with its chart."""

from __future__ import annotations

from typing import Final

import pandas as pd
import psycopg
from psycopg.rows import TupleRow

from careline.reports.comparison import compare_kinds
from careline.reports.data import (
    answers_frame,
    breaches_frame,
    history_frame,
    ticket_answers_frame,
    tickets_frame,
)
from careline.reports.report import (
    BAR,
    BAR_2,
    BAR_3,
    Figure,
    Period,
    Report,
    ReportContext,
    layout,
    values,
)
from careline.reports.service_measures import (
    first_time_fix,
    satisfaction_by_week,
    sla_compliance,
    sla_outcomes,
)

Conn = psycopg.Connection[TupleRow]


def _outcomes(
    conn: Conn, period: Period, ctx: ReportContext
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    tickets = tickets_frame(conn, period.start, period.end)
    history = history_frame(conn, period.start, period.end)
    breaches = breaches_frame(conn, period.start, period.end)
    return tickets, history, sla_outcomes(tickets, history, breaches, ctx.sla, ctx.now)


def _sla(conn: Conn, period: Period, ctx: ReportContext) -> pd.DataFrame:
    tickets, _, outcomes = _outcomes(conn, period, ctx)
    return sla_compliance(tickets, outcomes, ctx.sla.levels.tier_labels)


def _percent_layout(title: str) -> dict[str, object]:
    figure_layout = layout(title, "%")
    figure_layout["yaxis"] = {"title": {"text": "%"}, "range": [0, 112]}
    figure_layout["barmode"] = "group"
    figure_layout["legend"] = {"orientation": "h", "y": -0.25}
    return figure_layout


def _bar(frame: pd.DataFrame, x: str, column: str, name: str, color: str) -> dict[str, object]:
    return {
        "type": "bar",
        "name": name,
        "x": frame[x].tolist(),
        "y": values(frame[column]),
        "marker": {"color": color},
        # the value on the bar: a 0 % bar is otherwise indistinguishable from no figure
        "texttemplate": "%{y:.0f}",
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{x}: %{y} %<extra>" + name + "</extra>",
    }


def _sla_chart(frame: pd.DataFrame) -> Figure:
    return {
        "data": [
            _bar(frame, "group", "first_response_compliance_pct", "first response", BAR),
            _bar(frame, "group", "resolution_compliance_pct", "resolution", BAR_2),
        ],
        "layout": _percent_layout("Share of SLA targets met, by contract tier"),
    }


def _ftf(conn: Conn, period: Period, ctx: ReportContext) -> pd.DataFrame:
    return first_time_fix(tickets_frame(conn, period.start, period.end))


def _ftf_chart(frame: pd.DataFrame) -> Figure:
    figure_layout = _percent_layout("First-time-fix rate, by model")
    return {
        "data": [
            {
                **_bar(frame, "group", "first_time_fix_pct", "first-time fix", BAR_3),
                "customdata": frame[["resolved", "first_time_fixes"]].values.tolist(),
                "hovertemplate": "%{x}: %{y} %<br>%{customdata[1]} of %{customdata[0]} "
                "resolved tickets<extra></extra>",
            }
        ],
        "layout": figure_layout,
    }


def _satisfaction(conn: Conn, period: Period, ctx: ReportContext) -> pd.DataFrame:
    return satisfaction_by_week(
        answers_frame(conn, period.start, period.end), period.start, period.end
    )


def _satisfaction_chart(frame: pd.DataFrame) -> Figure:
    figure_layout = layout("CSAT % and NPS per week", "CSAT %")
    # two scales on one grid: CSAT 0, 25 ... 100 and NPS -100, -50 ... 100 share gridlines
    figure_layout["yaxis"] = {
        "title": {"text": "CSAT %"},
        "range": [-5, 105],
        "tickvals": [0, 25, 50, 75, 100],
        "zeroline": False,
    }
    figure_layout["yaxis2"] = {
        "title": {"text": "NPS"},
        "range": [-110, 110],
        "tickvals": [-100, -50, 0, 50, 100],
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "zeroline": False,
    }
    figure_layout["margin"] = {"l": 56, "r": 56, "t": 56, "b": 96}
    figure_layout["legend"] = {"orientation": "h", "y": -0.3}
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "CSAT %",
                "x": frame["week"].tolist(),
                "y": values(frame["csat_pct"]),
                "line": {"color": BAR},
                "customdata": frame["csat_answers"].tolist(),
                "hovertemplate": "week of %{x}: CSAT %{y} % (%{customdata} answers)<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "NPS",
                "yaxis": "y2",
                "x": frame["week"].tolist(),
                "y": values(frame["nps"]),
                "line": {"color": BAR_2, "dash": "dot"},
                "customdata": frame["nps_answers"].tolist(),
                "hovertemplate": "week of %{x}: NPS %{y} (%{customdata} answers)<extra></extra>",
            },
        ],
        "layout": figure_layout,
    }


def _comparison(conn: Conn, period: Period, ctx: ReportContext) -> pd.DataFrame:
    tickets, history, outcomes = _outcomes(conn, period, ctx)
    answers = ticket_answers_frame(conn, period.start, period.end)
    return compare_kinds(tickets, history, outcomes, answers)


MEASURES: Final = {  # short, two-line labels: four groups fit a phone's width unrotated
    "first_response_sla_pct": "response<br>SLA met",
    "resolution_sla_pct": "resolution<br>SLA met",
    "first_time_fix_pct": "first-time<br>fix",
    "csat_pct": "CSAT",
}


def _comparison_chart(frame: pd.DataFrame) -> Figure:
    def kind(name: str, color: str) -> dict[str, object]:
        row = frame[frame["kind"] == name].iloc[0]
        return {
            "type": "bar",
            "name": name,
            "x": list(MEASURES.values()),
            "y": values(pd.Series([row[c] for c in MEASURES])),
            "marker": {"color": color},
            "texttemplate": "%{y:.0f}",
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": "%{x}: %{y} %<extra>" + name + "</extra>",
        }

    figure_layout = _percent_layout("Proactive against reactive tickets, in %")
    figure_layout["xaxis"] = {"type": "category", "tickangle": 0, "automargin": True}
    return {"data": [kind("proactive", BAR), kind("reactive", BAR_2)], "layout": figure_layout}


_SLA_TEXT = (
    "Tickets created in the period, per contract tier: for each SLA clock (first response, "
    "resolution; business hours, the tier's targets per priority), how many met their "
    "target, how many missed it (also any the SLA job recorded as breached), how many are "
    "still open, and compliance % = met / (met + missed)."
)

SERVICE_REPORTS: Final = (
    Report("sla-compliance", "SLA compliance", _SLA_TEXT, _sla, _sla_chart),
    Report(
        "first-time-fix",
        "First-time-fix rate",
        "Tickets created in the period and resolved with a first-time-fix record, per "
        "device model (tickets about no device together): how many, how many were fixed at "
        "the first visit, and the rate in %.",
        _ftf,
        _ftf_chart,
    ),
    Report(
        "satisfaction",
        "CSAT and NPS over time",
        "Survey answers given in the period, per ISO week (Monday, UTC): CSAT % = answers of "
        "4 or 5 out of all CSAT answers; NPS = % promoters (9-10) - % detractors (0-6), "
        "passives (7-8) counting in the denominator. Fewer than about 30 answers in a week "
        "make its figure unreliable.",
        _satisfaction,
        _satisfaction_chart,
    ),
    Report(
        "proactive-vs-reactive",
        "Proactive against reactive",
        "Tickets created in the period, proactive against reactive, on the same measures: "
        "median hours to first response and to resolution (as in the ticket-times report), "
        "SLA compliance of both clocks, first-time-fix rate, and CSAT % and NPS of their "
        "surveys.",
        _comparison,
        _comparison_chart,
    ),
)
