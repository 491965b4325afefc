"""Tickets follow their faults (issue 7, item 11): a door left open is diagnosed as such,
asks the customer instead of a visit, and the ticket resolves itself when the door closes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_core.tickets.model import TicketStatusChanged
from devices.catalog import Catalog
from devices.faults.model import FaultCleared, FaultOpened, WindowSummary
from tests.service.test_proactive_service import NOW, T0, World


@pytest.fixture
def world(catalog: Catalog) -> World:
    return World(catalog)


def door_open(at: float = T0) -> FaultOpened:
    windows = tuple(WindowSummary(at - 300 * k, 0.0, 5, 0.0) for k in (3, 2, 1))
    return FaultOpened(
        1, "door_open", "limit_high", 1.0, 0.5, at, (*windows, WindowSummary(at, 1.0, 5, 0.0))
    )


def power_up(at: float = T0 + 600) -> FaultOpened:
    windows = tuple(WindowSummary(at - 300 * k, 95.0, 5, 0.4) for k in (4, 3, 2, 1))
    return FaultOpened(
        1,
        "compressor_power",
        "standard_score",
        7.0,
        4.0,
        at,
        (*windows, WindowSummary(at, 124.0, 5, 7.0)),
    )


def cabinet_warming(at: float = T0) -> FaultOpened:
    windows = tuple(WindowSummary(at + 300 * k, 4.0 + 0.3 * k, 5, 6.0) for k in range(12))
    return FaultOpened(1, "cabinet_temp", "standard_score", 9.0, 4.0, at, windows)


def test_a_door_left_open_asks_the_customer_and_resolves_itself(world: World) -> None:
    world.publish(door_open(), power_up())
    [ticket] = world.tickets.rows.values()
    assert ticket.subject == "Refrigerator FR-000001: door left open"
    assert "No part needed, no visit" in ticket.description
    assert "close the door" in ticket.description
    assert "book a technician visit" not in ticket.description
    assert world.faults.rows[2].diagnosis is not None
    assert world.faults.rows[2].diagnosis.cause == "door_left_open"

    world.publish(FaultCleared(1, "door_open", "limit_high", T0 + 1200))
    assert world.tickets.rows[ticket.id or 0].status == "new"  # the power is still up
    events = world.publish(FaultCleared(1, "compressor_power", "standard_score", T0 + 1800))
    assert TicketStatusChanged in events
    resolved = world.tickets.rows[ticket.id or 0]
    assert resolved.status == "resolved"
    _, entry = world.tickets.lines[-1]
    assert (entry.actor, entry.new_status) == ("careline", "resolved")
    assert entry.comment == "all faults cleared by themselves: door closed"


def test_a_later_fault_that_explains_the_first_rewrites_a_new_ticket(world: World) -> None:
    world.publish(cabinet_warming())
    [ticket] = world.tickets.rows.values()
    assert "cooling loss" in ticket.subject
    world.publish(door_open(T0 + 300))
    assert world.tickets.rows[ticket.id or 0].subject == "Refrigerator FR-000001: door left open"
    assert len(world.tickets.rows) == 1  # still one live ticket for the device
    _, entry = world.tickets.lines[-1]
    assert entry.comment.startswith("diagnosis updated: Door left open (part: none)")
    assert entry.comment.endswith(
        "subject was 'Refrigerator FR-000001: cooling loss, cause not yet clear'"
    )


def test_a_ticket_someone_took_on_keeps_its_words_and_stays_open(world: World) -> None:
    world.publish(cabinet_warming())
    [ticket] = world.tickets.rows.values()
    ticket.change_status("assigned", NOW, "dispatch")
    world.tickets.save(ticket)
    world.publish(door_open(T0 + 300))
    assert "cooling loss" in world.tickets.rows[ticket.id or 0].subject
    _, entry = world.tickets.lines[-1]
    assert "subject kept: work has started" in entry.comment
    world.publish(FaultCleared(1, "cabinet_temp", "standard_score", T0 + 3600))
    world.publish(FaultCleared(1, "door_open", "limit_high", T0 + 3600))
    assert world.tickets.rows[ticket.id or 0].status == "assigned"


def test_an_absorbed_fault_does_not_resolve_the_ticket(world: World) -> None:
    world.publish(cabinet_warming())
    world.publish(FaultCleared(1, "cabinet_temp", "standard_score", T0 + 86400, absorbed=True))
    [ticket] = world.tickets.rows.values()
    assert ticket.status == "new"


def test_the_urgency_of_a_warming_cabinet_is_its_time_to_reach_8_degrees(world: World) -> None:
    world.publish(cabinet_warming())
    fault = world.faults.rows[1]
    assert fault.hours_to_failure is not None
    # 0.3 °C per 5 min from 4 °C: 8 °C about 13 windows after the start, 1 h after the last
    assert timedelta(hours=fault.hours_to_failure) < timedelta(hours=1.5)
    assert fault.diagnosis is not None
    assert fault.diagnosis.urgency.confidence == "high"
    [ticket] = world.tickets.rows.values()
    assert "until cabinet temperature reaches 8 Cel" in ticket.description
