"""What a report is: a name, a title, a computation over a :class:`Period` and a chart.

A report covers whole UTC days, ``first`` to ``last`` inclusive. Its computation gets a
:class:`ReportContext`: the SLA policies and business calendar of the settings (so that
SLA figures are the ones the ticket pages show) and the moment it is computed at (an SLA
clock still running is judged as of then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import pandas as pd
import psycopg
from psycopg.rows import TupleRow

from crm_core.tickets.queries import SlaContext

MAX_DAYS: Final = 366
BAR = "rgb(31, 95, 160)"
BAR_2 = "rgb(230, 126, 34)"
BAR_3 = "rgb(39, 174, 96)"


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


@dataclass(frozen=True, slots=True)
class ReportContext:
    """What a computation needs besides the data: SLA policies and calendar, and now."""

    sla: SlaContext
    now: datetime


Figure = dict[str, object]
Compute = Callable[[psycopg.Connection[TupleRow], Period, ReportContext], pd.DataFrame]


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    title: str
    description: str
    compute: Compute
    chart: Callable[[pd.DataFrame], Figure]


def layout(title: str, y_title: str) -> dict[str, object]:
    """The plotly layout every report chart starts from."""
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "height": 340,
        "margin": {"l": 56, "r": 16, "t": 56, "b": 96},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "xaxis": {"type": "category", "automargin": True},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }


def values(series: pd.Series) -> list[float | None]:
    """A column as chart values: NaN and None become gaps."""
    return [None if pd.isna(v) else float(v) for v in series]
