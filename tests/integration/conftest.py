"""Integration helpers: registering devices."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool


def register_devices(
    pool: ConnectionPool[psycopg.Connection[TupleRow]],
    serials: list[str],
    device_type: str = "refrigerator",
    *,
    with_customer: bool = True,
) -> dict[str, int]:
    """Register devices (owned by one customer unless told otherwise): serial -> id."""
    with pool.connection() as conn:
        customer_id = None
        if with_customer:
            customer_id = conn.execute(
                "INSERT INTO customers (kind, name, email) VALUES ('person', 'Test Owner', "
                "'owner@example.net') RETURNING id"
            ).fetchone()[0]  # type: ignore[index]
        ids = {}
        for serial in serials:
            ids[serial] = conn.execute(
                "INSERT INTO devices (serial, device_type, model, customer_id) "
                "VALUES (%s, %s, 'CoolFrost CF-300', %s) RETURNING id",
                (serial, device_type, customer_id),
            ).fetchone()[0]  # type: ignore[index]
    return ids
