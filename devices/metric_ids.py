"""Small integer ids for the catalog's metric keys, as stored in the readings table."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

from devices.catalog import Catalog


def sync_metric_ids(conn: psycopg.Connection[TupleRow], catalog: Catalog) -> dict[str, int]:
    """Register every catalog metric and return key -> id (ids never change once given)."""
    units = catalog.units()
    with conn.transaction():
        conn.cursor().executemany(
            "INSERT INTO metrics (key, unit) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
            sorted(units.items()),
        )
        rows = conn.execute("SELECT key, id FROM metrics").fetchall()
    return {str(key): int(metric_id) for key, metric_id in rows}


def metric_id_map(conn: psycopg.Connection[TupleRow]) -> dict[str, int]:
    """key -> id of every registered metric (read only)."""
    return {str(k): int(i) for k, i in conn.execute("SELECT key, id FROM metrics").fetchall()}
