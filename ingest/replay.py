"""Replaying dead letters after a fix (a device registered, a catalog entry added).

A dead letter goes through the same decoding and validation as a live message (except an
oversized one, of which only the head was kept: it cannot be replayed), with its original
receive time (SenML relative times resolve as they did then). What passes is
written like any batch: idempotently, so readings stored before (the good part of a
partly refused message) are not doubled. The dead letter keeps its row and records when
it was replayed and with what outcome; a still-bad message is not counted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.catalog import Catalog
from devices.metric_ids import sync_metric_ids
from devices.registry import DeviceDirectory, PostgresDeviceSource
from ingest.batch import BatchBuilder
from ingest.messages import RawMessage
from ingest.settings import IngestSettings
from ingest.storable import storable
from ingest.store import BatchStore


@dataclass(frozen=True, slots=True)
class ReplayReport:
    replayed: int
    stored: int
    still_rejected: int


def replay_dead_letters(
    pool: ConnectionPool[psycopg.Connection[TupleRow]],
    catalog: Catalog,
    limits: IngestSettings,
    topic_root: str,
    ids: list[int] | None = None,
) -> ReplayReport:
    """Replay the dead letters ``ids`` (None: every one not yet stored by a replay)."""
    with pool.connection() as conn:
        if ids is None:
            rows = conn.execute(
                "SELECT id, topic, payload, received_at, payload_complete FROM dead_letters "
                "WHERE replay_outcome IS DISTINCT FROM 'stored' ORDER BY id"
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT id, topic, payload, received_at, payload_complete FROM dead_letters "
                "WHERE id = ANY(%s) ORDER BY id",
                (ids,),
            ).fetchall()
        metric_ids = sync_metric_ids(conn, catalog)
    if not rows:
        return ReplayReport(0, 0, 0)

    builder = BatchBuilder(
        catalog,
        DeviceDirectory(PostgresDeviceSource(pool)),
        metric_ids,
        None,  # replayed readings are history: detectors only judge live data
        topic_root=topic_root,
        future_tolerance_s=limits.future_tolerance_s,
        past_tolerance_s=limits.past_tolerance_s,
        max_readings=limits.max_readings_per_message,
    )
    letters = [(row[0], RawMessage(str(row[1]), bytes(row[2]), row[3].timestamp())) for row in rows]
    whole = [message for (_, message), row in zip(letters, rows, strict=True) if row[4]]
    batch = builder.build(whole)
    refused = {id(r.message): r for r in batch.rejections}
    batch.rejections = []  # already dead letters: record the outcome instead of a new row

    store = BatchStore(pool, max_reason_chars=limits.max_reason_chars)
    try:
        store.write(batch)
    finally:
        store.close()

    now = datetime.now(UTC)
    outcomes = []
    kept = {id(message) for message in whole}
    for letter_id, message in letters:
        rejection = refused.get(id(message))
        if id(message) not in kept:
            outcome = "not replayable: only the head of this oversized payload was kept"
        elif rejection is None:
            outcome = "stored"
        else:
            outcome = storable(
                f"still rejected: {rejection.reason.value}: {rejection.detail}",
                limits.max_reason_chars,
            )
        outcomes.append((now, outcome, letter_id))
    with pool.connection() as conn, conn.transaction():
        conn.cursor().executemany(
            "UPDATE dead_letters SET replayed_at = %s, replay_outcome = %s WHERE id = %s",
            outcomes,
        )
    stored = sum(1 for _, outcome, _ in outcomes if outcome == "stored")
    return ReplayReport(len(rows), stored, len(rows) - stored)
