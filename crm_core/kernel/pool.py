"""The connection pool: one per process, made by the composition root, never at import."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import DatabaseUnavailable


def open_pool(
    url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 10.0
) -> ConnectionPool[psycopg.Connection[TupleRow]]:
    """Open a pool and wait until its first connection works."""
    pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name="careline",
        kwargs={"application_name": "careline"},
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except Exception as exc:
        pool.close()
        raise DatabaseUnavailable(f"cannot connect to the database: {exc}") from exc
    return pool
