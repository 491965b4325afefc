"""The diagnosis on PostgreSQL: stored on the fault, read back, shown through the read model;
and the ticket-fault links that let a ticket follow its faults, against fake and adapter."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow

from crm_core.tickets.follow import TicketFaultLinks, follow_diagnosis, resolve_if_all_cleared
from crm_core.tickets.follow_postgres import PostgresTicketFaultLinks
from crm_core.tickets.model import TicketDraft, TicketResolved, new_proactive
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.faults.findings import Diagnosis, Urgency
from devices.faults.postgres import PostgresFaultRepository
from devices.faults.queries import ticket_faults
from tests.integration.conftest import register_devices
from tests.integration.test_repository_contracts import NOW, Pool, fault
from tests.service.fakes import FakeFaultRepository, FakeTicketFaultLinks, FakeTicketRepository

pytestmark = pytest.mark.integration

DOOR = Diagnosis(
    cause="door_left_open",
    label="Door left open",
    part="",
    visit=False,
    advice="Ask the customer to close the door.",
    cleared_hint="door closed",
    signature=("door_open up (limit_high)",),
    urgency=Urgency(0.75, "high", "about 45 min until cabinet temperature reaches 8 Cel"),
)


@pytest.fixture
def conn(db: Pool) -> Iterator[psycopg.Connection[TupleRow]]:
    register_devices(db, ["FR-000001"])
    with db.connection() as connection, connection.transaction(force_rollback=True):
        yield connection


def test_a_diagnosis_is_stored_on_the_fault_and_read_back(
    conn: psycopg.Connection[TupleRow],
) -> None:
    faults = PostgresFaultRepository(conn)
    stored = faults.add(fault())
    assert stored is not None
    assert stored.id is not None
    faults.set_diagnosis(stored.id, DOOR)
    [live] = faults.live(1)
    assert live.diagnosis == DOOR
    assert live.hours_to_failure == 0.75
    row = conn.execute(
        "SELECT hours_to_failure, cause, to_jsonb(f) ->> 'cause' FROM faults f WHERE id = %s",
        (stored.id,),
    )
    # the cause as a column too: the product-issue grouping calls faults alike by it
    assert row.fetchone() == (0.75, "door_left_open", "door_left_open")


@pytest.fixture(params=["fake", "postgres"])
def world(
    request: pytest.FixtureRequest,
) -> tuple[TicketFaultLinks, PostgresFaultRepository | FakeFaultRepository, int]:
    """(links, faults, customer id) over the fakes or over PostgreSQL."""
    if request.param == "fake":
        tickets, faults = FakeTicketRepository(), FakeFaultRepository()
        return FakeTicketFaultLinks(tickets, faults), faults, 7
    conn = request.getfixturevalue("conn")
    return PostgresTicketFaultLinks(conn), PostgresFaultRepository(conn), 1


def test_a_ticket_follows_its_faults(
    world: tuple[TicketFaultLinks, PostgresFaultRepository | FakeFaultRepository, int],
    request: pytest.FixtureRequest,
) -> None:
    links, faults, customer = world
    repository = (
        links.tickets
        if isinstance(links, FakeTicketFaultLinks)
        else PostgresTicketRepository(request.getfixturevalue("conn"))
    )
    ticket = repository.add(new_proactive(TicketDraft("warm", "...", 2), customer, 1, NOW))
    first = faults.add(fault())
    second = faults.add(dataclasses.replace(fault(), detector="limit_high", id=None))
    assert ticket is not None
    assert ticket.id is not None
    assert first is not None
    assert first.id is not None
    assert second is not None
    assert second.id is not None
    repository.link_fault(ticket.id, first.id)
    repository.link_fault(ticket.id, second.id)

    door = TicketDraft("Refrigerator FR-000001: door left open", "close it", 2)
    assert follow_diagnosis(links, second.id, door, "Door left open", NOW) is True
    assert follow_diagnosis(links, second.id, door, "Door left open", NOW) is False  # same
    stored = repository.get(ticket.id)
    assert stored is not None
    assert (stored.subject, stored.description) == (door.subject, door.description)

    assert links.live_faults(ticket.id) == 2
    first.clear(NOW + timedelta(minutes=20))
    faults.save(first)
    assert resolve_if_all_cleared(links, first.id, absorbed=False, hint="", now=NOW) == []
    second.clear(NOW + timedelta(minutes=30))
    faults.save(second)
    later = NOW + timedelta(minutes=30)
    [_changed, done] = resolve_if_all_cleared(
        links, second.id, absorbed=False, hint="door closed", now=later
    )
    assert isinstance(done, TicketResolved)  # the detectors hear of it: no change for them
    assert (done.resolution_code, done.effect, done.fault_ids) == ("fault_cleared", "none", (1, 2))
    resolved = repository.get(ticket.id)
    assert resolved is not None
    assert resolved.status == "resolved"
    # a redelivered clearing finds it resolved: nothing more
    assert resolve_if_all_cleared(links, second.id, absorbed=False, hint="x", now=later) == []
    if not isinstance(links, FakeTicketFaultLinks):
        conn = request.getfixturevalue("conn")
        audit = conn.execute(
            "SELECT actor, action, detail->>'comment' FROM audit_log WHERE entity = 'ticket' "
            "AND entity_id = %s ORDER BY id",
            (str(ticket.id),),
        ).fetchall()
        assert audit[-1] == (
            "careline",
            "resolution",
            "all faults cleared by themselves: door closed",
        )
        assert [a[1] for a in audit] == ["redrafted", "comment", "resolution"]
        [shown, _] = ticket_faults(conn, ticket.id)
        assert shown.diagnosis is None  # not diagnosed in this test: shown as such
