"""The heads-up's words fit the diagnosis: a fault the customer can fix (a door left open)
promises no visit and says what to do; one that needs a technician says one will call.

Faults arrive as ingest's do (``FaultOpened`` on the bootstrap's event bus in one unit of
work), so the fault, its diagnosis, its ticket and the heads-up in the outbox are the real
chain on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import event_bus
from crm_core.kernel.clock import frozen
from crm_core.kernel.uow import PostgresUnitOfWork
from devices.catalog import Catalog
from devices.faults.model import FaultOpened, WindowSummary
from tests.integration.conftest import register_devices
from tests.integration.test_outbox import Clock, notify

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def fault(device_id: int, metric: str, detector: str, means: list[float]) -> FaultOpened:
    start = NOW - timedelta(minutes=5 * len(means))
    windows = tuple(
        WindowSummary((start + timedelta(minutes=5 * i)).timestamp(), mean, 5, 0.0)
        for i, mean in enumerate(means)
    )
    return FaultOpened(
        device_id=device_id,
        metric=metric,
        detector=detector,
        score=means[-1] if detector.startswith("limit_") else 9.0,
        threshold=0.5 if detector.startswith("limit_") else 4.0,
        opened_at=windows[-2].start,
        evidence=windows,
    )


def heads_up_of(db: Pool, catalog: Catalog, event: FaultOpened) -> tuple[str, str]:
    """Publish the fault as ingest would; the ticket's subject and its heads-up's body."""
    bus = event_bus(catalog, frozen(NOW), notify=notify(Clock(NOW)))
    with db.connection() as conn:
        uow = PostgresUnitOfWork(conn)
        with uow:
            bus.publish([event], uow)
            uow.commit()
        row = conn.execute(
            "SELECT t.subject, o.body FROM tickets t JOIN outbox o "
            "ON o.idempotency_key = 'ticket/' || t.id || '/heads-up'"
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def test_a_door_left_open_tells_the_customer_what_to_do_and_promises_no_visit(
    db: Pool, catalog: Catalog
) -> None:
    ids = register_devices(db, ["FR-000001"])
    subject, body = heads_up_of(
        db, catalog, fault(ids["FR-000001"], "door_open", "limit_high", [0.0, 1.0, 1.0])
    )
    assert subject == "Refrigerator FR-000001: door left open"
    assert "door left open." in body
    assert "check that the refrigerator door is properly closed" in body
    assert "No technician visit is needed" in body
    assert "technician will contact you" not in body
    assert "visit;" not in body


def test_a_fault_that_needs_a_technician_says_one_will_call_and_what_to_do_meanwhile(
    db: Pool, catalog: Catalog
) -> None:
    ids = register_devices(db, ["FR-000001"])
    subject, body = heads_up_of(
        db,
        catalog,
        fault(ids["FR-000001"], "cabinet_temp", "standard_score", [4.0, 4.1, 4.0, 6.5, 7.0]),
    )
    assert subject == "Refrigerator FR-000001: cooling loss, cause not yet clear"
    assert "A technician will contact you to arrange a visit. Until then: Please keep" in body
    assert "No technician visit" not in body
