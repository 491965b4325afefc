"""Readings retention: old readings go, whole chunks where TimescaleDB has them.

With a hypertable (TimescaleDB, either licence) every chunk that lies wholly before the
cutoff and overlaps no traceability hold (:mod:`devices.lifecycle.holds`) is dropped with
``drop_chunks``, which frees its disk at once and never scans a row. What is left before the
cutoff (a chunk that holds a logger's leg, the chunk the cutoff falls in, or every reading
on plain PostgreSQL) is deleted row by row, device by device, in slices, skipping held
windows, so that each transaction stays short and ingest never waits long behind the job.

TimescaleDB's own retention policy (``add_retention_policy``) is not used, even where the
licence has it: it drops every chunk older than the cutoff and cannot spare held readings.

Rollups outlive readings (``rollup_retention_days``): a long-range chart still has its
5-minute and hourly minima, averages and maxima after the readings behind them are gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import database_errors
from devices.lifecycle.holds import Hold, held_windows
from devices.lifecycle.rollups import ROLLUPS, is_continuous_aggregate
from devices.lifecycle.settings import LifecycleSettings

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SLICE: Final = 10_000

_OLD_CHUNKS = """
SELECT range_start, range_end FROM timescaledb_information.chunks
 WHERE hypertable_schema = current_schema() AND hypertable_name = 'readings'
   AND range_end <= %s
 ORDER BY range_start
"""

_DEVICES_WITH_OLD = "SELECT DISTINCT device_id FROM readings WHERE ts < %s ORDER BY device_id"

# The unique (device_id, metric_id, ts) key names a row on a hypertable too (ctid does not:
# each chunk has its own).
_DELETE_SLICE = """
DELETE FROM readings r
 USING (SELECT metric_id, ts FROM readings o
         WHERE o.device_id = %(device)s AND o.ts < %(cutoff)s
           AND NOT EXISTS (SELECT 1 FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[])
                                    AS h(start_ts, end_ts)
                            WHERE o.ts >= h.start_ts AND o.ts <= h.end_ts)
         LIMIT %(slice)s) AS old
 WHERE r.device_id = %(device)s AND r.metric_id = old.metric_id AND r.ts = old.ts
"""


@dataclass(frozen=True, slots=True)
class RetentionReport:
    cutoff: datetime
    chunks_dropped: int
    chunks_kept_for_holds: int
    rows_deleted: int
    holds: int
    rollup_rows_deleted: int

    def describe(self) -> str:
        return (
            f"readings before {self.cutoff.isoformat()}: {self.chunks_dropped} chunks dropped, "
            f"{self.rows_deleted} rows deleted; {self.holds} logger windows held for "
            f"traceability ({self.chunks_kept_for_holds} old chunks kept for them); "
            f"{self.rollup_rows_deleted} old rollup rows deleted"
        )


def _is_hypertable(conn: psycopg.Connection[TupleRow]) -> bool:
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone() is None:
        return False
    row = conn.execute(
        "SELECT 1 FROM timescaledb_information.hypertables "
        "WHERE hypertable_schema = current_schema() AND hypertable_name = 'readings'"
    ).fetchone()
    return row is not None


def _drop_chunks(pool: Pool, cutoff: datetime, holds: list[Hold]) -> tuple[int, int]:
    dropped = kept = 0
    with pool.connection() as conn:
        chunks = conn.execute(_OLD_CHUNKS, (cutoff,)).fetchall()
    for start, end in chunks:
        if any(hold.overlaps(start, end) for hold in holds):
            kept += 1
            continue
        with pool.connection() as conn:
            # older_than and newer_than together name exactly this chunk's range
            conn.execute(
                "SELECT drop_chunks('readings', older_than => %s::timestamptz, "
                "newer_than => %s::timestamptz)",
                (end, start),
            )
        dropped += 1
    return dropped, kept


def _delete_rows(pool: Pool, cutoff: datetime, holds: list[Hold]) -> int:
    by_device: dict[int, list[Hold]] = {}
    for hold in holds:
        by_device.setdefault(hold.device_id, []).append(hold)
    with pool.connection() as conn:
        devices = [row[0] for row in conn.execute(_DEVICES_WITH_OLD, (cutoff,))]
    deleted = 0
    for device in devices:
        held = by_device.get(device, [])
        params = {
            "device": device,
            "cutoff": cutoff,
            "starts": [h.start for h in held],
            "ends": [h.end for h in held],
            "slice": SLICE,
        }
        while True:
            with pool.connection() as conn:
                count = max(conn.execute(_DELETE_SLICE, params).rowcount, 0)
            deleted += count
            if count < SLICE:
                break
    return deleted


def _prune_rollups(pool: Pool, before: datetime) -> int:
    deleted = 0
    with pool.connection() as conn:
        for rollup in ROLLUPS:
            if is_continuous_aggregate(conn, rollup.name):
                conn.execute(
                    "SELECT drop_chunks(%s::regclass, older_than => %s::timestamptz)",
                    (rollup.name, before),
                )
            else:
                query = f"DELETE FROM {rollup.name} WHERE bucket < %s"
                deleted += max(conn.execute(query, (before,)).rowcount, 0)
    return deleted


def purge_readings(pool: Pool, now: datetime, settings: LifecycleSettings) -> RetentionReport:
    """Drop readings older than the retention, except those held for traceability."""
    cutoff = now - timedelta(days=settings.readings_retention_days)
    kept_since = now - timedelta(days=settings.traceability_retention_days)
    with database_errors():
        with pool.connection() as conn:
            holds = held_windows(conn, kept_since)
            hypertable = _is_hypertable(conn)
        dropped, kept = _drop_chunks(pool, cutoff, holds) if hypertable else (0, 0)
        rows = _delete_rows(pool, cutoff, holds)
        rollup_rows = _prune_rollups(pool, now - timedelta(days=settings.rollup_retention_days))
    return RetentionReport(cutoff, dropped, kept, rows, len(holds), rollup_rows)
