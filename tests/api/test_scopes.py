"""Customer scopes: a key or user limited to some customers sees nothing of the others,
and what is not theirs answers exactly as what does not exist (404)."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from careline.cli import app as cli
from crm_core.auth.users import create_api_key, create_user

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
PASSWORD = "correct horse battery"


def _key(db: Pool, role: str, *customers: int) -> dict[str, str]:
    with db.connection() as conn:
        return {"X-API-Key": create_api_key(conn, f"scoped {role}", role, list(customers))}


def _same_as_missing(client: httpx.Client, path: str, missing: str, key: dict[str, str]) -> None:
    hidden = client.get(path, headers=key)
    absent = client.get(missing, headers=key)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["error"] == absent.json()["error"] == "not_found"
    assert hidden.json()["detail"] == absent.json()["detail"].replace(
        missing.rsplit("/", 1)[-1], path.rsplit("/", 1)[-1]
    )


def test_a_scoped_viewer_reads_only_its_customers(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    bakery = _key(db, "viewer", fleet["bakery"])
    customers = client.get("/api/v1/customers", headers=bakery).json()["items"]
    assert [c["id"] for c in customers] == [fleet["bakery"]]
    devices = client.get("/api/v1/devices", headers=bakery).json()["items"]
    assert [d["serial"] for d in devices] == ["RF-2"]
    tickets = client.get("/api/v1/tickets", headers=bakery).json()["items"]
    assert [t["id"] for t in tickets] == [fleet["older_ticket"]]
    assert client.get("/api/v1/faults", headers=bakery).json()["items"] == []
    assert client.get(f"/api/v1/customers/{fleet['bakery']}", headers=bakery).status_code == 200
    assert client.get("/api/v1/devices/RF-2", headers=bakery).status_code == 200
    older = client.get(f"/api/v1/tickets/{fleet['older_ticket']}", headers=bakery)
    assert older.status_code == 200

    _same_as_missing(
        client, f"/api/v1/customers/{fleet['amelie']}", "/api/v1/customers/999", bakery
    )
    _same_as_missing(client, f"/api/v1/tickets/{fleet['ticket']}", "/api/v1/tickets/999", bakery)
    _same_as_missing(client, f"/api/v1/faults/{fleet['fault']}", "/api/v1/faults/999", bakery)
    for path in ("/api/v1/devices/RF-1", "/api/v1/devices/RF-1/readings"):
        answer = client.get(path, headers=bakery)
        assert answer.status_code == 404
        assert answer.json()["detail"] == "device 'RF-1' does not exist"
    survey = client.get(f"/api/v1/tickets/{fleet['ticket']}/survey", headers=bakery)
    assert survey.status_code == 404
    # filtering by another customer's id finds nothing rather than leaking
    other = client.get(f"/api/v1/tickets?customer_id={fleet['amelie']}", headers=bakery)
    assert other.json()["items"] == []
    # data of no customer is for unscoped callers only
    assert client.get("/api/v1/dead-letters", headers=bakery).status_code == 403
    assert client.get("/api/v1/surveys/scores", headers=bakery).status_code == 403


def test_a_scoped_agent_cannot_change_another_customers_ticket_or_fault(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    bakery = _key(db, "agent", fleet["bakery"])
    patch = client.patch(
        f"/api/v1/tickets/{fleet['ticket']}", json={"status": "assigned"}, headers=bakery
    )
    assert patch.status_code == 404
    comment = client.post(
        f"/api/v1/tickets/{fleet['ticket']}/comments", json={"comment": "hi"}, headers=bakery
    )
    assert comment.status_code == 404
    ack = client.post(f"/api/v1/faults/{fleet['fault']}/acknowledge", json={}, headers=bakery)
    assert ack.status_code == 404
    survey = client.post(f"/api/v1/tickets/{fleet['ticket']}/survey", headers=bakery)
    assert survey.status_code == 404
    with db.connection() as conn:
        status = conn.execute("SELECT status FROM tickets WHERE id = %s", (fleet["ticket"],))
        assert status.fetchone() == ("new",)
        fault = conn.execute("SELECT status FROM faults WHERE id = %s", (fleet["fault"],))
        assert fault.fetchone() == ("open",)
        history = conn.execute(
            "SELECT count(*) FROM ticket_history WHERE ticket_id = %s", (fleet["ticket"],)
        )
        assert history.fetchone() == (0,)
    own = client.patch(
        f"/api/v1/tickets/{fleet['older_ticket']}",
        json={"status": "closed", "comment": "done"},
        headers=bakery,
    )
    assert own.status_code in (200, 409)  # in scope: the lifecycle decides


def test_a_scoped_console_user_sees_only_its_customers(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    with db.connection() as conn:
        create_user(
            conn,
            email="lyon@example.com",
            name="Lyon desk",
            role="agent",
            password=PASSWORD,
            customer_ids=[fleet["bakery"]],
        )
    signed = client.post(
        "/console/sign-in", data={"email": "lyon@example.com", "password": PASSWORD}
    )
    assert signed.status_code == 303
    tickets = client.get("/console/tickets")
    assert "Noisy fan" in tickets.text
    assert client.get(f"/console/tickets/{fleet['ticket']}").status_code == 404
    assert client.get("/console/devices/RF-1").status_code == 404
    assert client.get("/console/devices/RF-2").status_code == 200
    assert client.get("/api/v1/devices/RF-1").status_code == 404
    # pages spanning every customer are not for a limited user
    for page in ("/console/product-issues", "/console/reports", "/console/dead-letters"):
        refused = client.get(page)
        assert refused.status_code == 403, page
    assert "limited to some" in client.get("/console/product-issues").text
    assert client.get("/api/v1/product-issues").status_code == 403
    # thresholds of another customer's device or of another customer
    assert client.get("/console/devices/RF-1/thresholds").status_code == 404
    assert client.get(f"/console/customers/{fleet['amelie']}/thresholds").status_code == 404
    assert client.get("/console/devices/RF-2/thresholds").status_code == 200
    assert client.get("/api/v1/devices/RF-1/thresholds").status_code == 404
    assert client.get(f"/api/v1/customers/{fleet['amelie']}/thresholds").status_code == 404
    assert client.get(f"/api/v1/customers/{fleet['bakery']}/thresholds").status_code == 200
    assert client.get("/api/v1/reports").status_code == 403


def test_keys_are_listed_and_revoked_from_the_cli(
    client: httpx.Client, db: Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELINE_DATABASE__URL", database_url)
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["users", "create-api-key", "--name", "lyon sync", "--customer", "7", "--customer", "9"],
    )
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    prefix = key.split("_")[1]
    listed = runner.invoke(cli, ["users", "list-api-keys"])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if row.startswith(prefix))
    assert "viewer" in line
    assert "7,9" in line
    assert "lyon sync" in line
    assert key not in listed.output
    assert client.get("/api/v1/tickets", headers={"X-API-Key": key}).status_code == 200
    revoked = runner.invoke(cli, ["users", "revoke-api-key", prefix])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/tickets", headers={"X-API-Key": key}).status_code == 401
    assert runner.invoke(cli, ["users", "revoke-api-key", prefix]).exit_code == 1
    assert prefix not in runner.invoke(cli, ["users", "list-api-keys"]).output
    assert prefix in runner.invoke(cli, ["users", "list-api-keys", "--all"]).output
