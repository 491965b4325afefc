"""Rollups of readings: per device, metric and 5-minute or 1-hour bucket, count, min, sum, max.

Where TimescaleDB has continuous aggregates the rollups are continuous aggregates (migration
0018) and TimescaleDB keeps them, late data included (it tracks invalidations). Elsewhere
they are plain tables and :func:`refresh_rollups` keeps them: every run aggregates the
readings from ``lookback`` before the last complete bucket up to the newest complete one,
a day per transaction (delete the slice's buckets, insert them again: idempotent), and moves
``rollup_watermarks.complete_until`` on. The chart query aggregates readings newer than the
watermark on the fly, so a chart is never behind the job.

Late data: a reading that arrives later than the lookback (``rollup_lookback_h``, every
run) is counted by the daily deep run (``rollup_late_days``); one later still is in the
readings (raw charts show it) but not in the rollups until
``careline readings rollup --since`` is run over its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, LiteralString

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import database_errors

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SLICE: Final = timedelta(days=1)
EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Rollup:
    name: LiteralString
    width: timedelta


ROLLUPS: Final = (
    Rollup("readings_5m", timedelta(minutes=5)),
    Rollup("readings_1h", timedelta(hours=1)),
)


@dataclass(frozen=True, slots=True)
class RollupReport:
    rollup: str
    start: datetime | None
    until: datetime | None
    buckets: int


def floor_to(value: datetime, width: timedelta) -> datetime:
    """The start of the bucket of ``width`` that ``value`` is in (buckets start at 2000-01-01)."""
    return EPOCH + ((value - EPOCH) // width) * width


def is_continuous_aggregate(conn: psycopg.Connection[TupleRow], name: str) -> bool:
    """Whether ``name`` is a TimescaleDB continuous aggregate (a view), not our table."""
    row = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (name,))
    found = row.fetchone()
    return found is not None and found[0] == "v"


def _refresh_slice(
    conn: psycopg.Connection[TupleRow], rollup: Rollup, start: datetime, end: datetime
) -> int:
    conn.execute(
        f"DELETE FROM {rollup.name} WHERE bucket >= %s AND bucket < %s",
        (start, end),
    )
    inserted = conn.execute(
        f"INSERT INTO {rollup.name} (device_id, metric_id, bucket, n, vmin, vsum, vmax) "
        "SELECT device_id, metric_id, date_bin(%s, ts, %s) AS bucket, "
        "count(*), min(value), sum(value), max(value) "
        "FROM readings WHERE ts >= %s AND ts < %s GROUP BY device_id, metric_id, bucket",
        (rollup.width, EPOCH, start, end),
    ).rowcount
    return max(inserted, 0)


def refresh_rollup(
    pool: Pool, rollup: Rollup, now: datetime, lookback: timedelta, since: datetime | None = None
) -> RollupReport:
    """Aggregate ``rollup`` up to the newest complete bucket before ``now``.

    From ``lookback`` before its watermark, or from ``since`` when given (a manual run over
    old readings that arrived very late).
    """
    until = floor_to(now, rollup.width)
    with database_errors():
        with pool.connection() as conn:
            if is_continuous_aggregate(conn, rollup.name):
                return RollupReport(rollup.name, None, None, 0)
            row = conn.execute(
                "SELECT complete_until FROM rollup_watermarks WHERE name = %s", (rollup.name,)
            ).fetchone()
            mark = row[0] if row else None
            if since is not None:
                start = floor_to(since, rollup.width)
            elif mark is None:
                first = conn.execute("SELECT min(ts) FROM readings").fetchone()
                start = floor_to(first[0], rollup.width) if first and first[0] else until
            else:
                start = floor_to(min(mark, until) - lookback, rollup.width)
        buckets = 0
        slice_start = start
        while slice_start < until:
            slice_end = min(slice_start + SLICE, until)
            with pool.connection() as conn:
                buckets += _refresh_slice(conn, rollup, slice_start, slice_end)
                conn.execute(
                    "INSERT INTO rollup_watermarks (name, width_s, complete_until) "
                    "VALUES (%s, %s, %s) ON CONFLICT (name) DO UPDATE "
                    "SET complete_until = GREATEST(rollup_watermarks.complete_until, "
                    "EXCLUDED.complete_until)",
                    (rollup.name, int(rollup.width.total_seconds()), slice_end),
                )
            slice_start = slice_end
        if start >= until:
            with pool.connection() as conn:
                conn.execute(
                    "UPDATE rollup_watermarks SET complete_until = %s "
                    "WHERE name = %s AND (complete_until IS NULL OR complete_until < %s)",
                    (until, rollup.name, until),
                )
    return RollupReport(rollup.name, start, until, buckets)


def refresh_rollups(
    pool: Pool, now: datetime, lookback: timedelta, since: datetime | None = None
) -> list[RollupReport]:
    """Every rollup, brought up to ``now`` (see :func:`refresh_rollup`)."""
    return [refresh_rollup(pool, rollup, now, lookback, since) for rollup in ROLLUPS]
