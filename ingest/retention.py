"""Dead-letter retention: what nobody looked at for a month goes, a slice at a time.

A dead letter is kept while it keeps coming back (``last_received_at`` moves on every
repeat) and for ``ingest.dead_letter_retention_days`` after the last time it was seen.
Deleting in slices keeps each transaction short, so that ingest, which inserts dead
letters in its batches, never waits long behind the job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import database_errors

SLICE: Final = 5000

_DELETE_SLICE = """
DELETE FROM dead_letters
 WHERE id IN (SELECT id FROM dead_letters WHERE last_received_at < %s LIMIT %s)
"""


def purge_dead_letters(
    pool: ConnectionPool[psycopg.Connection[TupleRow]], now: datetime, retention_days: int
) -> int:
    """Delete dead letters last seen more than ``retention_days`` before ``now``; how many."""
    cutoff = now - timedelta(days=retention_days)
    deleted = 0
    with database_errors():
        while True:
            with pool.connection() as conn:
                count = conn.execute(_DELETE_SLICE, (cutoff, SLICE)).rowcount
            deleted += max(count, 0)
            if count < SLICE:
                return deleted
