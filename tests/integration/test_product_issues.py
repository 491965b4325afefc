"""Product issues on PostgreSQL: faults alike on one batch become one issue, exactly once.

Faults arrive as ingest's do: ``FaultOpened`` events published on the bootstrap's event bus
inside a unit of work, so the fault, its ticket and its product issue commit together.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import event_bus
from careline.scheduler import product_issue_sweep
from careline.settings import Settings
from crm_core.kernel.clock import frozen
from crm_core.kernel.events import EventBus
from crm_core.kernel.uow import PostgresUnitOfWork
from devices.catalog import Catalog
from devices.faults.model import FaultOpened, WindowSummary
from devices.product_issues.model import FaultJoinedProductIssue, GroupKey, ProductIssueOpened
from devices.product_issues.postgres import (
    PostgresProductIssueRepository,
    PostgresProductIssuesUnitOfWork,
)
from devices.product_issues.queries import fault_rates, get_product_issue
from devices.product_issues.service import Grouping, add_note, change_status, group_fault
from devices.product_issues.settings import FleetSettings

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULE = Grouping(window=timedelta(hours=72), min_devices=3, min_ratio=2.0)


def register(db: Pool, batches: dict[str, str], *, installed: str = "2026-11-06") -> dict[str, int]:
    """One customer; a CF-300 fridge per serial, built in the batch given."""
    with db.connection() as conn:
        customer = conn.execute(
            "INSERT INTO customers (kind, name, email) VALUES ('person', 'Amélie', "
            "'amelie@example.net') RETURNING id"
        ).fetchone()
        assert customer is not None
        ids = {}
        for serial, batch in batches.items():
            row = conn.execute(
                "INSERT INTO devices (serial, device_type, model, firmware, production_batch, "
                "customer_id, installed_on) VALUES (%s, 'refrigerator', 'CF-300', '2.4.1', %s, "
                "%s, %s) RETURNING id",
                (serial, batch, customer[0], installed),
            ).fetchone()
            assert row is not None
            ids[serial] = int(row[0])
    return ids


def opened(device_id: int, at: datetime, metric: str = "compressor_power") -> FaultOpened:
    window = WindowSummary(start=at.timestamp(), mean=140.0, count=5, score=6.0)
    return FaultOpened(
        device_id=device_id,
        metric=metric,
        detector="standard_score",
        score=6.0,
        threshold=4.0,
        opened_at=at.timestamp(),
        evidence=(window,),
    )


def publish(db: Pool, bus: EventBus, *events: FaultOpened) -> list[Any]:
    """One batch's transaction: the events and everything they cause, committed together."""
    with db.connection() as conn:
        uow = PostgresUnitOfWork(conn)
        with uow:
            handled = bus.publish(list(events), uow)
            uow.commit()
    return handled


