"""The connection pool: one per process, made by the composition root, never at import.

psycopg_pool reconnects a lost connection with a backoff that doubles without a cap
(1, 3, 7, 15, 31, 63 ... s after the outage began): after an 81 s outage ingest waited
another 40 s. :class:`BoundedBackoffPool` caps the wait between attempts at
``reconnect_max_delay_s``, so work resumes within about that long after the database
is back.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

from crm_core.kernel.errors import DatabaseUnavailable

RECONNECT_MAX_DELAY_S = 1.0
"""Longest wait between two attempts to reconnect a pool connection, unless told."""


class _CappedAttempt(AttemptWithBackoff):
    """psycopg_pool's backoff, never waiting longer than ``max_delay`` between attempts."""

    def __init__(self, *, timeout: float, max_delay: float) -> None:
        super().__init__(timeout=timeout)
        self.max_delay = max_delay

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, self.max_delay)


class BoundedBackoffPool(ConnectionPool[psycopg.Connection[TupleRow]]):
    """A :class:`ConnectionPool` whose reconnect backoff is capped (see the module doc)."""

    def __init__(self, *args: Any, reconnect_max_delay_s: float, **kwargs: Any) -> None:
        self.reconnect_max_delay_s = reconnect_max_delay_s
        super().__init__(*args, **kwargs)

    def _add_connection(self, attempt: AttemptWithBackoff | None, growing: bool = False) -> None:
        if attempt is None:
            attempt = _CappedAttempt(
                timeout=self.reconnect_timeout, max_delay=self.reconnect_max_delay_s
            )
        super()._add_connection(attempt, growing)


def open_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 8,
    timeout: float = 10.0,
    reconnect_max_delay_s: float = RECONNECT_MAX_DELAY_S,
) -> ConnectionPool[psycopg.Connection[TupleRow]]:
    """Open a pool and wait until its first connection works."""
    pool = BoundedBackoffPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name="careline",
        kwargs={"application_name": "careline"},
        reconnect_max_delay_s=reconnect_max_delay_s,
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except Exception as exc:
        pool.close()
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    return pool
