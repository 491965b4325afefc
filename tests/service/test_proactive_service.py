"""Proactive service through the event bus, on fakes: a detector's FaultOpened becomes a
recorded fault and a ticket for the owner; a second fault joins it; redelivery adds
nothing; a device without a customer gets no ticket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.proactive import ProactiveTickets, SelfResolvingTickets
from crm_core.kernel.clock import frozen
from crm_core.kernel.events import Event, EventBus
from crm_core.tickets.model import (
    FaultJoinedTicket,
    TicketOpened,
    TicketResolved,
    TicketStatusChanged,
)
from devices.catalog import Catalog
from devices.faults.model import (
    FaultCleared,
    FaultClosed,
    FaultOpened,
    FaultRecorded,
    WindowSummary,
)
from devices.faults.service import record_cleared, record_opened
from devices.owners import OwnedDevice
from tests.service.fakes import (
    FakeDeviceOwners,
    FakeFaultRepository,
    FakeTicketFaultLinks,
    FakeTicketRepository,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
T0 = NOW.timestamp() - 3600


class World:
    """The bus as bootstrap wires it, on fakes instead of PostgreSQL."""

    def __init__(self, catalog: Catalog) -> None:
        self.faults = FakeFaultRepository()
        self.tickets = FakeTicketRepository()
        self.owners = FakeDeviceOwners(
            {
                1: OwnedDevice("FR-000001", "refrigerator", "CF-300", customer_id=7),
                2: OwnedDevice("FR-000002", "refrigerator", "CF-300", customer_id=None),
            }
        )
        self.links = FakeTicketFaultLinks(self.tickets, self.faults)
        self.bus = EventBus()
        fridge = catalog.device_type("refrigerator")
        self.bus.subscribe(FaultOpened, lambda e, uow: record_opened(e, self.faults, fridge))
        self.bus.subscribe(FaultCleared, lambda e, uow: record_cleared(e, self.faults))
        self.bus.subscribe(
            FaultRecorded,
            ProactiveTickets(
                catalog,
                owners=lambda uow: self.owners,
                tickets=lambda uow: self.tickets,
                clock=frozen(NOW),
                links=lambda uow: self.links,
            ),
        )
        self.bus.subscribe(
            FaultClosed, SelfResolvingTickets(links=lambda uow: self.links, clock=frozen(NOW))
        )

    def publish(self, *events: Event) -> list[type[Event]]:
        return [type(e) for e in self.bus.publish(events, uow=None)]


def opened(device: int = 1, metric: str = "cabinet_temp", at: float = T0) -> FaultOpened:
    windows = (WindowSummary(at - 300, 4.0, 5, 0.5), WindowSummary(at, 9.0, 5, 9.0))
    return FaultOpened(device, metric, "standard_score", 9.0, 4.0, at, windows)


@pytest.fixture
def world(catalog: Catalog) -> World:
    return World(catalog)


def test_a_fault_opens_a_ticket_for_the_owner(world: World) -> None:
    assert world.publish(opened()) == [FaultOpened, FaultRecorded, TicketOpened, FaultJoinedTicket]
    [ticket] = world.tickets.rows.values()
    assert (ticket.customer_id, ticket.device_id, ticket.status) == (7, 1, "new")
    assert ticket.priority == 1  # fridge temperature (high impact), score 2.25x threshold
    # one warm cabinet alone: the diagnosis says so, and what to bring to find out more
    assert ticket.subject == "Refrigerator FR-000001: cooling loss, cause not yet clear"
    assert "Part to bring: thermostat and start relay." in ticket.description
    assert "Latest window mean 9.00 Cel vs. baseline 4.00 Cel" in ticket.description
    assert world.faults.rows[1].diagnosis is not None
    assert ticket.created_at == NOW
    assert world.tickets.fault_ticket == {1: ticket.id}


def test_a_second_fault_on_the_device_joins_its_live_ticket(world: World) -> None:
    world.publish(opened())
    second = world.publish(opened(metric="compressor_power"))
    assert second == [FaultOpened, FaultRecorded, FaultJoinedTicket]
    assert len(world.tickets.rows) == 1
    assert sorted(world.tickets.fault_ticket) == [1, 2]


def test_a_redelivered_fault_adds_nothing(world: World) -> None:
    world.publish(opened())
    assert world.publish(opened()) == [FaultOpened]
    assert len(world.faults.rows) == 1
    assert len(world.tickets.rows) == 1


def test_a_device_without_a_customer_gets_a_fault_and_no_ticket(world: World) -> None:
    assert world.publish(opened(device=2)) == [FaultOpened, FaultRecorded]
    assert world.tickets.rows == {}


def test_clearing_closes_the_fault_never_before_its_onset(world: World) -> None:
    world.publish(opened())
    cleared = world.publish(
        FaultCleared(1, "cabinet_temp", "standard_score", T0 - 60)
    )  # a late window
    # resolved by itself, with its code
    assert cleared == [FaultCleared, FaultClosed, TicketStatusChanged, TicketResolved]
    fault = world.faults.rows[1]
    assert fault.cleared_at == fault.opened_at
    assert world.publish(FaultCleared(1, "cabinet_temp", "standard_score", T0 + 60)) == [
        FaultCleared
    ]


def test_an_absorbed_fault_is_cleared_with_a_note_saying_so(world: World) -> None:
    world.publish(opened())
    world.publish(FaultCleared(1, "cabinet_temp", "standard_score", T0 + 86400, absorbed=True))
    fault = world.faults.rows[1]
    assert not fault.is_open
    [(fault_id, _, author, action, comment)] = world.faults.notes
    assert (fault_id, author, action) == (1, "careline", "absorbed")
    assert "new normal" in comment
