"""Plotly figures for the console, built as plain dicts (plotly.js draws them in the page).

Times are given to plotly.js as naive UTC strings: plotly.js has no time zones and would
otherwise show them in the browser's; the axis says UTC instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from devices.faults.queries import FaultSummary
from devices.product_issues.queries import RateReport

FAULT_FILL = "rgba(214, 39, 40, 0.14)"
FAULT_LINE = "rgb(190, 30, 45)"
SERIES_LINE = "rgb(31, 95, 160)"


def plotly_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def fault_label(fault: FaultSummary) -> str:
    return f"fault #{fault.id} score {fault.score:.2f} ≥ {fault.threshold:g}"


def rate_figure(rates: RateReport, group: str) -> dict[str, object]:
    """Two bars: the affected group's fault rate against the rest of the fleet's."""
    sides = [(group, rates.group), ("rest of the fleet", rates.rest)]
    return {
        "data": [
            {
                "type": "bar",
                "x": [name for name, _ in sides],
                "y": [rate.per_100_device_days or 0.0 for _, rate in sides],
                "marker": {"color": [FAULT_LINE, SERIES_LINE]},
                "customdata": [[rate.devices, rate.device_days, rate.faults] for _, rate in sides],
                "hovertemplate": "%{x}<br>%{y} faults per 100 device-days<br>"
                "%{customdata[0]} devices, %{customdata[1]} device-days, "
                "%{customdata[2]} faults<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": "Faults per 100 device-days", "x": 0, "font": {"size": 15}},
            "height": 280,
            "margin": {"l": 56, "r": 16, "t": 48, "b": 40},
            "xaxis": {"type": "category"},
            "yaxis": {"rangemode": "tozero"},
            "showlegend": False,
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
        },
    }


BAND_FILL = "rgba(44, 160, 44, 0.12)"


def leg_figure(
    temps: Sequence[tuple[float, float]],
    band: Sequence[object] | None,
    excursions: Sequence[Sequence[object]],
) -> dict[str, object]:
    """A leg's temperature over time, its products' labelled range as a band and its
    excursions shaded."""
    points = sorted(temps)
    xs = [plotly_time(datetime.fromtimestamp(t, UTC)) for t, _ in points]
    shapes: list[dict[str, object]] = []
    if band is not None and band[0] is not None and band[1] is not None:
        shapes.append(
            {
                "type": "rect",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": band[0],
                "y1": band[1],
                "fillcolor": BAND_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    for start, end, *_ in excursions:
        assert isinstance(start, datetime)
        assert isinstance(end, datetime)
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": plotly_time(start.astimezone(UTC)),
                "x1": plotly_time(end.astimezone(UTC)),
                "y0": 0,
                "y1": 1,
                "fillcolor": FAULT_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": [v for _, v in points],
                "name": "load temperature",
                "line": {"color": SERIES_LINE, "width": 1.5},
            }
        ],
        "layout": {
            "margin": {"l": 48, "r": 12, "t": 12, "b": 40},
            "height": 260,
            "xaxis": {"title": {"text": "UTC"}},
            "yaxis": {"title": {"text": "°C"}},
            "shapes": shapes,
            "showlegend": False,
        },
    }
