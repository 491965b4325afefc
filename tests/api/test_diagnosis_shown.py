"""The diagnosis is shown on the fault and the ticket: API JSON and console pages."""

from __future__ import annotations

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from devices.faults.findings import Diagnosis, Urgency
from devices.faults.postgres import PostgresFaultRepository
from tests.api.test_console_actions import signed_in

Pool = ConnectionPool[psycopg.Connection[TupleRow]]

SEAL = Diagnosis(
    cause="door_seal_leak",
    label="Door seal leaking",
    part="door seal",
    visit=True,
    advice="Book a visit with a door seal.",
    cleared_hint="compressor back to its usual duty cycle",
    signature=("duty_cycle up (standard_score)",),
    urgency=Urgency(30.5, "medium", "about 30 h until cabinet temperature reaches 8 Cel"),
)


def test_the_fault_and_the_ticket_show_the_diagnosis(
    client: httpx.Client, db: Pool, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    with db.connection() as conn:
        PostgresFaultRepository(conn).set_diagnosis(fleet["fault"], SEAL)
    fault = client.get(f"/api/v1/faults/{fleet['fault']}", headers=viewer).json()
    assert fault["diagnosis"]["part"] == "door seal"
    assert fault["diagnosis"]["confidence"] == "medium"
    assert fault["hours_to_failure"] == 30.5
    ticket = client.get(f"/api/v1/tickets/{fleet['ticket']}", headers=viewer).json()
    assert ticket["faults"][0]["diagnosis"]["label"] == "Door seal leaking"
    listed = client.get("/api/v1/faults", headers=viewer).json()
    assert any(
        f["diagnosis"] and f["diagnosis"]["cause"] == "door_seal_leak" for f in listed["items"]
    )

    signed_in(client, db, "viewer")
    page = client.get(f"/console/tickets/{fleet['ticket']}").text
    assert 'id="diagnosis"' in page
    assert "Door seal leaking" in page
    assert "about 30 h until cabinet temperature reaches 8 Cel" in page
