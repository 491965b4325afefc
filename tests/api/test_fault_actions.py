"""``POST /api/v1/faults/{id}/acknowledge``: someone takes a fault in hand, on the record."""

from __future__ import annotations

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def test_an_agent_acknowledges_a_fault_with_a_comment_and_it_is_history(
    client: httpx.Client, agent: dict[str, str], admin: dict[str, str], fleet: dict[str, int]
) -> None:
    url = f"/api/v1/faults/{fleet['fault']}/acknowledge"
    answer = client.post(url, json={"comment": "calling the customer"}, headers=agent)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"]
    assert [(n["action"], n["comment"]) for n in body["notes"]] == [
        ("acknowledged", "calling the customer")
    ]
    again = client.post(url, json={"comment": "technician booked"}, headers=admin).json()
    assert again["acknowledged_by"] == body["acknowledged_by"]  # the first one stands
    assert again["notes"][1]["author"] != body["acknowledged_by"]
    assert [n["comment"] for n in again["notes"]] == ["calling the customer", "technician booked"]
    live = client.get("/api/v1/faults?status=acknowledged", headers=agent).json()["items"]
    assert [f["id"] for f in live] == [fleet["fault"]]


def test_who_may_and_what_cannot_be_acknowledged(
    client: httpx.Client,
    agent: dict[str, str],
    viewer: dict[str, str],
    fleet: dict[str, int],
) -> None:
    url = f"/api/v1/faults/{fleet['fault']}/acknowledge"
    assert client.post(url, json={}, headers=viewer).status_code == 403
    assert client.post(url, json={"unknown": 1}, headers=agent).status_code == 422
    missing = client.post("/api/v1/faults/999999/acknowledge", json={}, headers=agent)
    assert missing.status_code == 404
    cleared = client.post(
        f"/api/v1/faults/{fleet['old_fault']}/acknowledge", json={}, headers=agent
    )
    assert cleared.status_code == 409
    assert "cleared" in cleared.json()["detail"]
