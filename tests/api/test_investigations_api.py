"""Working an investigation through the API and the console's forms: notes, a recall opened
from it (scope through repacking), close with an outcome, reopen; the quality role, CSRF
and the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.recalls.complaints import file_complaint
from crm_core.traceability.queries import find_lot
from devices.catalog import Catalog
from tests.api.conftest import NOW, key_for
from tests.api.test_console_actions import signed_in
from tests.integration.repack_world import MILK, build, judge_failing_truck

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def complain(db: Pool, lot: str, hours: int = 0) -> int:
    """Three complaints about ``lot``: the rule opens an investigation; its id."""
    with db.connection() as conn:
        lot_id = find_lot(conn, MILK, lot)
        for n in range(3):
            filed = file_complaint(
                conn,
                lot_id=lot_id,
                customer_id=None,
                receipt=None,
                description=f"sour milk {n}",
                actor="test",
                now=NOW + timedelta(hours=hours + n),
            )
    assert filed.investigation_id is not None
    return filed.investigation_id


@pytest.fixture
def world(db: Pool, catalog: Catalog) -> int:
    scenario, _ = build(db, start=(NOW - timedelta(days=3)).timestamp())
    judge_failing_truck(db, catalog, scenario)
    return complain(db, "LM2")


@pytest.fixture
def quality(db: Pool) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_for(db, 'quality')}"}


def audit(db: Pool, investigation_id: int) -> list[str]:
    with db.connection() as conn:
        return [
            str(r[0])
            for r in conn.execute(
                "SELECT action FROM audit_log WHERE entity = 'investigation' AND entity_id = %s "
                "ORDER BY id",
                (str(investigation_id),),
            ).fetchall()
        ]


def test_quality_staff_work_an_investigation_to_a_recall_and_close_it(
    client: httpx.Client, db: Pool, world: int, agent: dict[str, str], quality: dict[str, str]
) -> None:
    url = f"/api/v1/investigations/{world}"
    note = {"text": "Three sour-milk complaints from Store 12 customers; pulling the logs."}
    assert client.post(f"{url}/notes", json=note, headers=agent).status_code == 403
    assert client.post(f"{url}/recall", headers=agent).status_code == 403
    closing = {"outcome": "no_issue_found", "conclusion": "nothing"}
    assert client.post(f"{url}/close", json=closing, headers=agent).status_code == 403
    assert audit(db, world) == ["opened"]  # the refusals changed nothing

    noted = client.post(f"{url}/notes", json=note, headers=quality)
    assert noted.status_code == 200, noted.text
    assert [(e["kind"], e["body"]) for e in noted.json()["events"]] == [("note", note["text"])]
    blank = client.post(f"{url}/notes", json={"text": " \n "}, headers=quality)
    assert blank.status_code == 422
    nul = client.post(f"{url}/notes", json={"text": "a\u0000b"}, headers=quality)
    assert nul.status_code == 422

    # "recall opened" needs a recall
    early = client.post(
        f"{url}/close", json={"outcome": "recall_opened", "conclusion": "x"}, headers=quality
    )
    assert early.status_code == 409
    assert "needs a recall" in early.json()["detail"]

    opened = client.post(f"{url}/recall", headers=quality)
    assert opened.status_code == 201, opened.text
    recall_id = opened.json()["recall_id"]
    assert recall_id is not None
    assert opened.json()["events"][-1]["kind"] == "recall_opened"
    assert client.post(f"{url}/recall", headers=quality).status_code == 409  # once
    recall: dict[str, Any] = client.get(f"/api/v1/recalls/{recall_id}", headers=agent).json()
    assert recall["status"] == "proposed"  # waits for approval like any recall
    assert recall["origin"] == "investigation"
    assert recall["evidence"]["investigation_id"] == world
    assert "SH-101" in {leg["shipment"] for leg in recall["evidence"]["suspect_legs"]}
    lots = {lot["lot"]: lot for lot in recall["lots"]}
    assert set(lots) == {"LM2", "LM2-R"}
    assert lots["LM2-R"]["included"]
    assert lots["LM2-R"]["why"].startswith("in: repacked from lot LM2 on ")
    assert recall["scope"]["lots"] == 2
    assert recall["scope"]["repacked_lots"] == 1
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)

    closed = client.post(
        f"{url}/close",
        json={"outcome": "recall_opened", "conclusion": "Cold chain broke on TR-12."},
        headers=quality,
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["outcome"], body["closed_by"]) == (
        "closed",
        "recall_opened",
        "test quality",
    )
    assert body["conclusion"] == "Cold chain broke on TR-12."
    again = client.post(f"{url}/close", json=closing, headers=quality)
    assert again.status_code == 409
    assert client.post(f"{url}/notes", json=note, headers=quality).status_code == 200
    assert client.post(f"{url}/recall", headers=quality).status_code == 409  # closed

    reopened = client.post(f"{url}/reopen", json={"why": "a fourth complaint"}, headers=quality)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["outcome"]) == ("open", None)
    assert client.post(f"{url}/reopen", json={"why": "x"}, headers=quality).status_code == 409
    assert audit(db, world) == [
        "opened",
        "note",
        "recall_opened",
        "closed",
        "note",
        "reopened",
    ]
    listed = client.get("/api/v1/investigations", headers=agent).json()
    assert [(i["id"], i["status"], i["recall_id"]) for i in listed] == [(world, "open", recall_id)]


def test_link_and_reopen_are_refused_when_the_state_does_not_allow_them(
    client: httpx.Client, db: Pool, world: int, quality: dict[str, str]
) -> None:
    url = f"/api/v1/investigations/{world}"
    missing = client.put(f"{url}/recall", json={"recall_id": 999}, headers=quality)
    assert missing.status_code == 404
    assert (
        client.post(
            "/api/v1/investigations/999/notes", json={"text": "x"}, headers=quality
        ).status_code
        == 404
    )
    wrong = client.post(
        f"{url}/close", json={"outcome": "maybe", "conclusion": "x"}, headers=quality
    )
    assert wrong.status_code == 422
    closed = client.post(
        f"{url}/close",
        json={"outcome": "supplier_issue", "conclusion": "Bad cartons from the supplier."},
        headers=quality,
    )
    assert closed.status_code == 200
    # new complaints about the same lot open a new investigation; the old one stays closed
    newer = complain(db, "LM2", hours=30)
    assert newer != world
    refused = client.post(f"{url}/reopen", json={"why": "same cartons"}, headers=quality)
    assert refused.status_code == 409
    assert f"investigation {newer}" in refused.json()["detail"]
    # a recall opened from the new one can be linked to the old... once reopened: it is closed
    recall_id = client.post(f"/api/v1/investigations/{newer}/recall", headers=quality).json()[
        "recall_id"
    ]
    linked = client.put(f"{url}/recall", json={"recall_id": recall_id}, headers=quality)
    assert linked.status_code == 409
    relinked = client.put(
        f"/api/v1/investigations/{newer}/recall", json={"recall_id": recall_id}, headers=quality
    )
    assert relinked.status_code == 409  # linked to it already


def test_console_forms_need_the_quality_role_and_their_csrf_token(
    client: httpx.Client, db: Pool, world: int
) -> None:
    page = f"/console/investigations/{world}"
    token = signed_in(client, db, "agent")
    assert 'id="work"' not in client.get(page).text  # no forms for an agent
    refused = client.post(f"{page}/notes", data={"csrftoken": token, "text": "hello"})
    assert refused.status_code == 403
    assert "needs the quality role" in refused.text
    assert client.post(f"{page}/open-recall", data={"csrftoken": token}).status_code == 403
    client.cookies.clear()
    token = signed_in(client, db, "quality")
    assert 'id="work"' in client.get(page).text
    forged = client.post(f"{page}/notes", data={"text": "no token"})
    assert forged.status_code == 403
    assert audit(db, world) == ["opened"]
    added = client.post(f"{page}/notes", data={"csrftoken": token, "text": "checked the van"})
    assert added.status_code == 303
    assert "checked the van" in client.get(added.headers["location"]).text
    opened = client.post(f"{page}/open-recall", data={"csrftoken": token})
    assert opened.status_code == 303
    assert opened.headers["location"].startswith("/console/recalls/")
    shown = client.get(opened.headers["location"]).text
    assert "repacked from lot LM2" in shown
    assert f"investigation {world}" in shown
    closed = client.post(
        f"{page}/close",
        data={"csrftoken": token, "outcome": "recall_opened", "conclusion": "recalled"},
    )
    assert closed.status_code == 303
    assert "Closed" in client.get(closed.headers["location"]).text
    blank = client.post(f"{page}/reopen", data={"csrftoken": token, "why": "   "})
    assert blank.status_code == 303
    assert "must be 1 to 4,000 characters" in client.get(blank.headers["location"]).text
    assert audit(db, world) == ["opened", "note", "recall_opened", "closed"]
