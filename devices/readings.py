"""Readings of one device as chart-ready series, one per metric.

Each metric is queried on its own with ``ORDER BY ts DESC LIMIT n`` so that the unique
``(device_id, metric_id, ts)`` index serves it (a backward index scan that stops after n
rows), whatever the size of the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.read_models import ReadModel, UtcDateTime
from devices.catalog import Catalog

DEFAULT_POINTS = 500
MAX_POINTS = 5000


class ReadingPoint(ReadModel):
    ts: UtcDateTime
    value: float


class MetricSeries(ReadModel):
    """One metric's readings, oldest first."""

    metric: str
    label: str
    unit: str
    points: list[ReadingPoint]


def _query(since: datetime | None, until: datetime | None) -> LiteralString:
    query: LiteralString = "SELECT ts, value FROM readings WHERE device_id = %s AND metric_id = %s"
    if since is not None:
        query += " AND ts >= %s"
    if until is not None:
        query += " AND ts <= %s"
    return query + " ORDER BY ts DESC LIMIT %s"


def metric_series(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    device_id: int,
    device_type: str,
    *,
    metrics: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_POINTS,
) -> list[MetricSeries]:
    """The last ``limit`` readings per metric (within [since, until] when given).

    ``metrics`` defaults to every metric the device type measures; metrics with no
    readings come back with no points, in catalog order.
    """
    if not 1 <= limit <= MAX_POINTS:
        raise ValueError(f"limit must be between 1 and {MAX_POINTS}, got {limit}")
    kind = catalog.device_types.get(device_type)
    specs = kind.metrics if kind is not None else {}
    keys = list(specs) if metrics is None else metrics
    ids: dict[str, int] = dict(
        conn.execute("SELECT key, id FROM metrics WHERE key = ANY(%s)", (keys,)).fetchall()
    )
    query = _query(since, until)
    series = []
    for key in keys:
        spec = specs.get(key)
        points: list[ReadingPoint] = []
        if key in ids:
            params: list[object] = [device_id, ids[key]]
            params += [t for t in (since, until) if t is not None]
            params.append(limit)
            rows = conn.execute(query, params).fetchall()
            points = [ReadingPoint(ts=ts, value=value) for ts, value in reversed(rows)]
        series.append(
            MetricSeries(
                metric=key,
                label=spec.label if spec else key,
                unit=spec.unit if spec else "",
                points=points,
            )
        )
    return series
