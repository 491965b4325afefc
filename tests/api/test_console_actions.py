"""The console's ticket actions over HTTP: forms with a CSRF token, a redirect back, and a
refusal shown on the page."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.auth.users import create_user

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
PASSWORD = "correct horse battery"


def signed_in(client: httpx.Client, db: Pool, role: str) -> str:
    """Sign a new user in; the CSRF token the console's pages set."""
    email = f"{role}@example.org"
    with db.connection() as conn:
        create_user(conn, email=email, name=role.title(), role=role, password=PASSWORD)
    client.post("/console/sign-in", data={"email": email, "password": PASSWORD})
    client.get("/console/tickets")
    return str(client.cookies["csrftoken"])


def test_an_agent_moves_a_ticket_and_a_forbidden_move_comes_back_as_a_message(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    token = signed_in(client, db, "agent")
    url = f"/console/tickets/{fleet['ticket']}"
    moved = client.post(f"{url}/status", data={"csrftoken": token, "status": "assigned"})
    assert (moved.status_code, moved.headers["location"]) == (303, url)
    refused = client.post(f"{url}/status", data={"csrftoken": token, "status": "closed"})
    assert refused.status_code == 303
    assert "cannot go from assigned to closed" in unquote(refused.headers["location"])
    page = client.get(refused.headers["location"])
    assert "cannot go from assigned to closed" in page.text
    forged = client.post(f"{url}/status", data={"status": "cancelled"})  # no token
    assert forged.status_code == 403


def test_a_viewer_sees_no_forms_and_cannot_act(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    token = signed_in(client, db, "viewer")
    url = f"/console/tickets/{fleet['ticket']}"
    assert 'id="work"' not in client.get(url).text
    answer = client.post(
        f"/console/faults/{fleet['fault']}/acknowledge",
        data={"csrftoken": token, "ticket_id": str(fleet["ticket"])},
    )
    assert "Viewers cannot acknowledge faults" in unquote(answer.headers["location"])
