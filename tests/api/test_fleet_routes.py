"""Product issues and reports over HTTP: the API, the CSV download, the console forms."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.uow import PostgresUnitOfWork
from devices.product_issues.postgres import PostgresProductIssueRepository
from devices.product_issues.service import Grouping, sweep
from devices.product_issues.settings import FleetSettings
from tests.api import factories as make
from tests.api.conftest import NOW
from tests.api.test_console_actions import signed_in

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
HOUR = timedelta(hours=1)


@pytest.fixture
def issue(db: Pool) -> int:
    """Batch LOT-7 (3 fridges) faulted alike within hours; batch LOT-8 (4) did not. The
    first fault has a ticket. Grouped by the sweep."""
    with db.connection() as conn:
        amelie = make.customer(conn)
        devices = [
            make.device(conn, f"FR-{i}", model="=CF-300", customer_id=amelie) for i in range(7)
        ]
        for i, device in enumerate(devices):
            conn.execute(
                "UPDATE devices SET production_batch = %s WHERE id = %s",
                ("LOT-7" if i < 3 else "LOT-8", device),
            )
        faults = [make.fault(conn, d, NOW - (i + 1) * HOUR) for i, d in enumerate(devices[:3])]
        ticket = make.ticket(conn, amelie, NOW - HOUR, device_id=devices[0])
        make.ticket_fault(conn, ticket, faults[0])
        with PostgresUnitOfWork(conn) as uow:
            sweep(PostgresProductIssueRepository(conn), Grouping.of(FleetSettings()), NOW)
            uow.commit()
        row = conn.execute("SELECT id FROM product_issues").fetchone()
    assert row is not None
    return int(row[0])


def test_product_issues_list_and_one_with_its_rate(
    client: httpx.Client, viewer: dict[str, str], issue: int
) -> None:
    listing = client.get("/api/v1/product-issues", headers=viewer).json()
    [item] = listing["items"]
    assert item["title"] == "refrigerator batch LOT-7: cabinet_temp/standard_score"
    assert (item["devices"], item["faults"], item["tickets"], item["customers"]) == (3, 3, 1, 1)
    detail = client.get(f"/api/v1/product-issues/{issue}", headers=viewer).json()
    assert detail["rates"]["group"]["devices"] == 3
    assert detail["rates"]["group"]["faults"] == 3
    assert detail["rates"]["group"]["device_days"] == 90.0  # installed long ago: 30 days each
    assert detail["rates"]["group"]["per_100_device_days"] == pytest.approx(3.333)
    assert detail["rates"]["rest"] == {
        "devices": 4,
        "faults": 0,
        "device_days": 120.0,
        "per_100_device_days": 0.0,
    }
    assert detail["rates"]["ratio"] is None
    assert [t["id"] for t in detail["linked_tickets"]] == [1]
    assert client.get("/api/v1/product-issues/999", headers=viewer).status_code == 404
    assert client.get("/api/v1/product-issues?status=open", headers=viewer).json()["items"]
    assert client.get("/api/v1/product-issues?status=closed", headers=viewer).status_code == 422


def test_product_issue_moves_and_notes_need_an_agent_and_follow_the_lifecycle(
    client: httpx.Client, viewer: dict[str, str], agent: dict[str, str], issue: int
) -> None:
    url = f"/api/v1/product-issues/{issue}"
    assert client.patch(url, json={"status": "investigating"}, headers=viewer).status_code == 403
    moved = client.patch(url, json={"status": "investigating", "comment": "lot"}, headers=agent)
    assert moved.json()["status"] == "investigating"
    back = client.patch(url, json={"status": "open"}, headers=agent)
    assert (back.status_code, back.json()["error"]) == (409, "conflict")
    noted = client.post(f"{url}/notes", json={"comment": "supplier notified"}, headers=agent)
    assert [n["action"] for n in noted.json()["notes"]] == ["opened", "status", "comment"]
    empty = client.post(f"{url}/notes", json={"comment": "  "}, headers=agent)
    assert empty.status_code == 422


def test_reports_as_json_and_as_a_csv_that_a_spreadsheet_cannot_run(
    client: httpx.Client, viewer: dict[str, str], issue: int
) -> None:
    names = [r["name"] for r in client.get("/api/v1/reports", headers=viewer).json()]
    assert names == [
        "reliability-by-model",
        "reliability-by-firmware",
        "reliability-by-batch",
        "ticket-times",
        "sla-compliance",
        "first-time-fix",
        "satisfaction",
        "proactive-vs-reactive",
    ]
    period = {"from": "2026-10-26", "to": "2026-11-24"}  # 30 days
    body = client.get("/api/v1/reports/reliability-by-batch", params=period, headers=viewer).json()
    assert (body["start"], body["end"]) == ("2026-10-26", "2026-11-24")
    assert body["rows"][0] == {
        "group": "refrigerator LOT-7",
        "devices": 3,
        "device_days": 90.0,
        "faults": 3,
        "failures": 3,
        "failures_per_100_device_days": 3.333,
        "mtbf_days": 30.0,
    }
    answer = client.get(
        "/api/v1/reports/reliability-by-model",
        params={**period, "format": "csv"},
        headers=viewer,
    )
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="reliability-by-model_2026-10-26_2026-11-24.csv"'
    )
    assert answer.text.splitlines() == [
        "group,devices,device_days,faults,failures,failures_per_100_device_days,mtbf_days",
        "'=CF-300,7,210.0,3,3,1.429,70.0",
    ]
    times = client.get("/api/v1/reports/ticket-times", params=period, headers=viewer).json()
    assert times["rows"][0]["kind"] == "proactive"
    assert times["rows"][0]["tickets"] == 1


def test_report_errors_say_what_is_wrong(client: httpx.Client, viewer: dict[str, str]) -> None:
    unknown = client.get("/api/v1/reports/churn", headers=viewer)
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    backwards = client.get(
        "/api/v1/reports/ticket-times",
        params={"from": "2026-11-24", "to": "2026-11-01"},
        headers=viewer,
    )
    assert backwards.status_code == 422
    assert "before it starts" in backwards.json()["detail"]
    assert (
        client.get(
            "/api/v1/reports/ticket-times", params={"from": "soon"}, headers=viewer
        ).status_code
        == 422
    )
    assert client.get("/api/v1/reports/ticket-times").status_code == 401


def test_console_product_issue_forms_and_reports_page(
    client: httpx.Client, db: Pool, issue: int
) -> None:
    token = signed_in(client, db, "agent")
    url = f"/console/product-issues/{issue}"
    page = client.get(url)
    assert "refrigerator batch LOT-7" in page.text
    assert 'id="rate-table"' in page.text
    moved = client.post(f"{url}/status", data={"csrftoken": token, "status": "resolved"})
    assert (moved.status_code, moved.headers["location"]) == (303, url)
    refused = client.post(f"{url}/status", data={"csrftoken": token, "status": "investigating"})
    assert "resolved to investigating" in unquote(refused.headers["location"])
    forged = client.post(f"{url}/notes", data={"comment": "no token"})
    assert forged.status_code == 403
    noted = client.post(f"{url}/notes", data={"csrftoken": token, "comment": "closed with QA"})
    assert noted.status_code == 303
    assert "closed with QA" in client.get(url).text
    reports = client.get("/console/reports?name=reliability-by-batch&from=2026-10-26&to=2026-11-24")
    assert "refrigerator LOT-7" in reports.text
    assert "format=csv" in reports.text
    bad = client.get("/console/reports?from=yesterday")
    assert "is not a day" in bad.text
    with db.connection() as conn:
        actions = conn.execute(
            "SELECT actor, action FROM audit_log WHERE entity = 'product_issue' ORDER BY id"
        ).fetchall()
    assert actions == [
        ("careline", "opened"),
        ("agent@example.org", "status"),
        ("agent@example.org", "comment"),
    ]


def test_daily_snapshots_are_stored_once_per_day_and_read_back(
    client: httpx.Client, db: Pool, viewer: dict[str, str], issue: int
) -> None:
    from careline.scheduler import report_snapshots

    job = report_snapshots(db, lambda: NOW + timedelta(days=1))  # the night after NOW's day
    job()
    job()  # a rerun replaces the day's snapshot
    with db.connection() as conn:
        stored = conn.execute("SELECT name, day FROM report_snapshots ORDER BY name").fetchall()
    assert [(name, str(day)) for name, day in stored] == [
        ("first-time-fix", "2026-11-24"),
        ("proactive-vs-reactive", "2026-11-24"),
        ("reliability-by-batch", "2026-11-24"),
        ("reliability-by-firmware", "2026-11-24"),
        ("reliability-by-model", "2026-11-24"),
        ("satisfaction", "2026-11-24"),
        ("sla-compliance", "2026-11-24"),
        ("ticket-times", "2026-11-24"),
    ]
    [snapshot] = client.get(
        "/api/v1/reports/reliability-by-batch/snapshots",
        params={"from": "2026-11-20", "to": "2026-11-24"},
        headers=viewer,
    ).json()
    assert snapshot["day"] == "2026-11-24"
    lot = snapshot["rows"][0]
    # one day: three devices, three failures, 100 per device-day
    assert (lot["group"], lot["device_days"], lot["failures"]) == ("refrigerator LOT-7", 3.0, 3)
    assert lot["failures_per_100_device_days"] == 100.0
    missing = client.get("/api/v1/reports/churn/snapshots", headers=viewer)
    assert missing.status_code == 404
