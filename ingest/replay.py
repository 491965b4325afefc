"""Replaying dead letters after a fix (a device registered, a catalog entry added).

A dead letter goes through the same decoding and validation as a live message (except an
oversized one, of which only the head was kept: it cannot be replayed), with its original
receive time (SenML relative times resolve as they did then). What passes is
written like any batch: idempotently, so readings stored before (the good part of a
partly refused message) are not doubled. The dead letter keeps its row and records when
it was replayed and with what outcome; a message still refused by validation is not counted
again (one the database refuses goes through the committer and adds an occurrence).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import DatabaseUnavailable
from devices.catalog import Catalog
from devices.metric_ids import sync_metric_ids
from devices.registry import DeviceDirectory, PostgresDeviceSource
from ingest.batch_builder import BatchBuilder
from ingest.committer import CommitAbandoned, Committer
from ingest.messages import RawMessage
from ingest.settings import IngestSettings
from ingest.storable import storable
from ingest.store import BatchStore


@dataclass(frozen=True, slots=True)
class ReplayReport:
    replayed: int
    stored: int
    still_rejected: int


_SELECT = (
    "SELECT id, topic, payload, received_at, payload_complete FROM dead_letters "
    "WHERE id > %(after)s AND (CASE WHEN %(ids)s::bigint[] IS NULL "
    "THEN replay_outcome IS DISTINCT FROM 'stored' ELSE id = ANY(%(ids)s) END) "
    "ORDER BY id LIMIT %(page)s"
)
PAGE: Final = 100
"""Dead letters replayed per transaction: memory stays that of a hundred messages."""

_ALWAYS = threading.Event()
_ALWAYS.set()


def replay_dead_letters(
    pool: ConnectionPool[psycopg.Connection[TupleRow]],
    catalog: Catalog,
    limits: IngestSettings,
    topic_root: str,
    ids: list[int] | None = None,
) -> ReplayReport:
    """Replay the dead letters ``ids`` (None: every one not yet stored by a replay).

    A page of :data:`PAGE` at a time, each committed like a live batch: a message the
    database refuses is isolated (its outcome says so) and the rest of the page is stored.
    :class:`DatabaseUnavailable` when the database fails: replay does not wait it out.
    """
    with pool.connection() as conn:
        metric_ids = sync_metric_ids(conn, catalog)
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
    store = BatchStore(pool, max_reason_chars=limits.max_reason_chars)
    # The first outage ends the replay; refused messages are reported in their outcome.
    committer = Committer(store, stopping=_ALWAYS, keep_refused=True)
    replayed = stored = 0
    after = 0
    try:
        while True:
            with pool.connection() as conn:
                params = {"after": after, "ids": ids, "page": PAGE}
                rows = conn.execute(_SELECT, params).fetchall()
            if not rows:
                break
            after = int(rows[-1][0])
            outcomes = _replay_page(builder, committer, rows, limits.max_reason_chars)
            with pool.connection() as conn, conn.transaction():
                conn.cursor().executemany(
                    "UPDATE dead_letters SET replayed_at = %s, replay_outcome = %s WHERE id = %s",
                    outcomes,
                )
            replayed += len(outcomes)
            stored += sum(1 for _, outcome, _ in outcomes if outcome == "stored")
    except CommitAbandoned as exc:
        raise DatabaseUnavailable("the database failed during the replay") from exc
    finally:
        store.close()
    return ReplayReport(replayed, stored, replayed - stored)


def _replay_page(
    builder: BatchBuilder, committer: Committer, rows: list[tuple[Any, ...]], max_chars: int
) -> list[tuple[datetime, str, int]]:
    letters = [(int(r[0]), RawMessage(str(r[1]), bytes(r[2]), r[3].timestamp())) for r in rows]
    whole = [message for (_, message), row in zip(letters, rows, strict=True) if row[4]]
    batch = builder.build(whole)
    refused = {id(r.message): f"{r.reason.value}: {r.detail}" for r in batch.rejections}
    batch.rejections = []  # already dead letters: record the outcome instead of a new row
    committer.commit(batch)
    for message in committer.take_refused():
        refused[id(message)] = "unstorable: the database refused what it carries"

    now = datetime.now(UTC)
    outcomes = []
    kept = {id(message) for message in whole}
    for letter_id, message in letters:
        problem = refused.get(id(message))
        if id(message) not in kept:
            outcome = "not replayable: only the head of this oversized payload was kept"
        elif problem is None:
            outcome = "stored"
        else:
            outcome = storable(f"still rejected: {problem}", max_chars)
        outcomes.append((now, outcome, letter_id))
    return outcomes
