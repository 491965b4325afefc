"""Stores, zones and beacons through the API: added, shown with the heat map, bad input refused."""

from __future__ import annotations

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from tests.api import factories

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"


def test_a_store_with_zones_and_both_kinds_of_beacon(
    client: httpx.Client, agent: dict[str, str], viewer: dict[str, str], db: Pool
) -> None:
    hours = {"mon": [["08:00", "20:00"]], "sat": [["09:00", "13:00"], ["14:00", "19:00"]]}
    made = client.post(
        "/api/v1/stores",
        json={
            "code": "LYON-1",
            "name": "Lyon Part-Dieu",
            "timezone": "Europe/Paris",
            "opening_hours": hours,
        },
        headers=agent,
    )
    assert made.status_code == 201, made.text
    store = made.json()["id"]
    zone = client.post(
        f"/api/v1/stores/{store}/zones",
        json={"code": "dairy", "name": "Dairy", "categories": ["Dairy", "cheese"]},
        headers=agent,
    )
    assert zone.status_code == 201, zone.text
    zone_id = zone.json()["id"]
    ibeacon = client.post(
        f"/api/v1/zones/{zone_id}/beacons",
        json={"ibeacon": {"uuid": UUID, "major": 1, "minor": 7}},
        headers=agent,
    )
    assert ibeacon.json()["identifier"] == f"ibeacon:{UUID.lower()}:1:7"
    eddystone = client.post(
        f"/api/v1/zones/{zone_id}/beacons",
        json={"eddystone": {"namespace": "EDD1EBEAC04E5DEFA017", "instance": "0000000000A1"}},
        headers=agent,
    )
    assert eddystone.status_code == 201, eddystone.text
    again = client.post(
        f"/api/v1/zones/{zone_id}/beacons",
        json={"ibeacon": {"uuid": UUID.lower(), "major": 1, "minor": 7}},
        headers=agent,
    )
    assert again.status_code == 409
    detail = client.get(f"/api/v1/stores/{store}", headers=viewer).json()
    assert detail["opening_hours"] == hours
    assert detail["zones"][0]["categories"] == ["cheese", "dairy"]
    assert {b["kind"] for b in detail["zones"][0]["beacons"]} == {"ibeacon", "eddystone"}
    assert detail["zones"][0]["visits"] == 0
    with db.connection() as conn:
        audited = conn.execute(
            "SELECT entity FROM audit_log WHERE entity IN ('store', 'zone', 'beacon') ORDER BY id"
        ).fetchall()
    assert [row[0] for row in audited] == ["store", "zone", "beacon", "beacon"]


def test_bad_input_is_refused_with_a_reason(
    client: httpx.Client, agent: dict[str, str], viewer: dict[str, str], db: Pool
) -> None:
    bad_hours = client.post(
        "/api/v1/stores",
        json={"code": "X", "name": "X", "opening_hours": {"monday": [["08:00", "20:00"]]}},
        headers=agent,
    )
    assert bad_hours.status_code == 422
    assert "mon" in str(bad_hours.json()["problems"])
    bad_zone = client.post(
        "/api/v1/stores",
        json={"code": "X", "name": "X", "timezone": "Mars/Olympus"},
        headers=agent,
    )
    assert bad_zone.status_code == 422
    store = client.post("/api/v1/stores", json={"code": "S", "name": "S"}, headers=agent).json()
    zone = client.post(
        f"/api/v1/stores/{store['id']}/zones", json={"code": "z", "name": "Z"}, headers=agent
    ).json()
    for beacon in (
        {"ibeacon": {"uuid": "not-a-uuid", "major": 1, "minor": 1}},
        {"ibeacon": {"uuid": UUID, "major": 70000, "minor": 1}},
        {"eddystone": {"namespace": "abc", "instance": "0000000000a1"}},
        {},
    ):
        answer = client.post(f"/api/v1/zones/{zone['id']}/beacons", json=beacon, headers=agent)
        assert answer.status_code == 422, beacon
    assert (
        client.post(
            "/api/v1/zones/999/beacons",
            json={"ibeacon": {"uuid": UUID, "major": 1, "minor": 1}},
            headers=agent,
        ).status_code
        == 404
    )
    assert (
        client.post("/api/v1/stores", json={"code": "S", "name": "S"}, headers=agent).status_code
        == 409
    )
    assert (
        client.post("/api/v1/stores", json={"code": "S2", "name": "S"}, headers=viewer).status_code
        == 403
    )


def test_an_installation_belongs_to_one_customer(
    client: httpx.Client, agent: dict[str, str], db: Pool
) -> None:
    with db.connection() as conn:
        first = factories.customer(conn)
        second = factories.customer(conn, "Other", email="o@example.net")
    body = {"installation_id": "app-1", "customer_id": first}
    assert client.post("/api/v1/app-installations", json=body, headers=agent).status_code == 201
    assert client.post("/api/v1/app-installations", json=body, headers=agent).status_code == 201
    taken = client.post(
        "/api/v1/app-installations",
        json={"installation_id": "app-1", "customer_id": second},
        headers=agent,
    )
    assert taken.status_code == 409
    missing = client.post(
        "/api/v1/app-installations",
        json={"installation_id": "app-2", "customer_id": 999},
        headers=agent,
    )
    assert missing.status_code == 404
