"""Writing a batch to PostgreSQL in one transaction: readings, dead letters, and the events.

The batch's domain events (faults the detectors opened or cleared) go to the event bus,
whose handlers (registered by ``careline.bootstrap``: recording faults, the alerts rules)
write in the same transaction; ingest itself knows nothing of faults' tables or tickets.

A failed write is sorted into one of two kinds (:func:`crm_core.kernel.errors.caused_by_data`):
:class:`DatabaseUnavailable`, which waiting cures, and :class:`UnstorableBatch`, which it
does not; the worker waits out the first and isolates the message behind the second
(:mod:`ingest.committer`). Text that came from a message is made storable
(:mod:`ingest.storable`) before it reaches SQL.

Readings go by binary COPY into a temporary staging table and from there into ``readings``
with ``ON CONFLICT DO NOTHING``: COPY alone cannot skip duplicates, and QoS 1 makes
duplicates normal. Times travel as float epoch seconds and become ``timestamptz`` in the
server, which is cheaper than building a datetime per reading in Python.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import DatabaseUnavailable, caused_by_data, database_errors
from crm_core.kernel.events import Event, EventBus
from crm_core.kernel.uow import PostgresUnitOfWork
from devices.detector_state import UPSERT_STATE
from devices.stored import ReadingsStored
from ingest.batch import Batch
from ingest.messages import IngestError, RawMessage, Rejection
from ingest.outcome import FaultOutcome, WriteResult
from ingest.storable import TOPIC_CHARS, storable

log = logging.getLogger(__name__)
_R = TypeVar("_R")

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
INSERT INTO dead_letters (digest, topic, payload, payload_complete, reason, detail,
                          received_at, last_received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (digest) DO UPDATE
   SET occurrences = dead_letters.occurrences + 1,
       last_received_at = greatest(dead_letters.last_received_at, excluded.last_received_at)
"""
COPY_TYPES = ["int4", "int2", "float8", "float8", "float8"]


INSERT_QUARANTINE = "INSERT INTO quarantine (topic, payload, error) VALUES (%s, %s, %s)"
DEFAULT_REASON_CHARS = 2000


class UnstorableBatch(IngestError):
    """The database refused the batch because of what it carries (SQLSTATE 22, 23, 54, or a
    value psycopg could not send): writing it again as it is would fail again."""


def message_digest(message: RawMessage) -> bytes:
    """What identifies a message among dead letters: the same bytes on the same topic.

    For an oversized message, whose payload is only its head, the digest of the whole
    payload stands in for it.
    """
    topic = message.topic.encode("utf-8", "surrogatepass")
    body = message.payload if message.oversized is None else message.oversized.sha256
    return hashlib.sha256(topic + b"\x00" + body).digest()


class BatchStore:
    """Writes batches over one dedicated connection taken from the pool."""

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[TupleRow]],
        *,
        bus: EventBus | None = None,
        status_every_s: float = 10.0,
        max_reason_chars: int = DEFAULT_REASON_CHARS,
    ) -> None:
        self._pool = pool
        self._max_reason_chars = max_reason_chars
        self._bus = bus if bus is not None else EventBus()
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
        """Commit the batch, or nothing of it.

        Raises :class:`DatabaseUnavailable` when time may cure the failure (the database
        is away, a serialization failure, a schema that needs an operator) and
        :class:`UnstorableBatch` when something in the batch was refused.
        """
        return self._guarded(lambda: self._write(batch))

    def quarantine(self, message: RawMessage, error: str) -> None:
        """Keep a message that could not even be dead-lettered, byte for byte.

        The quarantine table has only ``bytea`` columns (and a time the server fills in):
        nothing a message carries can make this insert fail.
        """
        row = (
            message.topic.encode("utf-8", "surrogatepass"),
            message.payload,
            error.encode("utf-8", "surrogatepass"),
        )

        def insert() -> None:
            conn = self._connection()
            with conn.transaction():
                conn.execute(INSERT_QUARANTINE, row)

        self._guarded(insert)

    def _guarded(self, action: Callable[[], _R]) -> _R:
        """Run ``action`` on our connection, with errors sorted into the two kinds."""
        try:
            with database_errors():
                return action()
        except DatabaseUnavailable:
            self._drop_connection()
            raise
        except Exception as exc:
            self._reset_connection()
            if caused_by_data(exc):
                raise UnstorableBatch(f"{type(exc).__name__}: {exc}") from exc
            raise DatabaseUnavailable(
                f"the database refuses the write for a reason no message causes "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def _reset_connection(self) -> None:
        """After a refused write: out of any failed transaction, or a new connection."""
        if self._conn is None:
            return
        try:
            if not self._conn.broken:
                self._conn.rollback()
                return
        except psycopg.Error:
            pass
        self._drop_connection()

    def _drop_connection(self) -> None:
        """A broken connection goes back to the pool closed."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._pool.putconn(self._conn)
                self._conn = None

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
                generations = batch.generations
                conn.cursor().executemany(
                    UPSERT_STATE,
                    [
                        {"device_id": d, "state": state, "generation": generations.get(d, 0)}
                        for d, state in batch.checkpoints
                    ],
                )
            # The events' handlers (faults recorded, the alerts rules) write in this same
            # transaction: the batch and all it causes commit together, or not at all.
            published: list[Event] = list(batch.fault_events)
            if batch.rows and self._bus.handles(ReadingsStored):
                published.insert(0, ReadingsStored(batch.rows))
            events = self._bus.publish(published, PostgresUnitOfWork(conn)) if published else []
        for device_id, received in zip(status[0], status[2], strict=True):
            self._status_written[device_id] = received
        return WriteResult(inserted, len(batch.rejections), FaultOutcome.of(events))

    def _dead_letter(self, rejection: Rejection) -> tuple[object, ...]:
        message = rejection.message
        received = datetime.fromtimestamp(message.received_at, UTC)
        return (
            message_digest(message),
            storable(message.topic, TOPIC_CHARS),
            message.payload,
            message.oversized is None,
            rejection.reason.value,
            storable(rejection.detail, self._max_reason_chars),
            received,
            received,
        )
