"""Integration fixtures: a private Mosquitto per test, and registered devices."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.mosquitto import MosquittoError, MosquittoProcess
from tests import services


@pytest.fixture
def broker() -> Iterator[MosquittoProcess]:
    """A mosquitto of our own on a free loopback port (so a test may restart it)."""
    try:
        process = MosquittoProcess(os.environ.get("CARELINE_TEST_MOSQUITTO")).start()
    except MosquittoError as exc:
        services.unavailable("mosquitto", str(exc))
        raise AssertionError("unreachable") from exc
    yield process
    process.close()


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
