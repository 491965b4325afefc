"""The console's service work over HTTP: log a call, assign from the suggestions, schedule
a window, resolve with a code; CSRF refusals; the queue's filters; a technician's day."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.tickets.technicians import create_technician
from tests.api.conftest import NOW
from tests.api.test_console_actions import signed_in

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def technician(db: Pool, name: str = "Claire Dubois") -> int:
    with db.connection() as conn:
        return create_technician(
            conn,
            name=name,
            email=f"{name.split(maxsplit=1)[0].lower()}@example.com",
            skills=["refrigerator"],
            home=(45.75, 4.85),
            by="test",
            now=NOW,
        )


def test_an_agent_works_a_ticket_from_assignment_to_resolution(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    tech = technician(db)
    token = signed_in(client, db, "agent")
    url = f"/console/tickets/{fleet['ticket']}"
    page = client.get(url).text
    assert 'id="sla-panel"' in page
    assert "in warranty until 2027-03-01" in page
    assert "1.9 km from the site" in page  # the suggestion says why
    assigned = client.post(f"{url}/assign", data={"csrftoken": token, "technician_id": str(tech)})
    assert (assigned.status_code, assigned.headers["location"]) == (303, url)
    booking = {"csrftoken": token, "day": "2026-11-25", "start": "09:00", "end": "12:00"}
    assert client.post(f"{url}/schedule", data=booking).headers["location"] == url
    backwards = client.post(f"{url}/schedule", data={**booking, "start": "13:00"})
    assert "must end after it starts" in unquote(backwards.headers["location"])
    page = client.get(url).text
    # 09:00 in Berlin is 08:00 UTC
    assert "2026-11-25 08:00–11:00 UTC" in page
    assert 'id="resolve-form"' in page
    day = client.get(f"/console/technicians/{tech}/day?on=2026-11-25").text
    assert f"/console/tickets/{fleet['ticket']}" in day
    assert "09:00–12:00" in day
    no_code = client.post(f"{url}/resolve", data={"csrftoken": token, "code": "fixed_it"})
    assert "unknown resolution code" in unquote(no_code.headers["location"])
    client.post(f"{url}/status", data={"csrftoken": token, "status": "in_progress"})
    done = client.post(f"{url}/resolve", data={"csrftoken": token, "code": "repaired"})
    assert done.headers["location"] == url
    page = client.get(url).text
    assert "repaired · first-time fix" in page
    with db.connection() as conn:
        audited = conn.execute(
            "SELECT actor, action FROM audit_log WHERE entity = 'ticket' ORDER BY id"
        ).fetchall()
    assert audited == [
        ("agent@example.org", "assignment"),
        ("agent@example.org", "schedule"),
        ("agent@example.org", "status"),
        ("agent@example.org", "resolution"),
    ]


def test_every_work_form_refuses_a_request_without_the_csrf_token(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    tech = technician(db)
    signed_in(client, db, "agent")
    url = f"/console/tickets/{fleet['ticket']}"
    forged = [
        client.post(f"{url}/assign", data={"technician_id": str(tech)}),
        client.post(
            f"{url}/schedule", data={"day": "2026-11-25", "start": "09:00", "end": "10:00"}
        ),
        client.post(f"{url}/resolve", data={"code": "repaired"}),
        client.post("/console/tickets", data={"customer_id": "1", "subject": "x"}),
    ]
    assert [f.status_code for f in forged] == [403, 403, 403, 403]
    with db.connection() as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit_log WHERE entity = 'ticket'"
        ).fetchone() == (0,)


def test_an_agent_logs_a_call_and_filters_the_queue(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    token = signed_in(client, db, "agent")
    form = client.get("/console/tickets/new").text
    assert 'id="new-ticket-form"' in form
    logged = client.post(
        "/console/tickets",
        data={
            "csrftoken": token,
            "customer_id": str(fleet["amelie"]),
            "device_id": str(fleet["washer"]),
            "subject": "Smell of burning",
            "severity": "low",
            "safety": "true",
        },
    )
    assert logged.status_code == 303
    ticket_url = logged.headers["location"]
    assert "P1" in client.get(ticket_url).text  # safety forces P1
    wrong = client.post(
        "/console/tickets",
        data={
            "csrftoken": token,
            "customer_id": str(fleet["bakery"]),
            "device_id": str(fleet["washer"]),
            "subject": "x",
        },
    )
    assert "not this customer" in unquote(wrong.headers["location"])
    queue = client.get("/console/tickets?kind=reactive&priority=1").text
    assert "Smell of burning" in queue
    assert "Cabinet temperature rising" not in queue
    assert "first response in" in queue  # the SLA countdown


def test_a_viewer_cannot_log_calls_or_assign(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    tech = technician(db)
    token = signed_in(client, db, "viewer")
    assert client.get("/console/tickets/new").status_code == 403
    url = f"/console/tickets/{fleet['ticket']}"
    answer = client.post(f"{url}/assign", data={"csrftoken": token, "technician_id": str(tech)})
    assert "Viewers cannot assign" in unquote(answer.headers["location"])
