"""The service quality reports over HTTP, on real PostgreSQL: SLA compliance, first-time
fix, CSAT/NPS per week and proactive against reactive, with figures worked out by hand;
and fault reminders as the console and the API show them.

The app runs with the default service settings: Europe/Berlin, 08:00-17:00 (07:00-16:00
UTC in November), Berlin's public holidays (none in the period). NOW is Tuesday
2026-11-24 12:00 UTC. The period is 2026-11-16 (a Monday) to 2026-11-24.

Tickets, all P2 (premium: 60 min to respond, 480 to resolve; standard: 120 / 1080;
no contract: 480 / 4320; business minutes):

* T1 proactive, premium, CoolLine 300, Mon 16 08:00: assigned 08:30 (30 min, met),
  resolved 12:00 (240 min, met), first-time fix; survey CSAT 5, NPS 10 (Tue 17).
* T2 proactive, premium, CoolLine 300, Mon 16 08:00: a comment 09:30 (90 min, missed),
  resolved Tue 17 10:00 (480 + 180 = 660 min, missed), not a first-time fix; survey
  CSAT 3, NPS 6 (Wed 18).
* T3 reactive, standard, no device, Wed 18 10:00: started 11:00 (60, met), resolved
  14:00 (240, met), first-time fix; survey CSAT 4, NPS 8 (Mon 23).
* T4 reactive, standard, no device, Thu 19 09:00: nobody answered. By NOW 420 + 480 +
  480 + 300 = 1680 business minutes: both clocks missed.
* T5 proactive, no contract, FrostLine 500, Mon 23 09:00: assigned 10:00 (60, within
  480) but the SLA job had recorded a first-response breach: missed; resolution open
  (720 of 4320).
* T0 reactive, standard, created 2026-11-10 (before the period): its survey, answered
  Fri 20 with NPS 9 only, counts in the weekly satisfaction, not in the ticket reports.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.service_jobs import fault_reminders
from careline.settings import Settings
from tests.api import factories as make
from tests.api.test_console_actions import signed_in

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
Conn = psycopg.Connection[TupleRow]
PERIOD = {"from": "2026-11-16", "to": "2026-11-24"}
AGENT = "agent@example.org"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def ticket(
    conn: Conn,
    customer: int,
    created: datetime,
    kind: str,
    tier: str,
    *,
    device: int | None = None,
    status: str = "new",
    ftf: bool | None = None,
) -> int:
    ticket_id = make.ticket(conn, customer, created, device_id=device, kind=kind, status=status)
    conn.execute(
        "UPDATE tickets SET sla_tier = %s, first_time_fix = %s WHERE id = %s",
        (tier, ftf, ticket_id),
    )
    history(conn, ticket_id, created, "careline", "created", None, "new")
    return ticket_id


def history(
    conn: Conn,
    ticket_id: int,
    when: datetime,
    actor: str,
    action: str,
    old: str | None,
    new: str | None,
) -> None:
    conn.execute(
        "INSERT INTO ticket_history (ticket_id, at, actor, action, old_status, new_status) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (ticket_id, when, actor, action, old, new),
    )


def survey(
    conn: Conn, ticket_id: int, customer: int, answered: datetime, csat: int | None, nps: int
) -> None:
    conn.execute(
        "INSERT INTO surveys (ticket_id, customer_id, sent_at, answered_at, csat, nps) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (ticket_id, customer, answered, answered, csat, nps),
    )


@pytest.fixture
def service_data(db: Pool) -> None:
    with db.connection() as conn:
        who = make.customer(conn, "Jonas Becker", email="jonas.becker@example.net")
        cool = make.device(conn, "FR-1", model="CoolLine 300", customer_id=who)
        cool2 = make.device(conn, "FR-2", model="CoolLine 300", customer_id=who)
        frost = make.device(conn, "FR-3", model="FrostLine 500", customer_id=who)
        t0 = ticket(conn, who, at(10, 8), "reactive", "standard", status="resolved", ftf=True)
        t1 = ticket(
            conn, who, at(16, 8), "proactive", "premium", device=cool, status="resolved", ftf=True
        )
        history(conn, t1, at(16, 8, 30), AGENT, "status", "new", "assigned")
        history(conn, t1, at(16, 9), AGENT, "status", "assigned", "in_progress")
        history(conn, t1, at(16, 12), AGENT, "resolution", "in_progress", "resolved")
        t2 = ticket(
            conn, who, at(16, 8), "proactive", "premium", device=cool2, status="resolved", ftf=False
        )
        history(conn, t2, at(16, 9, 30), AGENT, "comment", None, None)
        history(conn, t2, at(17, 10), AGENT, "resolution", "new", "resolved")
        t3 = ticket(conn, who, at(18, 10), "reactive", "standard", status="resolved", ftf=True)
        history(conn, t3, at(18, 11), AGENT, "status", "new", "in_progress")
        history(conn, t3, at(18, 14), AGENT, "resolution", "in_progress", "resolved")
        ticket(conn, who, at(19, 9), "reactive", "standard")  # T4: nobody answered
        t5 = ticket(conn, who, at(23, 9), "proactive", "none", device=frost, status="assigned")
        history(conn, t5, at(23, 10), AGENT, "assignment", "new", "assigned")
        conn.execute(
            "INSERT INTO sla_alerts (ticket_id, metric, kind, raised_at) "
            "VALUES (%s, 'first_response', 'breach', %s)",
            (t5, at(23, 9, 59)),
        )
        survey(conn, t1, who, at(17, 10), 5, 10)
        survey(conn, t2, who, at(18, 9), 3, 6)
        survey(conn, t0, who, at(20, 10), None, 9)
        survey(conn, t3, who, at(23, 12), 4, 8)


def rows(client: httpx.Client, headers: dict[str, str], name: str) -> list[dict[str, object]]:
    answer = client.get(f"/api/v1/reports/{name}", params=PERIOD, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["start"], body["end"]) == ("2026-11-16", "2026-11-24")
    result: list[dict[str, object]] = body["rows"]
    return result


@pytest.mark.usefixtures("service_data")
def test_sla_compliance_per_tier_and_overall(client: httpx.Client, viewer: dict[str, str]) -> None:
    table = {r["group"]: r for r in rows(client, viewer, "sla-compliance")}
    assert list(table) == ["Premium", "Standard", "No contract", "all"]
    figures = {
        group: (
            r["tickets"],
            (r["first_response_met"], r["first_response_missed"], r["first_response_open"]),
            r["first_response_compliance_pct"],
            (r["resolution_met"], r["resolution_missed"], r["resolution_open"]),
            r["resolution_compliance_pct"],
        )
        for group, r in table.items()
    }
    assert figures == {
        "Premium": (2, (1, 1, 0), 50.0, (1, 1, 0), 50.0),
        "Standard": (2, (1, 1, 0), 50.0, (1, 1, 0), 50.0),
        "No contract": (1, (0, 1, 0), 0.0, (0, 0, 1), None),
        "all": (5, (2, 3, 0), 40.0, (2, 2, 1), 50.0),
    }


@pytest.mark.usefixtures("service_data")
def test_first_time_fix_rate_by_model(client: httpx.Client, viewer: dict[str, str]) -> None:
    table = [
        (r["group"], r["resolved"], r["first_time_fixes"], r["first_time_fix_pct"])
        for r in rows(client, viewer, "first-time-fix")
    ]
    assert table == [
        ("(no device)", 1, 1, 100.0),
        ("CoolLine 300", 2, 1, 50.0),
        ("all", 3, 2, 66.7),
    ]


@pytest.mark.usefixtures("service_data")
def test_csat_and_nps_per_week(client: httpx.Client, viewer: dict[str, str]) -> None:
    table = [
        (
            r["week"],
            r["answers"],
            r["csat_answers"],
            r["csat_pct"],
            r["nps_answers"],
            (r["promoters"], r["passives"], r["detractors"]),
            r["nps"],
        )
        for r in rows(client, viewer, "satisfaction")
    ]
    # week of the 16th: CSAT 5 and 3 (1 of 2 satisfied: 50); NPS 10, 6, 9: (2 - 1) / 3
    assert table == [
        ("2026-11-16", 3, 2, 50, 3, (2, 0, 1), 33),
        ("2026-11-23", 1, 1, 100, 1, (0, 1, 0), 0),
    ]


@pytest.mark.usefixtures("service_data")
def test_proactive_and_reactive_on_the_same_measures(
    client: httpx.Client, viewer: dict[str, str]
) -> None:
    table = {r["kind"]: r for r in rows(client, viewer, "proactive-vs-reactive")}
    columns = [
        "tickets",
        "first_response_median_h",
        "resolution_median_h",
        "first_response_sla_pct",
        "resolution_sla_pct",
        "first_time_fix_pct",
        "csat_answers",
        "csat_pct",
        "nps_answers",
        "nps",
    ]
    figures = {kind: [r[c] for c in columns] for kind, r in table.items()}
    assert figures == {
        # hours: first response 0.5, 1.5, 1.0; resolution 4 and 26 (T5 open)
        "proactive": [3, 1.0, 15.0, 33.3, 50.0, 50.0, 2, 50, 2, 0],
        "reactive": [2, 1.0, 4.0, 50.0, 50.0, 100.0, 1, 100, 1, 0],
        "all": [5, 1.0, 4.0, 40.0, 50.0, 66.7, 3, 67, 3, 0],
    }


@pytest.mark.usefixtures("service_data")
def test_csv_downloads_and_console_charts(
    client: httpx.Client, viewer: dict[str, str], db: Pool
) -> None:
    answer = client.get(
        "/api/v1/reports/sla-compliance", params={**PERIOD, "format": "csv"}, headers=viewer
    )
    assert answer.headers["content-type"].startswith("text/csv")
    assert "sla-compliance_2026-11-16_2026-11-24.csv" in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["group"] for r in table] == ["Premium", "Standard", "No contract", "all"]
    assert table[3]["first_response_compliance_pct"] == "40.0"
    assert table[2]["resolution_compliance_pct"] == ""  # nothing decided yet
    weekly = client.get(
        "/api/v1/reports/satisfaction",
        params={"from": "2026-11-02", "to": "2026-11-24", "format": "csv"},
        headers=viewer,
    ).text
    assert weekly.splitlines()[1:] == [
        "2026-11-02,0,0,,0,0,0,0,",  # weeks without answers are shown, without figures
        "2026-11-09,0,0,,0,0,0,0,",
        "2026-11-16,3,2,50,3,2,0,1,33",
        "2026-11-23,1,1,100,1,0,1,0,0",
    ]
    signed_in(client, db, "viewer")
    for name in ("sla-compliance", "first-time-fix", "satisfaction", "proactive-vs-reactive"):
        page = client.get("/console/reports", params={"name": name, **PERIOD})
        assert page.status_code == 200
        assert 'id="report-chart"' in page.text, name
        assert f"/api/v1/reports/{name}?from=2026-11-16" in page.text


def test_reminders_and_notices_show_on_the_ticket_and_device_pages(
    client: httpx.Client, db: Pool
) -> None:
    with db.connection() as conn:
        who = make.customer(conn)
        fridge = make.device(conn, "FR-7", customer_id=who)
        fault = make.fault(conn, fridge, at(24, 10))
        ticket_id = make.ticket(conn, who, at(24, 10), device_id=fridge)
        make.ticket_fault(conn, ticket_id, fault)
    [reminder] = fault_reminders(db, Settings(), lambda: at(24, 10, 45))()
    assert (reminder.fault_id, reminder.seq, reminder.escalated) == (fault, 1, False)
    signed_in(client, db, "agent")
    page = client.get(f"/console/tickets/{ticket_id}").text
    assert "sent a reminder" in page
    assert f"Reminder 1: fault #{fault} on FR-7 not acknowledged" in page
    assert f'id="reminders-{fault}">1 reminder, last 2026-11-24 10:45' in page
    device = client.get("/console/devices/FR-7").text
    assert "not acknowledged: 1 reminder sent, last 2026-11-24 10:45 UTC" in device
    api = client.get(f"/api/v1/faults/{fault}").json()
    assert (api["reminders"], api["last_reminder_at"]) == (1, "2026-11-24T10:45:00Z")


def test_a_period_without_tickets_or_answers_gives_empty_figures_not_errors(
    client: httpx.Client, viewer: dict[str, str], db: Pool
) -> None:
    [sla] = rows(client, viewer, "sla-compliance")
    assert (sla["group"], sla["tickets"], sla["first_response_compliance_pct"]) == ("all", 0, None)
    assert rows(client, viewer, "first-time-fix") == [
        {"group": "all", "resolved": 0, "first_time_fixes": 0, "first_time_fix_pct": None}
    ]
    weeks = rows(client, viewer, "satisfaction")
    assert [(w["week"], w["answers"], w["csat_pct"], w["nps"]) for w in weeks] == [
        ("2026-11-16", 0, None, None),
        ("2026-11-23", 0, None, None),
    ]
    kinds = rows(client, viewer, "proactive-vs-reactive")
    assert [(k["kind"], k["tickets"], k["csat_pct"]) for k in kinds] == [
        ("proactive", 0, None),
        ("reactive", 0, None),
        ("all", 0, None),
    ]
    signed_in(client, db, "viewer")
    for name in ("sla-compliance", "first-time-fix", "satisfaction", "proactive-vs-reactive"):
        assert client.get("/console/reports", params={"name": name, **PERIOD}).status_code == 200
