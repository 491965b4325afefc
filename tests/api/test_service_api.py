"""The service API: technicians, reactive tickets, assignment with suggestions, an
appointment window, resolution with a code, the queue's filters, SLA and entitlement."""

from __future__ import annotations

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
LYON_TECH = {
    "name": "Claire Dubois",
    "email": "claire@example.com",
    "skills": ["refrigerator"],
    "region": "Lyon",
    "home_latitude": 45.75,
    "home_longitude": 4.85,
}
PARIS_TECH = {**LYON_TECH, "name": "Paul Martin", "email": "paul@example.com"}
PARIS_TECH.update(home_latitude=48.85, home_longitude=2.35)


def test_only_admins_add_technicians_and_everyone_signed_in_lists_them(
    client: httpx.Client, admin: dict[str, str], agent: dict[str, str], db: Pool
) -> None:
    assert client.post("/api/v1/technicians", json=LYON_TECH, headers=agent).status_code == 403
    created = client.post("/api/v1/technicians", json=LYON_TECH, headers=admin)
    assert created.status_code == 201
    again = client.post("/api/v1/technicians", json=LYON_TECH, headers=admin)
    assert again.json()["id"] == created.json()["id"]  # idempotent by e-mail
    bad = client.post("/api/v1/technicians", json={**LYON_TECH, "email": "nope"}, headers=admin)
    assert bad.status_code == 422
    listed = client.get("/api/v1/technicians", headers=agent).json()
    assert [(t["name"], t["skills"], t["live_tickets"]) for t in listed] == [
        ("Claire Dubois", ["refrigerator"], 0)
    ]
    with db.connection() as conn:
        audit = conn.execute("SELECT entity, action FROM audit_log").fetchall()
    assert audit == [("technician", "created")]


def test_assign_from_the_suggestions_schedule_and_resolve(
    client: httpx.Client,
    admin: dict[str, str],
    agent: dict[str, str],
    fleet: dict[str, int],
    db: Pool,
) -> None:
    paris = client.post("/api/v1/technicians", json=PARIS_TECH, headers=admin).json()
    lyon = client.post("/api/v1/technicians", json=LYON_TECH, headers=admin).json()
    url = f"/api/v1/tickets/{fleet['ticket']}"
    suggested = client.get(f"{url}/suggestions", headers=agent).json()
    assert [s["technician_id"] for s in suggested] == [lyon["id"], paris["id"]]
    assert suggested[0]["why"].startswith("skills refrigerator; 1.9 km from the site")
    assigned = client.post(f"{url}/assign", json={"technician_id": lyon["id"]}, headers=agent)
    assert (assigned.json()["status"], assigned.json()["technician_name"]) == (
        "assigned",
        "Claire Dubois",
    )
    window = {"window_start": "2026-11-25T08:00:00Z", "window_end": "2026-11-25T11:00:00Z"}
    scheduled = client.post(f"{url}/schedule", json=window, headers=agent).json()
    assert (scheduled["status"], scheduled["window_start"]) == ("scheduled", "2026-11-25T08:00:00Z")
    day = client.get(f"/api/v1/technicians/{lyon['id']}/day?date=2026-11-25", headers=agent)
    assert [v["ticket_id"] for v in day.json()] == [fleet["ticket"]]
    backwards = {"window_start": "2026-11-25T11:00:00Z", "window_end": "2026-11-25T08:00:00Z"}
    refused = client.post(f"{url}/schedule", json=backwards, headers=agent)
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_request")
    client.patch(url, json={"status": "in_progress"}, headers=agent)
    unknown = client.post(f"{url}/resolve", json={"code": "magic"}, headers=agent)
    assert unknown.status_code == 422
    resolved = client.post(f"{url}/resolve", json={"code": "part_replaced"}, headers=agent).json()
    assert (resolved["status"], resolved["resolution_code"], resolved["first_time_fix"]) == (
        "resolved",
        "part_replaced",
        True,
    )
    assert resolved["sla"]["resolution"]["state"] == "achieved"
    with db.connection() as conn:
        actions = conn.execute(
            "SELECT action FROM audit_log WHERE entity = 'ticket' ORDER BY id"
        ).fetchall()
    assert [a for (a,) in actions] == ["assignment", "schedule", "status", "resolution"]


def test_an_agent_logs_a_call_and_it_has_priority_sla_and_entitlement(
    client: httpx.Client, agent: dict[str, str], viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    call = {
        "customer_id": fleet["amelie"],
        "device_id": fleet["washer"],
        "subject": "Washer leaks",
        "severity": "high",
        "hours_to_failure": 10,
    }
    assert client.post("/api/v1/tickets", json=call, headers=viewer).status_code == 403
    created = client.post("/api/v1/tickets", json=call, headers=agent)
    assert created.status_code == 201
    body = created.json()
    assert (body["kind"], body["priority"], body["impact"], body["urgency"]) == (
        "reactive",
        1,
        "high",
        "high",
    )
    assert body["sla"]["tier"] == "none"
    assert body["sla"]["first_response"]["state"] == "running"
    assert body["entitlement"]["in_warranty"] is True  # warranty to 2027-03-01
    assert body["entitlement"]["billable"] is False
    not_theirs = client.post(
        "/api/v1/tickets", json={**call, "customer_id": fleet["bakery"]}, headers=agent
    )
    assert (not_theirs.status_code, not_theirs.json()["error"]) == (422, "invalid_request")
    reactive = client.get("/api/v1/tickets?kind=reactive&priority=1", headers=agent).json()
    assert [t["id"] for t in reactive["items"]] == [body["id"]]
    running = client.get("/api/v1/tickets?sla_state=running", headers=agent).json()["items"]
    assert body["id"] in [t["id"] for t in running]
    assert all(t["sla"]["state"] == "running" for t in running)


def test_service_levels_are_published(client: httpx.Client, viewer: dict[str, str]) -> None:
    levels = client.get("/api/v1/service-levels", headers=viewer).json()
    assert levels["targets"]["premium"]["P1"] == {"first_response_min": 30, "resolution_min": 240}
    assert levels["resolution_codes"]["no_fault_found"]["effect"] == "no_fault"
    assert (levels["warning_share"], levels["holidays"]) == (0.75, "DE/BE")


def test_a_call_about_no_device_is_ranked_by_the_customers_site(
    client: httpx.Client, admin: dict[str, str], agent: dict[str, str], fleet: dict[str, int]
) -> None:
    client.post("/api/v1/technicians", json=PARIS_TECH, headers=admin)
    client.post("/api/v1/technicians", json=LYON_TECH, headers=admin)
    call = {"customer_id": fleet["amelie"], "subject": "Something is off"}
    ticket = client.post("/api/v1/tickets", json=call, headers=agent).json()
    ranked = client.get(f"/api/v1/tickets/{ticket['id']}/suggestions", headers=agent).json()
    assert [s["name"] for s in ranked] == ["Claire Dubois", "Paul Martin"]
    assert ranked[0]["why"] == "skills any; 1.9 km from the site; 0 live tickets"