def rows(db: Pool, sql: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(sql).fetchall()


def bus_at(catalog: Catalog, now: datetime = NOW) -> EventBus:
    return event_bus(catalog, frozen(now), FleetSettings())


def fleet_of_batches(db: Pool) -> dict[str, int]:
    """Four fridges of batch A, eight of batch B (all CF-300)."""
    batches = {f"FR-A{i}": "CF300-A" for i in range(1, 5)}
    batches.update({f"FR-B{i}": "CF300-B" for i in range(1, 9)})
    return register(db, batches)


def test_three_devices_of_one_batch_faulting_alike_make_one_issue_that_grows(
    db: Pool, catalog: Catalog
) -> None:
    ids = fleet_of_batches(db)
    bus = bus_at(catalog)
    publish(db, bus, opened(ids["FR-A1"], NOW - 30 * HOUR))
    handled = publish(db, bus, opened(ids["FR-A2"], NOW - 20 * HOUR))
    assert not [e for e in handled if isinstance(e, ProductIssueOpened)]  # two are not a pattern
    handled = publish(db, bus, opened(ids["FR-A3"], NOW - 10 * HOUR))
    [issue] = [e for e in handled if isinstance(e, ProductIssueOpened)]
    assert issue.title == "refrigerator batch CF300-A: compressor_power/standard_score"
    assert issue.devices == 3
    handled = publish(db, bus, opened(ids["FR-A4"], NOW - HOUR))
    assert [type(e) for e in handled if isinstance(e, FaultJoinedProductIssue)] == [
        FaultJoinedProductIssue
    ]
    assert rows(db, "SELECT count(*) FROM product_issues") == [(1,)]
    assert rows(db, "SELECT count(*) FROM product_issue_faults") == [(4,)]
    with db.connection() as conn:
        detail = get_product_issue(conn, issue.issue_id, NOW, 30)
    assert [d.serial for d in detail.affected_devices] == ["FR-A1", "FR-A2", "FR-A3", "FR-A4"]
    assert len(detail.linked_tickets) == 4  # each fault opened its device's proactive ticket
    assert [c.name for c in detail.affected_customers] == ["Amélie"]
    assert detail.first_fault_at == NOW - 30 * HOUR
    assert detail.last_fault_at == NOW - HOUR
    assert rows(db, "SELECT actor, entity, action FROM audit_log WHERE entity <> 'ticket'") == [
        ("careline", "product_issue", "opened")
    ]


def test_different_batches_or_onsets_outside_the_window_make_no_issue(
    db: Pool, catalog: Catalog
) -> None:
    ids = fleet_of_batches(db)
    bus = bus_at(catalog)
    # Three devices, but of two batches (and the model as a whole: 3 of 12 is no pattern).
    publish(db, bus, opened(ids["FR-A1"], NOW - 3 * HOUR))
    publish(db, bus, opened(ids["FR-A2"], NOW - 2 * HOUR))
    publish(db, bus, opened(ids["FR-B1"], NOW - HOUR))
    # A third of batch A, but 100 hours after the first two: outside the 72 h window.
    publish(db, bus, opened(ids["FR-A3"], NOW + 100 * HOUR))
    # Alike on the device, not alike in kind: another metric.
    publish(db, bus, opened(ids["FR-A4"], NOW - HOUR, metric="cabinet_temp"))
    assert rows(db, "SELECT count(*) FROM product_issues") == [(0,)]


def test_a_redelivered_fault_or_a_second_grouping_adds_nothing(db: Pool, catalog: Catalog) -> None:
    ids = fleet_of_batches(db)
    bus = bus_at(catalog)
    events = [opened(ids[s], NOW - i * HOUR) for i, s in enumerate(["FR-A1", "FR-A2", "FR-A3"])]
    for event in events:
        publish(db, bus, event)
    for event in events:  # the broker redelivers the whole batch
        publish(db, bus, event)
    with db.connection() as conn:  # and the sweep goes over the same faults again
        repo = PostgresProductIssueRepository(conn)
        for (fault_id,) in conn.execute("SELECT id FROM faults").fetchall():
            assert group_fault(repo, int(fault_id), RULE, NOW) == []
    product_issue_sweep(db, Settings(), frozen(NOW))()
    assert rows(db, "SELECT count(*) FROM faults") == [(3,)]
    assert rows(db, "SELECT count(*) FROM product_issues") == [(1,)]
    assert rows(db, "SELECT count(*) FROM product_issue_faults") == [(3,)]


def test_two_workers_racing_to_open_the_same_issue_make_one(db: Pool, catalog: Catalog) -> None:
    """Two batches, each holding a third fault of batch A, commit at the same time: both see
    enough devices, both try to open the issue; the unique index makes the second wait for
    the first and join its issue."""
    ids = fleet_of_batches(db)
    bus = bus_at(catalog)
    publish(db, bus, opened(ids["FR-A1"], NOW - 3 * HOUR))
    publish(db, bus, opened(ids["FR-A2"], NOW - 2 * HOUR))
    conninfo = str(db.conninfo)
    first = psycopg.connect(conninfo, autocommit=True)
    second = psycopg.connect(conninfo, autocommit=True)
    try:
        uow_1, uow_2 = PostgresUnitOfWork(first), PostgresUnitOfWork(second)
        uow_1.__enter__()
        opened_1 = bus.publish([opened(ids["FR-A3"], NOW - HOUR)], uow_1)
        assert [e for e in opened_1 if isinstance(e, ProductIssueOpened)]
        result: list[Any] = []

        def other_worker() -> None:
            with uow_2:
                result.extend(bus.publish([opened(ids["FR-A4"], NOW - HOUR)], uow_2))
                uow_2.commit()

        worker = threading.Thread(target=other_worker)
        worker.start()
        worker.join(1.0)
        assert worker.is_alive()  # waiting on the first worker's uncommitted issue
        uow_1.commit()
        uow_1.__exit__(None, None, None)
        worker.join(10)
        assert not worker.is_alive()
    finally:
        first.close()
        second.close()
    assert not [e for e in result if isinstance(e, ProductIssueOpened)]
    assert [e for e in result if isinstance(e, FaultJoinedProductIssue)]
    assert rows(db, "SELECT count(*) FROM product_issues") == [(1,)]
    assert rows(db, "SELECT count(*) FROM product_issue_faults") == [(4,)]


def test_a_sharper_diagnosis_on_the_same_devices_joins_and_renames_the_issue(
    db: Pool, catalog: Catalog
) -> None:
    """A batch first shows a cooling loss (cabinet warm, cause not yet clear); hours later
    the regression detector sees the compressors draw too much: the diagnosis sharpens to
    compressor wear. That is the same problem on the same devices: one issue, renamed."""
    ids = fleet_of_batches(db)
    bus = bus_at(catalog)
    for i, serial in enumerate(["FR-A1", "FR-A2", "FR-A3"]):
        publish(db, bus, opened(ids[serial], NOW - (30 - i) * HOUR, metric="cabinet_temp"))
    [(issue_id, title)] = rows(db, "SELECT id, title FROM product_issues")
    assert title == "refrigerator batch CF300-A: cause:cooling_loss"
    joined = []
    for i, serial in enumerate(["FR-A1", "FR-A2", "FR-A3"]):
        wear = dataclasses.replace(
            opened(ids[serial], NOW - (20 - i) * HOUR), detector="regression"
        )
        joined += publish(db, bus, wear)
    assert not [e for e in joined if isinstance(e, ProductIssueOpened)]
    assert len([e for e in joined if isinstance(e, FaultJoinedProductIssue)]) == 3
    assert rows(db, "SELECT id, signature, title FROM product_issues") == [
        (issue_id, "cause:compressor_wear", "refrigerator batch CF300-A: cause:compressor_wear")
    ]
    assert rows(db, "SELECT count(*) FROM product_issue_faults") == [(6,)]
    [note] = rows(db, "SELECT comment FROM product_issue_notes WHERE action = 'comment'")
    assert note[0].startswith("diagnosis sharpened: cause:cooling_loss -> cause:compressor_wear")
    # A fourth fridge of the batch only warms up so far: it is the same issue, not a new one.
    handled = publish(db, bus, opened(ids["FR-A4"], NOW - 10 * HOUR, metric="cabinet_temp"))
    assert [e.issue_id for e in handled if isinstance(e, FaultJoinedProductIssue)] == [issue_id]
    assert rows(db, "SELECT count(*) FROM product_issues") == [(1,)]


def test_the_sweep_groups_what_no_batch_saw_whole(db: Pool, catalog: Catalog) -> None:
    ids = fleet_of_batches(db)
    with db.connection() as conn:  # faults stored without the grouping handler (a race lost)
        for i, serial in enumerate(["FR-A1", "FR-A2", "FR-A3"]):
            conn.execute(
                "INSERT INTO faults (device_id, metric, detector, score, threshold, status, "
                "opened_at, evidence) VALUES (%s, 'compressor_power', 'standard_score', 6, 4, "
                "'open', %s, '{}')",
                (ids[serial], NOW - (i + 1) * HOUR),
            )
    product_issue_sweep(db, Settings(), frozen(NOW))()
    assert rows(db, "SELECT status, dimension, group_value FROM product_issues") == [
        ("open", "batch", "CF300-A")
    ]
    assert rows(db, "SELECT count(*) FROM product_issue_faults") == [(3,)]


def test_the_group_fault_rate_against_the_rest_of_the_fleet(db: Pool) -> None:
    """Group: 4 fridges in service the whole 30 days (120 device-days) with 3 faults; rest:
    8 fridges, 6 of them the whole period (180) and 2 from 10 days before its end (20), with
    1 fault: 2.5 against 0.5 faults per 100 device-days, five times as often."""
    ids = fleet_of_batches(db)
    end = NOW
    start = end - timedelta(days=30)
    with db.connection() as conn:
        conn.execute(
            "UPDATE devices SET installed_on = %s WHERE serial IN ('FR-B7', 'FR-B8')",
            ((end - timedelta(days=10)).date(),),
        )
        for serial, at in [
            ("FR-A1", end - 2 * HOUR),
            ("FR-A2", end - 3 * HOUR),
            ("FR-A2", start + HOUR),
            ("FR-B1", end - 5 * HOUR),
            ("FR-B2", start - HOUR),  # before the period: not counted
        ]:
            conn.execute(
                "INSERT INTO faults (device_id, metric, detector, score, threshold, status, "
                "opened_at, cleared_at, evidence) VALUES (%s, 'compressor_power', "
                "'standard_score', 6, 4, 'cleared', %s, %s, '{}')",
                (ids[serial], at, at + HOUR),
            )
        conn.execute(  # another kind of fault in the group: not this issue's
            "INSERT INTO faults (device_id, metric, detector, score, threshold, status, "
            "opened_at, evidence) VALUES (%s, 'cabinet_temp', 'limit_high', 9, 8, 'open', %s, "
            "'{}')",
            (ids["FR-A3"], end - HOUR),
        )
        comparison = fault_rates(
            conn,
            GroupKey("batch", "refrigerator", "CF300-A"),
            "compressor_power/standard_score",
            start,
            end,
        )
    assert (comparison.group.devices, comparison.group.faults) == (4, 3)
    assert comparison.group.device_days == pytest.approx(120.0)
    assert (comparison.rest.devices, comparison.rest.faults) == (8, 1)
    # FR-B7 and FR-B8 went in 10 days before the end, at midnight UTC: 10.5 days each.
    assert comparison.rest.device_days == pytest.approx(180.0 + 21.0)
    assert comparison.group.per_100_device_days == 2.5
    assert comparison.rest.per_100_device_days == pytest.approx(0.498)
    assert comparison.ratio == pytest.approx(5.02)


def test_an_issue_moves_open_investigating_resolved_with_notes_in_the_audit_log(
    db: Pool, catalog: Catalog
) -> None:
    ids = fleet_of_batches(db)
    bus = bus_at(catalog)
    for i, serial in enumerate(["FR-A1", "FR-A2", "FR-A3"]):
        publish(db, bus, opened(ids[serial], NOW - (i + 1) * HOUR))
    [(issue_id,)] = rows(db, "SELECT id FROM product_issues")
    with db.connection() as conn:
        uow = PostgresProductIssuesUnitOfWork(conn)
        change_status(uow, issue_id, "investigating", NOW, "quality@example.com", "lot check")
        add_note(uow, issue_id, "quality@example.com", "supplier: relay lot 7731", NOW)
        change_status(uow, issue_id, "resolved", NOW + HOUR, "quality@example.com", "recalled")
        detail = get_product_issue(conn, issue_id, NOW + 2 * HOUR, 30)
    assert detail.status == "resolved"
    assert detail.resolved_at == NOW + HOUR
    assert [(n.action, n.new_status) for n in detail.notes] == [
        ("opened", None),
        ("status", "investigating"),
        ("comment", None),
        ("status", "resolved"),
    ]
    assert rows(db, "SELECT actor, action FROM audit_log WHERE entity <> 'ticket' ORDER BY id")[
        1:
    ] == [
        ("quality@example.com", "status"),
        ("quality@example.com", "comment"),
        ("quality@example.com", "status"),
    ]
    # Resolved is final; a new fault alike afterwards starts a new issue (a regression).
    publish(db, bus_at(catalog, NOW + 3 * HOUR), opened(ids["FR-A4"], NOW + 2 * HOUR))
    assert rows(db, "SELECT count(*) FROM product_issues WHERE status = 'open'") == [(0,)]
