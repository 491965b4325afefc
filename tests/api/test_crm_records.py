"""Creating and editing CRM records through /api/v1: validation, roles, the audit log, and
the customer 360 and ticket panel that read them back."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

Pool = ConnectionPool[psycopg.Connection[TupleRow]]

ANN = {
    "kind": "person",
    "name": "Ann Lee",
    "email": "Ann.Lee@Example.org",
    "phone": "+44 20 7946 0958",
    "preferred_channel": "sms",
    "external_ref": "ERP-1001",
}


def audit(db: Pool, entity: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(
            "SELECT actor, entity_id, action, detail FROM audit_log WHERE entity = %s ORDER BY id",
            (entity,),
        ).fetchall()


def test_an_agent_creates_and_edits_a_customer_and_every_change_is_audited(
    client: httpx.Client, agent: dict[str, str], db: Pool
) -> None:
    created = client.post("/api/v1/customers", json=ANN, headers=agent)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["phone"], body["email"], body["preferred_channel"]) == (
        "+442079460958",  # E.164
        "Ann.Lee@example.org",  # the domain normalised, the local part kept
        "sms",
    )
    customer_id = body["id"]
    edited = client.patch(
        f"/api/v1/customers/{customer_id}", json={"phone": "+44 20 7946 0000"}, headers=agent
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "Ann Lee"  # fields not sent stay
    again = client.patch(
        f"/api/v1/customers/{customer_id}", json={"phone": "+442079460000"}, headers=agent
    )
    assert again.status_code == 200
    lines = audit(db, "customer")
    assert [(a, e, act) for a, e, act, _ in lines] == [
        ("test agent", str(customer_id), "created"),
        ("test agent", str(customer_id), "updated"),  # the same number again: no line
    ]
    assert lines[0][3]["email"] == "Ann.Lee@example.org"
    assert lines[1][3] == {"phone": ["+442079460958", "+442079460000"]}
    timeline = client.get(f"/api/v1/customers/{customer_id}", headers=agent).json()["timeline"]
    assert [t["summary"] for t in timeline] == ["customer updated", "customer created"]


def test_bad_fields_are_refused_with_the_field_and_the_reason(
    client: httpx.Client, agent: dict[str, str]
) -> None:
    bad = client.post(
        "/api/v1/customers",
        json={**ANN, "email": "ann@@example", "phone": "12345"},
        headers=agent,
    )
    assert bad.status_code == 422
    fields = bad.json()["fields"]
    assert "not an e-mail address" in fields["email"]
    assert "international form" in fields["phone"]
    unreachable = client.post(
        "/api/v1/customers",
        json={
            "kind": "person",
            "name": "Bo",
            "email": "bo@example.org",
            "preferred_channel": "sms",
        },
        headers=agent,
    )
    assert unreachable.status_code == 422
    assert "needs a phone" in unreachable.json()["detail"]
    assert client.post("/api/v1/customers", json=ANN, headers=agent).status_code == 201
    twin = client.post(
        "/api/v1/customers",
        json={**ANN, "email": "ann.lee@EXAMPLE.org", "external_ref": None},
        headers=agent,
    )
    assert twin.status_code == 422
    assert twin.json()["fields"] == {"email": "another customer has this e-mail address"}


def test_viewers_read_but_do_not_write(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    assert client.post("/api/v1/customers", json=ANN, headers=viewer).status_code == 403
    patch = client.patch(f"/api/v1/customers/{fleet['amelie']}", json={"name": "X"}, headers=viewer)
    assert patch.status_code == 403
    assert client.get(f"/api/v1/customers/{fleet['amelie']}", headers=viewer).status_code == 200


def test_sites_devices_and_contracts_keep_to_their_customer(
    client: httpx.Client, agent: dict[str, str], admin: dict[str, str], db: Pool
) -> None:
    ann = client.post("/api/v1/customers", json=ANN, headers=agent).json()["id"]
    bob = client.post(
        "/api/v1/customers",
        json={"kind": "business", "name": "Bob's Bistro", "email": "bob@example.org"},
        headers=agent,
    ).json()["id"]
    site = client.post(
        "/api/v1/sites",
        json={"customer_id": ann, "label": "Home", "address": "1 High St", "latitude": 51.5},
        headers=agent,
    )
    assert site.status_code == 422
    assert "both latitude and longitude" in site.text
    site_id = client.post(
        "/api/v1/sites",
        json={"customer_id": ann, "label": "Home", "address": "1 High St"},
        headers=agent,
    ).json()["id"]
    device = {
        "serial": "FR-900001",
        "device_type": "refrigerator",
        "model": "CoolFrost CF-300",
        "customer_id": bob,
        "site_id": site_id,
        "installed_on": "2025-01-10",
        "warranty_end": "2027-01-10",
    }
    wrong_site = client.post("/api/v1/devices", json=device, headers=agent)
    assert wrong_site.status_code == 422
    assert wrong_site.json()["fields"] == {"site_id": "the site belongs to another customer"}
    unknown_model = client.post(
        "/api/v1/devices", json={**device, "customer_id": ann, "model": "IceBox 1"}, headers=agent
    )
    assert "not a refrigerator model" in unknown_model.json()["fields"]["model"]
    backwards = client.post(
        "/api/v1/devices",
        json={**device, "customer_id": ann, "warranty_end": "2024-01-01"},
        headers=agent,
    )
    assert "before installed_on" in backwards.json()["detail"]
    bad_serial = client.post(
        "/api/v1/devices", json={**device, "customer_id": ann, "serial": "FR 1/2"}, headers=agent
    )
    assert "serial" in bad_serial.json()["fields"]
    made = client.post("/api/v1/devices", json={**device, "customer_id": ann}, headers=agent)
    assert made.status_code == 201, made.text
    device_id = made.json()["id"]
    fixed = client.patch("/api/v1/devices/FR-900001", json={"serial": "X-1"}, headers=agent)
    assert fixed.status_code == 422  # the serial is the device's identity
    moved = client.patch("/api/v1/devices/FR-900001", json={"customer_id": bob}, headers=agent)
    assert (moved.json()["customer_id"], moved.json()["site_id"]) == (bob, None)
    contract = {
        "reference": "SC-2026-001",
        "customer_id": ann,
        "device_id": device_id,
        "tier": "premium",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    other = client.post("/api/v1/contracts", json=contract, headers=agent)
    assert other.json()["fields"] == {"device_id": "the device does not belong to this customer"}
    dates = client.post(
        "/api/v1/contracts",
        json={**contract, "device_id": None, "ends_on": "2025-12-31"},
        headers=agent,
    )
    assert "is before starts_on" in dates.json()["detail"]
    good = client.post("/api/v1/contracts", json={**contract, "device_id": None}, headers=agent)
    assert good.status_code == 201, good.text
    contract_id = good.json()["id"]
    assert client.delete(f"/api/v1/contracts/{contract_id}", headers=agent).status_code == 403
    assert client.delete(f"/api/v1/contracts/{contract_id}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/sites/{site_id}", headers=admin).status_code == 204
    assert [a[2] for a in audit(db, "contract")] == ["created", "deleted"]
    assert [a[2] for a in audit(db, "device")] == ["created", "updated"]
    assert audit(db, "device")[1][3] == {
        "customer_id": [ann, bob],
        "site_id": [site_id, None],
    }


def test_a_site_with_devices_is_not_deleted(
    client: httpx.Client, admin: dict[str, str], fleet: dict[str, int]
) -> None:
    answer = client.delete(f"/api/v1/sites/{fleet['home']}", headers=admin)
    assert answer.status_code == 422
    assert "move them first" in answer.json()["detail"]


def test_customers_are_searched_and_archived_not_deleted(
    client: httpx.Client, agent: dict[str, str], admin: dict[str, str], fleet: dict[str, int]
) -> None:
    found = client.get("/api/v1/customers?q=boulang", headers=agent).json()["items"]
    assert [c["id"] for c in found] == [fleet["bakery"]]
    by_phone = client.get("/api/v1/customers?q=4 72 10", headers=agent).json()["items"]
    assert by_phone == []  # stored numbers are E.164; the fleet's are not normalised
    assert (
        client.post(f"/api/v1/customers/{fleet['bakery']}/archive", headers=agent).status_code
        == 403
    )
    archived = client.post(f"/api/v1/customers/{fleet['bakery']}/archive", headers=admin)
    assert archived.json()["archived_at"] is not None
    names = [c["name"] for c in client.get("/api/v1/customers", headers=agent).json()["items"]]
    assert names == ["Amélie Laurent"]
    gone = client.get("/api/v1/customers?archived=true", headers=agent).json()["items"]
    assert [c["id"] for c in gone] == [fleet["bakery"]]
    client.post(f"/api/v1/customers/{fleet['bakery']}/restore", headers=admin)
    assert len(client.get("/api/v1/customers", headers=agent).json()["items"]) == 2


def test_the_customer_360_shows_devices_with_their_cover_contracts_tickets_and_timeline(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int], db: Pool
) -> None:
    with db.connection() as conn:
        conn.execute("UPDATE devices SET warranty_end = '2026-01-01' WHERE serial = 'WM-1'")
    contract = {
        "reference": "SC-7",
        "customer_id": fleet["amelie"],
        "device_id": fleet["washer"],
        "tier": "standard",
        "starts_on": "2026-01-01",
        "ends_on": "2027-12-31",
    }
    assert client.post("/api/v1/contracts", json=contract, headers=agent).status_code == 201
    view = client.get(f"/api/v1/customers/{fleet['amelie']}", headers=agent).json()
    cover = {d["serial"]: d["cover"] for d in view["devices"]}
    assert (cover["RF-1"]["state"], cover["RF-1"]["billable"]) == ("warranty", False)
    assert (cover["WM-1"]["state"], cover["WM-1"]["contract_reference"]) == ("contract", "SC-7")
    assert [c["reference"] for c in view["contracts"]] == ["SC-7"]
    assert [t["id"] for t in view["open_tickets"]] == [fleet["ticket"]]
    assert view["past_tickets"] == []
    assert [f["id"] for f in view["recent_faults"]] == [fleet["fault"], fleet["old_fault"]]
    times = [t["at"] for t in view["timeline"]]
    assert times == sorted(times, reverse=True)
    kinds = {t["kind"] for t in view["timeline"]}
    assert kinds == {"fault", "record"}  # the fleet's ticket has no history lines
    assert view["timeline"][0]["summary"] == "contract created"


def test_the_ticket_panel_shows_contacts_cover_other_devices_and_past_tickets(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    panel = client.get(f"/api/v1/tickets/{fleet['ticket']}/customer", headers=viewer).json()
    assert (panel["name"], panel["email"], panel["phone"], panel["preferred_channel"]) == (
        "Amélie Laurent",
        "amelie.laurent@example.net",
        "+33 4 72 10 20 31",
        "email",
    )
    assert panel["cover"]["state"] == "warranty"
    assert [d["serial"] for d in panel["other_devices"]] == ["WM-1"]
    assert panel["past_tickets"] == []
    bakery = client.get(f"/api/v1/tickets/{fleet['older_ticket']}/customer", headers=viewer)
    assert bakery.json()["cover"] is None  # a ticket about no device
