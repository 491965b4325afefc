"""A device's charts over one chosen time range: every chart on the page shares its axis.

The range comes from the page's ``span`` (6 h to 90 d, ending now, or at the device's last
reading when it has been silent longer) or from a ticket: around the ticket's faults, from
well before the first onset (a baseline) to after the last clearing. The readings come
bucketed (:func:`devices.ranges.range_series`): a long range is drawn as the buckets'
average with their minimum-maximum band; a boolean metric (a door switch) as steps between
its two states, labelled by name, not as a 0-1 line with 0.2 ticks. A fault is a shaded
span with a marker at its onset and its label inside the plot (not on the title, which
the page writes above the chart); a fault that began before the range says so at the
left edge instead of seeming to start there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from careline.console.charts import FAULT_FILL, FAULT_LINE, SERIES_LINE, fault_label, plotly_time
from devices.faults.queries import FaultSummary
from devices.ranges import RangeSeries

SPANS: Final = {
    "6h": timedelta(hours=6),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_SPAN: Final = "24h"
BAND_FILL: Final = "rgba(31, 95, 160, 0.16)"
# what each boolean metric's two states are called (others: off / on)
STATE_NAMES: Final = {"door_open": ("closed", "open")}
MARGIN: Final = {"l": 60, "r": 12, "t": 8, "b": 36}  # one left edge for every chart


@dataclass(frozen=True, slots=True)
class ChartWindow:
    since: datetime
    until: datetime
    span: str | None  # the SPANS key chosen; None when around a ticket
    note: str = ""

    @property
    def label(self) -> str:
        return f"{plotly_time(self.since)} – {plotly_time(self.until)} UTC"


def window_for(
    now: datetime,
    faults: list[FaultSummary],
    last_seen: datetime | None,
    *,
    span: str | None = None,
    ticket: int | None = None,
) -> ChartWindow:
    """The range to draw: around ``ticket``'s faults, else ``span`` (or the default)."""
    around = [f for f in faults if ticket is not None and f.ticket_id == ticket]
    if around and span is None:
        start = min(f.opened_at for f in around)
        end = max(f.cleared_at or now for f in around)
        pad = max(timedelta(hours=3), (end - start) / 2)
        since = max(start - pad, now - SPANS["90d"])
        return ChartWindow(since, min(end + pad, now), None, f"around ticket #{ticket}")
    chosen = span if span in SPANS else DEFAULT_SPAN
    until = now
    note = ""
    if last_seen is not None and last_seen < now - SPANS[chosen]:
        until = last_seen + timedelta(minutes=5)
        note = "ending at the last reading (the device has been silent since)"
    return ChartWindow(until - SPANS[chosen], until, chosen, note)


def _fault_shapes(
    series: RangeSeries, faults: list[FaultSummary], window: ChartWindow
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    shapes: list[dict[str, object]] = []
    notes: list[dict[str, object]] = []
    shown = [
        f
        for f in faults
        if f.metric == series.metric
        and f.opened_at <= window.until
        and (f.cleared_at is None or f.cleared_at >= window.since)
    ]
    for row, fault in enumerate(sorted(shown, key=lambda f: f.opened_at)):
        began_before = fault.opened_at < window.since
        x0 = plotly_time(max(fault.opened_at, window.since))
        x1 = plotly_time(min(fault.cleared_at or window.until, window.until))
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": x0,
                "x1": x1,
                "y0": 0,
                "y1": 1,
                "fillcolor": FAULT_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        if not began_before:
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": x0,
                    "x1": x0,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": FAULT_LINE, "width": 1.5, "dash": "dot"},
                }
            )
        text = fault_label(fault)
        if began_before:
            text = f"◀ {text}, began {plotly_time(fault.opened_at)} UTC"
        # a label whose span starts in the right half reads leftwards, so that it stays
        # inside the plot on a narrow screen
        start = max(fault.opened_at, window.since)
        leftwards = start - window.since > (window.until - window.since) / 2
        notes.append(
            {
                "x": x1 if leftwards else x0,
                "y": 0.98 - 0.13 * (row % 4),
                "xref": "x",
                "yref": "paper",
                "xanchor": "right" if leftwards else "left",
                "yanchor": "top",
                "xshift": -3 if leftwards else 3,
                "showarrow": False,
                "text": text,
                "font": {"color": FAULT_LINE, "size": 11},
                "bgcolor": "rgba(255, 255, 255, 0.85)",
            }
        )
    return shapes, notes


def _traces(series: RangeSeries) -> tuple[list[dict[str, object]], dict[str, object]]:
    xs = [plotly_time(p.ts) for p in series.points]
    if series.kind == "boolean":
        off, on = STATE_NAMES.get(series.metric, ("off", "on"))
        trace: dict[str, object] = {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            # a bucket in which the switch was on at all is drawn on
            "y": [1 if p.high >= 0.5 else 0 for p in series.points],
            "line": {"color": SERIES_LINE, "width": 1.5, "shape": "hv"},
            "fill": "tozeroy",
            "fillcolor": BAND_FILL,
            "hovertemplate": f"%{{x}} UTC<br>%{{y:d}} ({off} 0, {on} 1)<extra></extra>",
        }
        yaxis: dict[str, object] = {
            "tickvals": [0, 1],
            "ticktext": [off, on],
            "range": [-0.1, 1.15],
            "zeroline": False,
            "fixedrange": True,
        }
        return [trace], yaxis
    unit = series.unit if series.unit not in ("", "/") else ""
    traces: list[dict[str, object]] = []
    if any(p.n > 1 for p in series.points):
        traces += [
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": [p.high for p in series.points],
                "line": {"width": 0},
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": [p.low for p in series.points],
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": BAND_FILL,
                "hoverinfo": "skip",
            },
        ]
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            "y": [round(p.mean, 3) for p in series.points],
            "customdata": [[p.low, p.high, p.n] for p in series.points],
            "line": {"color": SERIES_LINE, "width": 1.5},
            "hovertemplate": "%{x} UTC<br>%{y}"
            + (f" {unit}" if unit else "")
            + " (min %{customdata[0]}, max %{customdata[1]}, %{customdata[2]} readings)"
            + "<extra></extra>",
        }
    )
    # the unit is in the chart's heading: no axis title, more room for the plot on a phone
    return traces, {"zeroline": False}


def metric_figure(
    series: RangeSeries, faults: list[FaultSummary], window: ChartWindow
) -> dict[str, object]:
    """One metric over ``window`` (the same x range as every other chart of the page)."""
    traces, yaxis = _traces(series)
    shapes, notes = _fault_shapes(series, faults, window)
    return {
        "data": traces,
        "layout": {
            "height": 220 if series.kind == "boolean" else 260,
            "margin": MARGIN,
            "xaxis": {
                "type": "date",
                "range": [plotly_time(window.since), plotly_time(window.until)],
                "title": {"text": ""},
            },
            "yaxis": yaxis,
            "shapes": shapes,
            "annotations": notes,
            "showlegend": False,
            "hovermode": "x",
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
        },
    }
