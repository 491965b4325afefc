"""The worker's view of the overrides on PostgreSQL: resolved per device, and looked at
again when an override changes, a device is added, or a device changes hands."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.catalog import Catalog
from devices.tuning.feed import TuningFeed
from devices.tuning.model import Override
from devices.tuning.postgres import PostgresTuningUnitOfWork
from devices.tuning.service import reset_baseline, set_customer_override
from tests.api import factories as make

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_feed_follows_overrides_new_devices_owners_and_resets(
    db: Pool, catalog: Catalog
) -> None:
    with db.connection() as conn:
        shop = make.customer(conn, "Shop", email="shop@example.net")
        home = make.customer(conn, "Home", email="home@example.net")
        first = make.device(conn, "RF-1", customer_id=shop)
        set_customer_override(
            PostgresTuningUnitOfWork(conn),
            catalog,
            shop,
            "cabinet_temp",
            Override(threshold=6.0),
            "agent",
            NOW,
        )
    feed = TuningFeed(db, catalog, poll_s=1.0)
    changes = feed.poll(0.0)
    assert changes is not None
    assert changes.tuning is not None
    detector = changes.tuning[first]["cabinet_temp"].detector
    assert detector is not None
    assert detector.threshold == 6.0
    assert feed.poll(0.5) is None  # not due
    assert feed.poll(2.0) is None  # due, nothing changed

    with db.connection() as conn:
        second = make.device(conn, "RF-2", customer_id=shop)
    changes = feed.poll(4.0)
    assert changes is not None
    assert changes.tuning is not None
    assert set(changes.tuning) == {first, second}

    with db.connection() as conn:
        conn.execute("UPDATE devices SET customer_id = %s WHERE id = %s", (home, first))
    changes = feed.poll(6.0)
    assert changes is not None
    assert changes.tuning is not None
    assert set(changes.tuning) == {second}

    with db.connection() as conn:
        done = reset_baseline(
            PostgresTuningUnitOfWork(conn),
            catalog,
            "RF-2",
            "cabinet_temp",
            "door seal",
            "agent",
            NOW,
        )
    changes = feed.poll(8.0)
    assert changes is not None
    assert (changes.tuning, changes.resets) == (None, [(done.reset_id, second, "cabinet_temp")])
    assert feed.load([first, second]) == {second: (0, [(done.reset_id, second, "cabinet_temp")])}
