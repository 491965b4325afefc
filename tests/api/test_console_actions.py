"""The console's ticket actions over HTTP: forms with a CSRF token, a redirect back, and a
refusal shown on the page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import psycopg
import pytest
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


@pytest.fixture
def slow_commits(db: Pool) -> Iterator[None]:
    """Every commit that wrote a ticket history line takes half a second (a deferred
    constraint trigger fires at COMMIT): a commit left for after the answer is then seen
    to come after it, every time, instead of once in a while."""
    with db.connection() as conn:
        conn.execute(
            "CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON ticket_history "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()"
        )
    try:
        yield
    finally:
        with db.connection() as conn:
            conn.execute("DROP TRIGGER test_slow_commit ON ticket_history")
            conn.execute("DROP FUNCTION test_slow_commit()")


@pytest.mark.usefixtures("slow_commits")
def test_a_write_is_committed_before_its_redirect_is_answered(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    """Post, redirect, get at once: the page the redirect leads to, and any other connection,
    see the change. (When the request's connection was given back after the answer, the
    commit came after the redirect, and the GET showed the page without the comment.)"""
    # An agent limited to the ticket's customer: the scope check reads on the request's
    # connection first, so the use case's transaction is a savepoint in the request's, and
    # the request's commit is the one that counts.
    with db.connection() as conn:
        create_user(
            conn,
            email="scoped@example.org",
            name="Scoped",
            role="agent",
            password=PASSWORD,
            customer_ids=[fleet["amelie"]],
        )
    client.post("/console/sign-in", data={"email": "scoped@example.org", "password": PASSWORD})
    client.get("/console/tickets")
    token = str(client.cookies["csrftoken"])
    url = f"/console/tickets/{fleet['ticket']}"
    for i in range(3):
        posted = client.post(f"{url}/comments", data={"csrftoken": token, "comment": f"call {i}"})
        assert posted.status_code == 303
        with db.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM ticket_history WHERE ticket_id = %s AND comment = %s",
                (fleet["ticket"], f"call {i}"),
            ).fetchone()
        assert row == (1,)
        assert f"call {i}" in client.get(posted.headers["location"]).text
