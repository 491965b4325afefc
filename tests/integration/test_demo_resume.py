"""A restarted demo tells what the data folder holds once ("resuming: ..."), and announces
as new only the faults and tickets that come after its start, on real PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from careline.demo.commentary import Commentary, Earlier, report
from crm_core.tickets.model import TicketDraft, new_proactive
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.faults.postgres import PostgresFaultRepository
from tests.integration.conftest import register_devices
from tests.integration.test_repository_contracts import NOW, Pool, fault

pytestmark = pytest.mark.integration
URL = "http://127.0.0.1:8000"


def a_fault_and_its_ticket(db: Pool, device_id: int, subject: str) -> tuple[int, int]:
    with db.connection() as conn:
        stored = PostgresFaultRepository(conn).add(
            dataclasses.replace(fault(), device_id=device_id)
        )
        ticket = PostgresTicketRepository(conn).add(
            new_proactive(TicketDraft(subject, "...", 2), 1, device_id, NOW)
        )
    assert stored is not None
    assert stored.id is not None
    assert ticket is not None
    assert ticket.id is not None
    return stored.id, ticket.id


def test_a_restarted_demo_does_not_announce_old_tickets_as_new(
    db: Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = register_devices(db, ["FR-000001", "FR-000002"])
    a_fault_and_its_ticket(db, ids["FR-000001"], "Refrigerator FR-000001: door left open")

    commentary = Commentary(URL)  # the demo starts again over that data
    earlier = Earlier.read(db)
    commentary.resume(earlier)
    report(db, commentary, earlier.last_message)
    said = capsys.readouterr().out
    assert said.startswith("resuming: 1 open tickets and 1 live faults from earlier runs")
    assert "proactive ticket #" not in said
    assert "fault #" not in said

    _, new_ticket = a_fault_and_its_ticket(
        db, ids["FR-000002"], "Refrigerator FR-000002: compressor wearing out"
    )
    report(db, commentary, earlier.last_message)
    said = capsys.readouterr().out
    assert f"proactive ticket #{new_ticket} for Test Owner: Refrigerator FR-000002" in said
    assert "FR-000001" not in said
    commentary.caught_up(100)
    assert "1 faults detected, 1 proactive tickets opened, 0 product issues opened this run" in (
        capsys.readouterr().out
    )


def test_a_first_run_says_nothing_about_resuming(
    db: Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    Commentary(URL).resume(Earlier.read(db))
    assert capsys.readouterr().out == ""
