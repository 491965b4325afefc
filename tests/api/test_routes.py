"""The /api/v1 resources against a real, migrated PostgreSQL."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from tests.api import factories as make
from tests.api.conftest import NOW

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
MINUTE = timedelta(minutes=1)


def test_customers_list_and_detail(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    listing = client.get("/api/v1/customers", headers=viewer).json()
    assert [(c["name"], c["device_count"]) for c in listing["items"]] == [
        ("Amélie Laurent", 2),
        ("Boulangerie du Vieux Lyon", 1),
    ]
    businesses = client.get("/api/v1/customers?kind=business", headers=viewer).json()
    assert [c["id"] for c in businesses["items"]] == [fleet["bakery"]]
    detail = client.get(f"/api/v1/customers/{fleet['amelie']}", headers=viewer).json()
    assert detail["sites"][0]["label"] == "Home"
    assert [(d["serial"], d["status"]) for d in detail["devices"]] == [
        ("RF-1", "online"),
        ("WM-1", "offline"),
    ]


def test_devices_list_computes_status_from_the_catalog(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    items = client.get("/api/v1/devices", headers=viewer).json()["items"]
    status = {d["serial"]: (d["status"], d["last_seen_at"]) for d in items}
    assert status == {
        "RF-1": ("online", "2026-11-24T11:58:00Z"),
        "RF-2": ("never", None),
        # washing machines go offline after 3600 s; the last message came 2 h ago
        "WM-1": ("offline", "2026-11-24T09:00:00Z"),
    }
    page = client.get("/api/v1/devices?limit=1&offset=1", headers=viewer).json()
    assert [d["serial"] for d in page["items"]] == ["RF-2"]
    assert (page["limit"], page["offset"]) == (1, 1)
    assert client.get("/api/v1/devices?limit=501", headers=viewer).status_code == 422


def test_device_detail_has_recent_readings_per_metric_and_faults(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    answer = client.get("/api/v1/devices/RF-1?points=10", headers=viewer)
    assert answer.status_code == 200
    device = answer.json()
    assert (device["customer_name"], device["site_label"], device["status"]) == (
        "Amélie Laurent",
        "Home",
        "online",
    )
    series = {s["metric"]: s for s in device["series"]}
    cabinet = series["cabinet_temp"]
    assert (cabinet["label"], cabinet["unit"]) == ("Cabinet temperature", "Cel")
    times = [p["ts"] for p in cabinet["points"]]
    assert len(times) == 10
    assert times == sorted(times)
    assert times[-1] == "2026-11-24T11:59:00Z"  # the newest of the 300 readings
    assert cabinet["points"][-1]["value"] == pytest.approx(6.99)
    assert len(series["compressor_power"]["points"]) == 1
    assert series["freezer_temp"]["points"] == []
    assert [(f["id"], f["status"]) for f in device["faults"]] == [
        (fleet["fault"], "open"),
        (fleet["old_fault"], "cleared"),
    ]


def test_device_readings_by_metric_and_time_range(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    params: dict[str, str | int] = {
        "metric": "cabinet_temp",
        "since": "2026-11-24T10:00:00+00:00",
        "until": "2026-11-24T11:00:00+01:00",  # 10:00 UTC
        "limit": 100,
    }
    answer = client.get("/api/v1/devices/RF-1/readings", params=params, headers=viewer)
    assert answer.status_code == 200
    (series,) = answer.json()
    assert [p["ts"] for p in series["points"]] == ["2026-11-24T10:00:00Z"]
    unknown = client.get("/api/v1/devices/RF-1/readings?metric=spin_rpm", headers=viewer)
    assert unknown.status_code == 404
    naive = client.get("/api/v1/devices/RF-1/readings?since=2026-11-24T10:00:00", headers=viewer)
    assert naive.status_code == 422


def test_faults_list_filters_and_detail_with_evidence_and_readings(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    all_faults = client.get("/api/v1/faults", headers=viewer).json()["items"]
    assert [f["id"] for f in all_faults] == [fleet["fault"], fleet["old_fault"]]
    assert all_faults[0]["ticket_id"] == fleet["ticket"]
    open_ = client.get("/api/v1/faults?status=open&device=RF-1", headers=viewer).json()
    assert [f["id"] for f in open_["items"]] == [fleet["fault"]]
    none = client.get("/api/v1/faults?device=WM-1", headers=viewer).json()
    assert none["items"] == []
    detail = client.get(f"/api/v1/faults/{fleet['fault']}", headers=viewer).json()
    assert (detail["score"], detail["threshold"], detail["device_serial"]) == (6.25, 4.0, "RF-1")
    assert detail["evidence"]["threshold"] == 4.0
    assert detail["evidence"]["windows"][0]["score"] == 6.25
    # ISO 8601 like every other time in the API, not epoch seconds
    assert detail["evidence"]["windows"][0]["start"] == detail["opened_at"]
    points = detail["readings"]["points"]
    # readings from 2 h before the onset (09:00) to 2 h after (13:00, but they end 11:59)
    assert (points[0]["ts"], points[-1]["ts"]) == ("2026-11-24T09:00:00Z", "2026-11-24T11:59:00Z")
    assert len(points) == 180


def test_tickets_list_newest_first_with_customer_and_device(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    items = client.get("/api/v1/tickets", headers=viewer).json()["items"]
    assert [(t["id"], t["customer_name"], t["device_serial"]) for t in items] == [
        (fleet["ticket"], "Amélie Laurent", "RF-1"),
        (fleet["older_ticket"], "Boulangerie du Vieux Lyon", None),
    ]
    resolved = client.get("/api/v1/tickets?status=resolved", headers=viewer).json()["items"]
    assert [t["id"] for t in resolved] == [fleet["older_ticket"]]
    proactive = client.get(
        f"/api/v1/tickets?kind=proactive&customer_id={fleet['amelie']}", headers=viewer
    ).json()["items"]
    assert [t["id"] for t in proactive] == [fleet["ticket"]]


def test_ticket_detail_links_its_faults(
    client: httpx.Client, viewer: dict[str, str], fleet: dict[str, int]
) -> None:
    ticket = client.get(f"/api/v1/tickets/{fleet['ticket']}", headers=viewer).json()
    assert ticket["description"] == "The cabinet temperature left its normal band."
    assert [(f["id"], f["score"], f["threshold"]) for f in ticket["faults"]] == [
        (fleet["fault"], 6.25, 4.0)
    ]


def test_agent_changes_ticket_status(
    client: httpx.Client, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    url = f"/api/v1/tickets/{fleet['ticket']}"
    answer = client.patch(
        url, json={"status": "waiting_for_customer", "comment": "no answer"}, headers=agent
    )
    assert answer.status_code == 200
    assert answer.json()["status"] == "waiting_for_customer"
    assert answer.json()["updated_at"] == "2026-11-24T12:00:00Z"
    assert client.get(url, headers=agent).json()["status"] == "waiting_for_customer"
    invalid = client.patch(url, json={"status": "escalated"}, headers=agent)
    assert invalid.status_code == 422
    skipped = client.patch(url, json={"status": "closed"}, headers=agent)  # not resolved yet
    assert skipped.status_code == 409
    assert skipped.json()["error"] == "conflict"
    no_code = client.patch(url, json={"status": "resolved"}, headers=agent)
    assert (no_code.status_code, no_code.json()["error"]) == (422, "invalid_request")
    bad_code = client.patch(
        url, json={"status": "resolved", "resolution_code": "magic"}, headers=agent
    )
    assert bad_code.status_code == 422
    assert "no_fault_found" in bad_code.json()["detail"]  # the valid codes are named
    resolved = {"status": "resolved", "resolution_code": "repaired"}
    assert client.patch(url, json=resolved, headers=agent).status_code == 200
    assert client.patch(url, json={"status": "closed"}, headers=agent).status_code == 200
    reopened = client.patch(url, json={"status": "in_progress"}, headers=agent)
    assert reopened.status_code == 409
    commented = client.post(f"{url}/comments", json={"comment": "closed by phone"}, headers=agent)
    assert commented.status_code == 200
    history = [(h["action"], h["new_status"], h["comment"]) for h in commented.json()["history"]]
    assert history == [
        ("status", "waiting_for_customer", "no answer"),
        ("resolution", "resolved", "Repaired"),
        ("status", "closed", ""),
        ("comment", None, "closed by phone"),
    ]
    for empty in ("", "   "):
        blank = client.post(f"{url}/comments", json={"comment": empty}, headers=agent)
        assert blank.status_code == 422


def test_dead_letters_newest_first_with_text_or_base64_payloads(
    client: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    with db.connection() as conn:
        text = make.dead_letter(conn, NOW - timedelta(hours=1))
        binary = make.dead_letter(
            conn,
            NOW - MINUTE,
            topic="dt/refrigerator/RF-1/senml",
            payload=b"\xff\xfe\x00garbage",
            reason="undecodable",
            detail="not UTF-8 JSON",
        )
    items = client.get("/api/v1/dead-letters", headers=admin).json()["items"]
    assert [(d["id"], d["payload_encoding"]) for d in items] == [
        (binary, "base64"),
        (text, "utf-8"),
    ]
    assert items[1]["payload_preview"] == '[{"n":"cabinet_temp","u":"Cel","v":4.2}]'
    only = client.get("/api/v1/dead-letters?reason=undecodable", headers=admin).json()["items"]
    assert [d["id"] for d in only] == [binary]
    detail = client.get(f"/api/v1/dead-letters/{binary}", headers=admin).json()
    assert base64.b64decode(detail["payload"]) == b"\xff\xfe\x00garbage"
    assert detail["payload_size"] == 10


def test_dead_letters_are_bounded_however_large_they_were(
    client: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    huge = "é" * 2_000_000 + "end"  # 4 MB of two-byte characters
    with db.connection() as conn:
        letter = make.dead_letter(
            conn, NOW - MINUTE, payload=huge.encode(), reason="invalid", detail="x" * 50_000
        )
    listing = client.get("/api/v1/dead-letters", headers=admin)
    assert len(listing.content) < 10_000
    [item] = listing.json()["items"]
    assert item["payload_size"] == 4_000_003
    assert len(item["payload_preview"]) <= 160
    assert item["payload_encoding"] == "utf-8"  # a character cut in two is dropped, not base64
    assert len(item["detail"]) == 2000
    detail = client.get(f"/api/v1/dead-letters/{letter}", headers=admin)
    assert len(detail.content) < 200_000
    body = detail.json()
    assert body["payload_truncated"] is True
    assert body["payload"] == "é" * (64 * 1024 // 2)


def test_replay_runs_dead_letters_through_ingest(
    client: httpx.Client, admin: dict[str, str], db: Pool
) -> None:
    with db.connection() as conn:
        letter = make.dead_letter(conn, NOW - MINUTE)  # its device is still unknown
    answer = client.post("/api/v1/dead-letters/replay", json={"ids": [letter]}, headers=admin)
    assert answer.status_code == 200
    assert answer.json() == {"replayed": 1, "stored": 0, "still_rejected": 1}
    both = client.post(
        "/api/v1/dead-letters/replay", json={"ids": [letter], "all": True}, headers=admin
    )
    assert both.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers/999",
        "/api/v1/devices/NOPE-1",
        "/api/v1/devices/NOPE-1/readings",
        "/api/v1/faults/999",
        "/api/v1/tickets/999",
        "/api/v1/dead-letters/999",
    ],
)
def test_unknown_ids_are_404_with_the_error_body(
    client: httpx.Client, viewer: dict[str, str], path: str
) -> None:
    answer = client.get(path, headers=viewer)
    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "not_found"
    assert "does not exist" in body["detail"]


def test_openapi_lists_error_responses_with_the_error_body(client: httpx.Client) -> None:
    document = client.get("/openapi.json").json()
    responses = document["paths"]["/api/v1/tickets/{ticket_id}"]["patch"]["responses"]
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for code in ("401", "403", "404", "409", "503"):
        assert responses[code]["content"]["application/json"]["schema"] == error_ref, code
    assert "422" in responses
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["error", "detail"]
    security = document["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(security)
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_plotly_comes_from_the_installed_package_with_a_long_cache(client: httpx.Client) -> None:
    from importlib import resources

    answer = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-type"].startswith("text/javascript")
    shipped = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    assert answer.content == shipped
    again = client.get(
        "/static/vendor/plotly.min.js", headers={"If-None-Match": answer.headers["etag"]}
    )
    assert again.status_code == 304
    css = client.get("/static/console.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
