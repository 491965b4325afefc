"""Writing a batch to PostgreSQL in one transaction: readings, dead letters, faults, tickets.

Readings go by binary COPY into a temporary staging table and from there into ``readings``
with ``ON CONFLICT DO NOTHING``: COPY alone cannot skip duplicates, and QoS 1 makes
duplicates normal. Times travel as float epoch seconds and become ``timestamptz`` in the
server, which is cheaper than building a datetime per reading in Python.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from alerts.proactive import FaultOutcome, record_fault_events
from crm_core.db.errors import DatabaseUnavailable, database_errors
from devices.catalog import Catalog
from devices.detector_state import UPSERT_STATE
from ingest.batch import Batch
from ingest.messages import Rejection

log = logging.getLogger(__name__)

STAGING_DDL = """
CREATE TEMPORARY TABLE IF NOT EXISTS readings_in (
    device_id integer, metric_id smallint, ts double precision,
    value double precision, received double precision
) ON COMMIT DELETE ROWS
"""
MERGE_READINGS = """
INSERT INTO readings (device_id, metric_id, ts, value, received_at)
SELECT device_id, metric_id, to_timestamp(ts), value, to_timestamp(received) FROM readings_in
ON CONFLICT DO NOTHING
"""
UPSERT_STATUS = """
INSERT INTO device_status (device_id, last_seen_at, last_received_at)
SELECT d, to_timestamp(s), to_timestamp(r)
  FROM unnest(%s::integer[], %s::float8[], %s::float8[]) AS t(d, s, r)
ON CONFLICT (device_id) DO UPDATE
   SET last_seen_at = greatest(device_status.last_seen_at, excluded.last_seen_at),
       last_received_at = greatest(device_status.last_received_at, excluded.last_received_at)
"""
UPSERT_DEAD_LETTER = """
INSERT INTO dead_letters (digest, topic, payload, reason, detail, received_at, last_received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (digest) DO UPDATE
   SET occurrences = dead_letters.occurrences + 1,
       last_received_at = greatest(dead_letters.last_received_at, excluded.last_received_at)
"""
COPY_TYPES = ["int4", "int2", "float8", "float8", "float8"]


def message_digest(topic: str, payload: bytes) -> bytes:
    return hashlib.sha256(topic.encode() + b"\x00" + payload).digest()


@dataclass(frozen=True, slots=True)
class WriteResult:
    readings_inserted: int
    dead_letters: int
    faults: FaultOutcome


class BatchStore:
    """Writes batches over one dedicated connection taken from the pool."""

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[TupleRow]],
        catalog: Catalog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        status_every_s: float = 10.0,
    ) -> None:
        self._pool = pool
        self._catalog = catalog
        self._clock = clock
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._status_every_s = status_every_s
        self._status_written: dict[int, float] = {}

    def _connection(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._pool.putconn(self._conn)
            self._conn = self._pool.getconn(timeout=5.0)
            self._conn.execute(STAGING_DDL)
            self._conn.commit()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._pool.putconn(self._conn)
            self._conn = None

    def _status_rows(self, batch: Batch) -> tuple[list[int], list[float], list[float]]:
        """Devices whose last-seen time is due for a write (at most every few seconds)."""
        ids: list[int] = []
        seen: list[float] = []
        received: list[float] = []
        written = self._status_written
        for device_id, (last_seen, last_received) in batch.seen.items():
            if last_received - written.get(device_id, 0.0) >= self._status_every_s:
                ids.append(device_id)
                seen.append(last_seen)
                received.append(last_received)
        return ids, seen, received

    def write(self, batch: Batch) -> WriteResult:
        """Commit the batch; raise :class:`DatabaseUnavailable` if the database is away."""
        try:
            with database_errors():
                return self._write(batch)
        except DatabaseUnavailable:
            if self._conn is not None:  # a broken connection goes back to the pool closed
                try:
                    self._conn.close()
                finally:
                    self._pool.putconn(self._conn)
                    self._conn = None
            raise

    def _write(self, batch: Batch) -> WriteResult:
        conn = self._connection()
        inserted = 0
        status = self._status_rows(batch)
        with conn.transaction():
            if batch.rows:
                with conn.cursor() as cur:
                    with cur.copy(
                        "COPY readings_in (device_id, metric_id, ts, value, received) "
                        "FROM STDIN (FORMAT BINARY)"
                    ) as copy:
                        copy.set_types(COPY_TYPES)
                        write_row = copy.write_row
                        for row in batch.rows:
                            write_row(row)
                    cur.execute(MERGE_READINGS)
                    inserted = max(cur.rowcount, 0)
            if status[0]:
                conn.execute(UPSERT_STATUS, status)
            if batch.rejections:
                conn.cursor().executemany(
                    UPSERT_DEAD_LETTER, [self._dead_letter(r) for r in batch.rejections]
                )
            if batch.checkpoints:
                conn.cursor().executemany(
                    UPSERT_STATE,
                    [{"device_id": d, "state": state} for d, state in batch.checkpoints],
                )
            outcome = (
                record_fault_events(conn, batch.fault_events, self._catalog, self._clock())
                if batch.fault_events
                else FaultOutcome()
            )
        for device_id, received in zip(status[0], status[2], strict=True):
            self._status_written[device_id] = received
        return WriteResult(inserted, len(batch.rejections), outcome)

    @staticmethod
    def _dead_letter(rejection: Rejection) -> tuple[object, ...]:
        message = rejection.message
        received = datetime.fromtimestamp(message.received_at, UTC)
        return (
            message_digest(message.topic, message.payload),
            message.topic,
            message.payload,
            rejection.reason.value,
            rejection.detail,
            received,
            received,
        )
