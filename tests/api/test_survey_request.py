"""A resolved ticket asks its customer how we did: the survey is made and its signed link
mailed through the outbox, in the resolving transaction; the link opens the survey."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.bootstrap import event_bus
from careline.outbound import survey_request
from careline.settings import ApiSettings, Settings
from crm_core.kernel.capabilities import Capabilities
from devices.catalog import Catalog
from tests.api.conftest import NOW, SESSION_SECRET
from tests.api.server import serve

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


@pytest.fixture
def surveyed(db: Pool, catalog: Catalog, capabilities: Capabilities) -> Iterator[httpx.Client]:
    settings = Settings(api=ApiSettings(session_secret=SESSION_SECRET, cookie_secure=False))
    bus = event_bus(catalog, lambda: NOW, surveys=survey_request(settings, lambda: NOW))
    context = AppContext(
        settings=settings,
        pool=db,
        catalog=catalog,
        capabilities=capabilities,
        clock=lambda: NOW,
        bus=bus,
    )
    with serve(create_app(context)) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def outbox(db: Pool) -> list[tuple[str, str, str, str]]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT idempotency_key, channel, recipient, body FROM outbox ORDER BY id"
        ).fetchall()
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


def test_resolving_mails_the_survey_link_once_and_the_link_opens_it(
    surveyed: httpx.Client, db: Pool, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    ticket = fleet["ticket"]
    done = surveyed.post(
        f"/api/v1/tickets/{ticket}/resolve", json={"code": "repaired"}, headers=agent
    )
    assert done.status_code == 200, done.text
    mails = [row for row in outbox(db) if row[0] == f"ticket/{ticket}/survey"]
    assert len(mails) == 1
    _, channel, recipient, body = mails[0]
    assert channel == "email"
    assert "@" in recipient
    link = re.search(r"http\S+/survey/\S+", body)
    assert link is not None
    page = surveyed.get(httpx.URL(link.group(0)).path)
    assert page.status_code == 200
    assert "How did we do?" in page.text
    # Reopened and resolved again: the customer is asked once.
    again = surveyed.patch(
        f"/api/v1/tickets/{ticket}", json={"status": "in_progress"}, headers=agent
    )
    assert again.status_code == 200, again.text
    surveyed.post(f"/api/v1/tickets/{ticket}/resolve", json={"code": "adjusted"}, headers=agent)
    assert len([r for r in outbox(db) if r[0] == f"ticket/{ticket}/survey"]) == 1
    with db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM surveys").fetchone() == (1,)


def test_a_ticket_whose_faults_cleared_by_themselves_asks_nothing(
    surveyed: httpx.Client, db: Pool, agent: dict[str, str], fleet: dict[str, int]
) -> None:
    done = surveyed.post(
        f"/api/v1/tickets/{fleet['ticket']}/resolve", json={"code": "duplicate"}, headers=agent
    )
    assert done.status_code == 200, done.text
    assert not [row for row in outbox(db) if row[0].endswith("/survey")]
