"""Thresholds over HTTP: effective values with their sources, overrides per device and per
customer (agent role, validation, audit), baseline resets, and the console's forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx
import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from tests.api.conftest import NOW
from tests.api.test_console_actions import signed_in

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def audit(db: Pool) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(
            "SELECT actor, entity, entity_id, action, detail, at FROM audit_log ORDER BY id"
        ).fetchall()


def setting(body: dict[str, Any], metric: str, name: str) -> tuple[Any, str, str]:
    [found] = [m for m in body["metrics"] if m["metric"] == metric]
    value = found["effective"][name]
    return value["value"], value["source"], value["note"]


def test_effective_values_come_from_device_then_customer_then_model(
    client: httpx.Client, viewer: dict[str, str], agent: dict[str, str], fleet: dict[str, int]
) -> None:
    url = "/api/v1/devices/RF-1/thresholds"
    body = client.get(url, headers=viewer).json()
    assert setting(body, "cabinet_temp", "threshold") == (4.0, "model", "")
    assert setting(body, "telemetry", "no_data_after_s") == (3600.0, "model", "")
    metrics = [m["metric"] for m in body["metrics"]]
    assert metrics[:4] == ["cabinet_temp", "freezer_temp", "compressor_power", "door_open"]
    assert metrics[-1] == "telemetry"
    [door] = [m for m in body["metrics"] if m["metric"] == "door_open"]
    assert "threshold" not in door["effective"]  # a door switch has hard limits alone

    customer = f"/api/v1/customers/{fleet['amelie']}/thresholds/cabinet_temp"
    put = client.put(customer, json={"threshold": 6.0, "limit_high": 9.0}, headers=agent)
    assert put.status_code == 200, put.text
    assert put.json()["overrides"][0]["settings"] == {"threshold": 6.0, "limit_high": 9.0}
    put = client.put(f"{url}/cabinet_temp", json={"threshold": 5.0}, headers=agent)
    assert put.status_code == 200, put.text

    body = put.json()
    assert setting(body, "cabinet_temp", "threshold") == (5.0, "device", "")
    assert setting(body, "cabinet_temp", "limit_high") == (9.0, "customer", "")
    assert setting(body, "cabinet_temp", "limit_high_for_s") == (1200.0, "model", "")
    # the customer's other devices inherit it; another customer's do not
    other = client.get("/api/v1/devices/RF-2/thresholds", headers=viewer).json()
    assert setting(other, "cabinet_temp", "limit_high") == (8.0, "model", "")

    deleted = client.delete(f"{url}/cabinet_temp", headers=agent)
    assert setting(deleted.json(), "cabinet_temp", "threshold") == (6.0, "customer", "")
    assert client.delete(f"{url}/cabinet_temp", headers=agent).status_code == 404


def test_changes_need_an_agent_and_land_in_the_audit_log(
    client: httpx.Client,
    db: Pool,
    viewer: dict[str, str],
    agent: dict[str, str],
    fleet: dict[str, int],
) -> None:
    url = "/api/v1/devices/RF-1/thresholds/cabinet_temp"
    refused = client.put(url, json={"threshold": 5.0}, headers=viewer)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    assert client.put(url, json={"threshold": 5.0}).status_code == 401

    client.put(url, json={"threshold": 5.0}, headers=agent)
    client.put(url, json={"threshold": 6.5, "enabled": False}, headers=agent)
    client.delete(url, headers=agent)

    rows = audit(db)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("test agent", "detector_override", "device:RF-1:cabinet_temp", "set"),
        ("test agent", "detector_override", "device:RF-1:cabinet_temp", "set"),
        ("test agent", "detector_override", "device:RF-1:cabinet_temp", "removed"),
    ]
    assert rows[1][4]["old"] == {"threshold": 5.0}
    assert rows[1][4]["new"] == {"threshold": 6.5, "enabled": False}
    assert rows[2][4]["new"] is None
    assert all(r[5] == NOW for r in rows)


def test_bad_values_get_a_clear_error_and_change_nothing(
    client: httpx.Client, db: Pool, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    url = "/api/v1/devices/RF-1/thresholds"
    cases = [
        (
            "cabinet_temp",
            {"limit_low": 9.0, "limit_low_for_s": 60},
            422,
            "must be below limit_high",
        ),
        ("cabinet_temp", {"limit_high_for_s": -5}, 422, "greater than or equal to 0"),
        ("cabinet_temp", {"threshold": 0}, 422, "greater than 0"),
        ("cabinet_temp", {}, 422, "nothing to set"),
        ("cabinet_temp", {"treshold": 5}, 422, "Extra inputs"),
        ("door_open", {"threshold": 5}, 422, "threshold cannot be set here"),
        ("telemetry", {"threshold": 5}, 422, "cannot be set here"),
        ("telemetry", {"no_data_after_s": 5}, 422, "at least the reporting interval"),
    ]
    for metric, body, status, message in cases:
        answer = client.put(f"{url}/{metric}", json=body, headers=agent)
        assert answer.status_code == status, (metric, body, answer.text)
        assert message in answer.text, (metric, body, answer.text)
    nan = client.put(
        f"{url}/cabinet_temp",
        content=b'{"limit_high": NaN}',
        headers={**agent, "Content-Type": "application/json"},
    )
    assert nan.status_code == 422
    assert "finite" in nan.text
    missing = client.put(
        "/api/v1/devices/NOPE/thresholds/cabinet_temp", json={"threshold": 5}, headers=agent
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (
        client.put(
            "/api/v1/customers/999/thresholds/cabinet_temp", json={"threshold": 5}, headers=agent
        ).status_code
        == 404
    )
    assert audit(db) == []


def test_a_customer_override_that_would_break_a_devices_own_is_refused(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    device = "/api/v1/devices/RF-1/thresholds/cabinet_temp"
    assert (
        client.put(
            device, json={"limit_low": 2.0, "limit_low_for_s": 600}, headers=agent
        ).status_code
        == 200
    )
    answer = client.put(
        f"/api/v1/customers/{fleet['amelie']}/thresholds/cabinet_temp",
        json={"limit_high": 1.0},
        headers=agent,
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "error": "invalid_setting",
        "detail": "cabinet_temp: limit_low (2) must be below limit_high (1) on device RF-1 "
        "(its own override)",
    }


def test_a_baseline_reset_is_recorded_clears_open_faults_and_is_audited(
    client: httpx.Client,
    db: Pool,
    viewer: dict[str, str],
    agent: dict[str, str],
    fleet: dict[str, int],
) -> None:
    url = "/api/v1/devices/RF-1/baseline-reset"
    assert client.post(url, json={"reason": "new compressor"}, headers=viewer).status_code == 403
    assert client.post(url, json={"reason": ""}, headers=agent).status_code == 422
    bad = client.post(url, json={"reason": "x", "metric": "door_open"}, headers=agent)
    assert bad.status_code == 422
    assert "not a metric with a detector" in bad.text

    done = client.post(url, json={"reason": "compressor replaced"}, headers=agent)

    assert done.status_code == 200, done.text
    assert done.json() == {
        "reset_id": 1,
        "device": "RF-1",
        "metric": None,
        "faults_cleared": [fleet["fault"]],
    }
    with db.connection() as conn:
        fault = conn.execute(
            "SELECT status, cleared_at FROM faults WHERE id = %s", (fleet["fault"],)
        ).fetchone()
        note = conn.execute("SELECT action, comment FROM fault_notes").fetchall()
        reset = conn.execute(
            "SELECT device_id, metric, reason, actor FROM baseline_resets"
        ).fetchall()
    assert fault == ("cleared", NOW)
    assert note == [("commented", "cleared by a baseline reset: compressor replaced")]
    assert reset == [(fleet["fridge"], None, "compressor replaced", "test agent")]
    [row] = audit(db)
    assert row[1:4] == ("device", "RF-1", "baseline_reset")
    assert row[4]["faults_cleared"] == [fleet["fault"]]
    shown = client.get("/api/v1/devices/RF-1/thresholds", headers=viewer).json()
    assert [r["reason"] for r in shown["resets"]] == ["compressor replaced"]


def test_the_console_page_shows_sources_and_its_forms_change_them_behind_csrf(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    token = signed_in(client, db, "agent")
    page = client.get("/console/devices/RF-1")
    assert 'href="/console/devices/RF-1/thresholds"' in page.text
    url = "/console/devices/RF-1/thresholds"
    saved = client.post(
        f"{url}/cabinet_temp",
        data={"csrftoken": token, "threshold": "5.5", "enabled": "", "limit_high": ""},
    )
    assert (saved.status_code, saved.headers["location"]) == (303, url)
    text = client.get(url).text
    assert 'id="cabinet_temp-threshold"' in text
    section = text.split('id="cabinet_temp-threshold"')[1].split("</dd>")[0]
    assert "5.5" in section
    assert "source-device" in section

    refused = client.post(f"{url}/cabinet_temp", data={"csrftoken": token, "threshold": "abc"})
    assert "is not a number" in unquote(refused.headers["location"])
    assert "is not a number" in client.get(refused.headers["location"]).text

    forged = client.post(f"{url}/cabinet_temp", data={"threshold": "9"})  # no token
    assert forged.status_code == 403
    reset = client.post(
        "/console/devices/RF-1/baseline-reset", data={"csrftoken": token, "reason": "fan swapped"}
    )
    assert reset.headers["location"] == url
    assert "fan swapped" in client.get(url).text

    customer = f"/console/customers/{fleet['amelie']}/thresholds"
    client.post(f"{customer}/telemetry", data={"csrftoken": token, "no_data_after_s": "7200"})
    assert "No data after (seconds) = 7200" in client.get(customer).text
    assert 'id="customer-thresholds"' in client.get(url).text
    with db.connection() as conn:
        actions = conn.execute("SELECT actor, action FROM audit_log ORDER BY id").fetchall()
    who = actions[0][0]
    assert actions == [(who, "set"), (who, "baseline_reset"), (who, "set")]
    assert who == "agent@example.org"


def test_a_viewer_sees_the_page_without_forms_and_cannot_post(
    client: httpx.Client, db: Pool, fleet: dict[str, int]
) -> None:
    token = signed_in(client, db, "viewer")
    url = "/console/devices/RF-1/thresholds"
    page = client.get(url)
    assert page.status_code == 200
    assert "source-model" in page.text
    assert 'id="form-cabinet_temp"' not in page.text
    answer = client.post(f"{url}/cabinet_temp", data={"csrftoken": token, "threshold": "5"})
    assert "Viewers cannot change thresholds" in unquote(answer.headers["location"])


def test_removing_a_customer_override_a_device_relies_on_is_refused(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    customer = f"/api/v1/customers/{fleet['amelie']}/thresholds/cabinet_temp"
    assert client.put(customer, json={"limit_high": 20.0}, headers=agent).status_code == 200
    device = "/api/v1/devices/RF-1/thresholds/cabinet_temp"
    floor = {"limit_low": 12.0, "limit_low_for_s": 600}
    assert client.put(device, json=floor, headers=agent).status_code == 200

    refused = client.delete(customer, headers=agent)

    assert refused.status_code == 422
    assert "on device RF-1 without the customer's override" in refused.json()["detail"]
    assert client.delete(device, headers=agent).status_code == 200
    assert client.delete(customer, headers=agent).status_code == 200
