"""A device's readings over a time range, in at most a bounded number of points.

A chart of 90 days of a reading a minute would be 130 000 points per metric: too many to
send, let alone draw. :func:`range_series` divides the range into at most ``points``
equal buckets and returns, per bucket, the count, minimum, average and maximum. It reads
the coarsest source that still resolves the bucket: the readings themselves (bucket under
5 minutes: at a reading a minute most buckets hold one reading and show it as it is), the
5-minute rollup, or the hourly one (:mod:`devices.lifecycle.rollups`). Readings newer than a
rollup's watermark are aggregated from the readings table on the fly, so a chart is never
behind the rollup job. Whatever the range, a series has at most ``points`` points.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final, Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.read_models import ReadModel, UtcDateTime
from devices.catalog import Catalog, MetricKind

MAX_CHART_POINTS: Final = 2000
DEFAULT_CHART_POINTS: Final = 800
ORIGIN: Final = datetime(2000, 1, 1, tzinfo=UTC)
Source = Literal["readings", "readings_5m", "readings_1h"]
_ROLLUP_WIDTHS: Final[tuple[tuple[Source, timedelta], ...]] = (
    ("readings_5m", timedelta(minutes=5)),
    ("readings_1h", timedelta(hours=1)),
)


class BucketPoint(ReadModel):
    """One bucket: its time (the reading's own when it holds one), count, min, mean, max."""

    ts: UtcDateTime
    n: int
    low: float
    mean: float
    high: float


class RangeSeries(ReadModel):
    metric: str
    label: str
    unit: str
    kind: MetricKind
    source: Source
    step_s: float
    points: list[BucketPoint]


def plan(span: timedelta, points: int) -> tuple[Source, timedelta]:
    """The source to read and the bucket width, so that ``span`` gives at most ``points``."""
    if points < 2:
        raise ValueError("a chart needs at least 2 points")
    # rounded up to the microsecond: a range then touches at most ceil(span / step) + 1
    # buckets, which is at most ``points``
    step = -(-span // (points - 1))
    source: Source = "readings"
    for name, width in _ROLLUP_WIDTHS:
        if step >= width:
            source = name
            step = width * -(-step // width)  # a whole number of rollup buckets
    return source, max(step, timedelta(seconds=1))


_RAW: LiteralString = """
SELECT ts AS t, 1::bigint AS n, value AS vmin, value AS vsum, value AS vmax FROM readings
 WHERE device_id = %(device)s AND metric_id = %(metric)s AND ts >= %(since)s AND ts <= %(until)s
"""

_ROLLUP: LiteralString = """
SELECT bucket AS t, n, vmin, vsum, vmax FROM {rollup}
 WHERE device_id = %(device)s AND metric_id = %(metric)s
   AND bucket >= %(since_bucket)s AND bucket <= %(until)s
   AND bucket < COALESCE(
       (SELECT complete_until FROM rollup_watermarks WHERE name = %(rollup)s), '-infinity')
UNION ALL
SELECT ts, 1, value, value, value FROM readings
 WHERE device_id = %(device)s AND metric_id = %(metric)s AND ts >= %(since)s AND ts <= %(until)s
   AND ts >= COALESCE(
       (SELECT complete_until FROM rollup_watermarks WHERE name = %(rollup)s), '-infinity')
"""

_BUCKETED: LiteralString = """
SELECT CASE WHEN count(*) = 1 THEN min(t) ELSE date_bin(%(step)s, t, %(origin)s) END,
       sum(n), min(vmin), sum(vsum) / sum(n), max(vmax)
  FROM ({source}) AS src
 GROUP BY date_bin(%(step)s, t, %(origin)s)
 ORDER BY 1
"""


def range_series(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    device_id: int,
    device_type: str,
    since: datetime,
    until: datetime,
    *,
    points: int = DEFAULT_CHART_POINTS,
    metrics: list[str] | None = None,
) -> list[RangeSeries]:
    """Every metric of the device (or ``metrics``) over [since, until], bucketed."""
    if until <= since:
        raise ValueError("the range must end after it starts")
    if not 2 <= points <= MAX_CHART_POINTS:
        raise ValueError(f"points must be between 2 and {MAX_CHART_POINTS}, got {points}")
    kind = catalog.device_types.get(device_type)
    specs = kind.metrics if kind is not None else {}
    keys = list(specs) if metrics is None else metrics
    ids: dict[str, int] = dict(
        conn.execute("SELECT key, id FROM metrics WHERE key = ANY(%s)", (keys,)).fetchall()
    )
    source, step = plan(until - since, points)
    inner = _RAW if source == "readings" else _ROLLUP.replace("{rollup}", source)
    query = _BUCKETED.replace("{source}", inner)
    width = dict(_ROLLUP_WIDTHS).get(source)
    result = []
    for key in keys:
        spec = specs.get(key)
        rows: list[tuple[datetime, int, float, float, float]] = []
        if key in ids:
            params = {
                "device": device_id,
                "metric": ids[key],
                "since": since,
                "until": until,
                "since_bucket": ORIGIN + ((since - ORIGIN) // width) * width if width else since,
                "rollup": source,
                "step": step,
                "origin": ORIGIN,
            }
            rows = conn.execute(query, params).fetchall()
        result.append(
            RangeSeries(
                metric=key,
                label=spec.label if spec else key,
                unit=spec.unit if spec else "",
                kind=spec.kind if spec else "number",
                source=source,
                step_s=step.total_seconds(),
                points=[
                    BucketPoint(ts=ts, n=n, low=low, mean=mean, high=high)
                    for ts, n, low, mean, high in rows
                ],
            )
        )
    return result
