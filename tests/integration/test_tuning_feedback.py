"""What a resolved ticket does to its device's detectors, on PostgreSQL: a repair resets the
baseline, "no fault found" raises the fault's setting a step (to a cap), shown with its
source; and the no-data check honours the device's and the customer's interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.bootstrap import event_bus, ticket_resolution_feedback
from careline.scheduler import no_data_check
from crm_core.kernel.clock import frozen
from crm_core.kernel.events import Event
from crm_core.kernel.uow import PostgresUnitOfWork
from devices.catalog import Catalog
from devices.tuning.model import Override
from devices.tuning.postgres import PostgresTuningUnitOfWork
from devices.tuning.queries import device_thresholds
from devices.tuning.service import set_customer_override, set_device_override
from tests.api import factories as make
from tests.integration.test_no_data import heard

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class TicketResolved(Event):
    """The shape the SLA branch's event has (ticket, device, code, who)."""

    ticket_id: int
    device_id: int | None
    resolution_code: str
    actor: str


def resolve(db: Pool, catalog: Catalog, event: TicketResolved) -> None:
    bus = event_bus(catalog, frozen(NOW))
    bus.subscribe(TicketResolved, ticket_resolution_feedback(catalog, frozen(NOW)))
    with db.connection() as conn, PostgresUnitOfWork(conn) as uow:
        bus.publish([event], uow)
        uow.commit()


def fridge_with_ticket(db: Pool, detector: str = "standard_score") -> tuple[int, int, int]:
    with db.connection() as conn:
        customer = make.customer(conn)
        device = make.device(conn, "RF-1", customer_id=customer)
        fault = make.fault(conn, device, NOW - timedelta(hours=2))
        conn.execute("UPDATE faults SET detector = %s WHERE id = %s", (detector, fault))
        ticket = make.ticket(conn, customer, NOW - timedelta(hours=1), device_id=device)
        make.ticket_fault(conn, ticket, fault)
    return device, ticket, fault


def test_no_fault_found_raises_the_threshold_a_step_per_ticket_up_to_a_cap(
    db: Pool, catalog: Catalog
) -> None:
    device, ticket, _ = fridge_with_ticket(db)
    for _ in range(6):
        resolve(db, catalog, TicketResolved(ticket, device, "no_fault_found", "tech@example.org"))

    with db.connection() as conn:
        view = device_thresholds(conn, catalog, "RF-1")
        actions = conn.execute("SELECT action FROM audit_log ORDER BY id").fetchall()
    [cabinet] = [m for m in view.metrics if m.metric == "cabinet_temp"]
    threshold = cabinet.effective["threshold"]
    assert (threshold.value, threshold.source) == (8.0, "device")  # 4 + 4 steps of 1: the cap
    assert threshold.note == f"no fault found on ticket {ticket}"
    assert [a for (a,) in actions] == ["set"] * 4 + ["no_fault_found_at_cap"] * 2


def test_no_fault_found_on_a_hard_limit_lengthens_its_duration_not_its_level(
    db: Pool, catalog: Catalog
) -> None:
    device, ticket, _ = fridge_with_ticket(db, detector="limit_high")
    resolve(db, catalog, TicketResolved(ticket, device, "no_fault_found", "tech@example.org"))
    with db.connection() as conn:
        view = device_thresholds(conn, catalog, "RF-1")
    [cabinet] = [m for m in view.metrics if m.metric == "cabinet_temp"]
    assert cabinet.effective["limit_high"].value == 8.0
    assert (cabinet.effective["limit_high_for_s"].value, cabinet.device_note) == (
        1800.0,
        f"no fault found on ticket {ticket}",
    )


