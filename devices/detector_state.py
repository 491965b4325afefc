"""Detector state in PostgreSQL: checkpointed with the batches, loaded when a device shows up.

A restarted worker (or one that a device moved to) picks up where the detectors were,
instead of warming up for a day again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import database_errors

# Written in the batch's transaction; a device deleted meanwhile is skipped, not an error.
# ``generation`` is the newest baseline reset the state includes: a checkpoint never
# replaces one that includes a newer reset (devices.tuning.feed explains the ordering).
UPSERT_STATE = """
INSERT INTO detector_state (device_id, state, updated_at, generation)
SELECT %(device_id)s, %(state)s, now(), %(generation)s
 WHERE EXISTS (SELECT 1 FROM devices WHERE id = %(device_id)s)
ON CONFLICT (device_id) DO UPDATE
   SET state = excluded.state, updated_at = excluded.updated_at,
       generation = excluded.generation
 WHERE detector_state.generation <= excluded.generation
"""


class StateSource(Protocol):
    def load(self, device_ids: Sequence[int]) -> dict[int, bytes]: ...


class PostgresStateSource:
    def __init__(self, pool: ConnectionPool[psycopg.Connection[TupleRow]]) -> None:
        self._pool = pool

    def load(self, device_ids: Sequence[int]) -> dict[int, bytes]:
        with database_errors(), self._pool.connection(timeout=5.0) as conn:
            rows = conn.execute(
                "SELECT device_id, state FROM detector_state WHERE device_id = ANY(%s)",
                (list(device_ids),),
            ).fetchall()
        return {int(device_id): bytes(state) for device_id, state in rows}