def test_a_repair_resets_the_baseline_and_other_codes_change_nothing(
    db: Pool, catalog: Catalog
) -> None:
    device, ticket, fault = fridge_with_ticket(db)
    resolve(db, catalog, TicketResolved(ticket, device, "customer_education", "tech"))
    resolve(db, catalog, TicketResolved(ticket, None, "part_replaced", "tech"))
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM baseline_resets").fetchone() == (0,)
    resolve(db, catalog, TicketResolved(ticket, device, "part_replaced", "tech"))
    with db.connection() as conn:
        resets = conn.execute("SELECT device_id, metric, reason FROM baseline_resets").fetchall()
        status = conn.execute("SELECT status FROM faults WHERE id = %s", (fault,)).fetchone()
    assert resets == [(device, None, f"ticket {ticket}: part_replaced")]
    assert status == ("cleared",)


def test_the_no_data_check_uses_the_device_or_customer_interval(db: Pool, catalog: Catalog) -> None:
    with db.connection() as conn:
        patient = make.customer(conn)
        strict = make.customer(conn, "Bakery", kind="business", email="bakery@example.net")
        quiet = make.device(conn, "RF-1", customer_id=patient)  # its own 2 h
        shop = make.device(conn, "RF-2", customer_id=strict)  # its customer's 30 min
        plain = make.device(conn, "RF-3", customer_id=patient)  # the model's hour
        set_device_override(
            PostgresTuningUnitOfWork(conn),
            catalog,
            "RF-1",
            "telemetry",
            Override(no_data_after_s=7200.0),
            "agent",
            NOW,
        )
        set_customer_override(
            PostgresTuningUnitOfWork(conn),
            catalog,
            strict,
            "telemetry",
            Override(no_data_after_s=1800.0),
            "agent",
            NOW,
        )
    heard(db, quiet, NOW - timedelta(minutes=90))
    heard(db, shop, NOW - timedelta(minutes=40))
    heard(db, plain, NOW - timedelta(minutes=90))

    no_data_check(db, catalog, event_bus(catalog, frozen(NOW)), frozen(NOW))()

    with db.connection() as conn:
        faults = conn.execute(
            "SELECT device_id, threshold FROM faults WHERE detector = 'no_data' ORDER BY 1"
        ).fetchall()
    assert faults == [(shop, 30.0), (plain, 60.0)]


def test_no_fault_found_on_a_door_left_open_gives_that_fridge_more_time(
    db: Pool, catalog: Catalog
) -> None:
    device, ticket, fault = fridge_with_ticket(db, detector="limit_high")
    with db.connection() as conn:
        conn.execute("UPDATE faults SET metric = 'door_open' WHERE id = %s", (fault,))
    resolve(db, catalog, TicketResolved(ticket, device, "no_fault_found", "tech@example.org"))
    with db.connection() as conn:
        view = device_thresholds(conn, catalog, "RF-1")
    [door] = [m for m in view.metrics if m.metric == "door_open"]
    assert (door.effective["limit_high_for_s"].value, door.effective["limit_high"].value) == (
        900.0,
        0.5,
    )


def test_resolving_through_the_use_case_feeds_the_detectors(db: Pool, catalog: Catalog) -> None:
    """The real path: ``resolve`` publishes the SLA branch's ``TicketResolved`` on the bus
    that ``event_bus`` wires, in the same transaction."""
    from crm_core.tickets.dispatch import resolve as resolve_ticket
    from crm_core.tickets.policies import load_service_levels
    from crm_core.tickets.postgres import PostgresTicketsUnitOfWork

    _, ticket, _ = fridge_with_ticket(db)
    bus = event_bus(catalog, frozen(NOW))
    with db.connection() as conn:
        uow = PostgresTicketsUnitOfWork(conn)
        levels = load_service_levels()
        resolve_ticket(
            uow, levels, ticket, "no_fault_found", NOW, "tech@example.org", "", bus.publish
        )
        view = device_thresholds(conn, catalog, "RF-1")
    [cabinet] = [m for m in view.metrics if m.metric == "cabinet_temp"]
    threshold = cabinet.effective["threshold"]
    assert (threshold.value, threshold.source) == (5.0, "device")  # one step up from 4
