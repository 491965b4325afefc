"""Consent over the API, the customer's signed preference page, and the Outbox and Mail pages."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import psycopg
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.consent.links import PreferenceLinks
from crm_core.kernel.capabilities import Capabilities
from crm_core.kernel.links import LinkSigner
from crm_core.notifications.model import Message
from crm_core.notifications.postgres import PostgresOutbox
from devices.catalog import Catalog
from tests.api import factories as make
from tests.api.conftest import NOW, SESSION_SECRET
from tests.api.server import serve
from tests.api.test_console_actions import signed_in
from tests.integration.mail import mail_server

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


class MonthOldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 31 * 86400


LINKS = PreferenceLinks(LinkSigner(SESSION_SECRET), 3600)


@pytest.fixture
def context(db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path) -> AppContext:
    settings = Settings(
        data_dir=tmp_path,
        # plain HTTP to 127.0.0.1, as the demo: cookies without the Secure flag
        api=ApiSettings(session_secret=SESSION_SECRET, cookie_secure=False),
    )
    return AppContext(
        settings=settings, pool=db, catalog=catalog, capabilities=capabilities, clock=lambda: NOW
    )


@pytest.fixture
def client(context: AppContext) -> Iterator[httpx.Client]:
    with serve(create_app(context)) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


@pytest.fixture
def customer(db: Pool) -> int:
    with db.connection() as conn:
        return make.customer(conn)


def rows(db: Pool, sql: str) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute(sql).fetchall()


def state(body: dict[str, Any], purpose: str, channel: str) -> dict[str, Any]:
    [entry] = [s for s in body["state"] if (s["purpose"], s["channel"]) == (purpose, channel)]
    return dict(entry)


def test_an_agent_records_consent_and_an_objection_overrides_it_on_the_record(
    client: httpx.Client, db: Pool, customer: int, agent: dict[str, str], viewer: dict[str, str]
) -> None:
    url = f"/api/v1/customers/{customer}/consents"
    body = client.get(url, headers=viewer).json()
    assert state(body, "marketing", "email")["allowed"] is False
    assert state(body, "service", "email")["allowed"] is True
    assert body["history"] == []
    grant = {"changes": [{"purpose": "marketing", "channel": "email", "granted": True}]}
    assert client.post(url, json=grant, headers=viewer).status_code == 403
    granted = client.post(url, json={**grant, "source": "console"}, headers=agent).json()
    assert state(granted, "marketing", "email") == {
        "purpose": "marketing",
        "channel": "email",
        "allowed": True,
        "reason": "the customer granted marketing by email",
        "record_id": granted["history"][0]["id"],
    }
    again = client.post(url, json=grant, headers=agent).json()
    assert len(again["history"]) == 1  # granting what is granted records nothing
    objected = client.post(url, json={"objection": True, "source": "app"}, headers=agent).json()
    decision = state(objected, "marketing", "email")
    assert decision["allowed"] is False
    assert decision["record_id"] == objected["objection"]["id"]
    assert state(objected, "service", "email")["allowed"] is True
    audit = rows(
        db, "SELECT actor, entity, entity_id, action, detail->>'source' FROM audit_log ORDER BY id"
    )
    assert audit == [
        ("test agent", "customer_consent", str(customer), "consent.grant", "console"),
        ("test agent", "customer_consent", str(customer), "consent.object", "app"),
    ]


def test_bad_consent_changes_get_clear_errors(
    client: httpx.Client, customer: int, agent: dict[str, str]
) -> None:
    url = f"/api/v1/customers/{customer}/consents"
    safety = {"changes": [{"purpose": "safety", "channel": "sms", "granted": False}]}
    refused = client.post(url, json=safety, headers=agent)
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "invalid_request",
        "detail": "safety notices (recalls, hazards) cannot be switched off: the law requires them",
    }
    assert client.post(url, json={}, headers=agent).status_code == 422
    unknown = {"changes": [{"purpose": "spam", "channel": "email", "granted": True}]}
    assert client.post(url, json=unknown, headers=agent).status_code == 422
    missing = client.post("/api/v1/customers/999/consents", json={"objection": True}, headers=agent)
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_the_preference_page_changes_the_ledger_with_its_source(
    client: httpx.Client, db: Pool, customer: int
) -> None:
    url = "/preferences/" + LINKS.token(customer)
    page = client.get(url)
    assert page.status_code == 200
    assert "Safety notices and recalls" in page.text
    token = client.cookies["csrftoken"]
    form = {"csrftoken": token, "service:email": "on", "marketing:push": "on", "objection": ""}
    saved = client.post(url, data=form)
    assert saved.status_code == 303
    ledger = rows(
        db, "SELECT action, purpose, channel, source, actor FROM consent_records ORDER BY id"
    )
    # service stays on by e-mail (the default: nothing to record), off elsewhere; one grant
    assert ("grant", "marketing", "push", "preference_page", "customer (preference link)") in ledger
    assert ("withdraw", "service", "sms", "preference_page", "customer (preference link)") in ledger
    assert not any(p == "service" and c == "email" for _, p, c, _, _ in ledger)
    assert all(source == "preference_page" for _, _, _, source, _ in ledger)
    shown = client.get(saved.headers["location"])
    assert "Saved." in shown.text
    forged = client.post(url, data={"objection": "on"})  # no CSRF token
    assert forged.status_code == 403


def test_a_tampered_or_expired_link_is_refused_with_a_clear_page(
    client: httpx.Client, customer: int
) -> None:
    token = LINKS.token(customer)
    tampered = client.get(f"/preferences/{token[:-3]}abc")
    assert tampered.status_code == 400
    assert "this link is not valid" in tampered.text
    other_key = PreferenceLinks(LinkSigner("another-secret-of-enough-length-0123"), 3600).token(
        customer
    )
    assert client.get(f"/preferences/{other_key}").status_code == 400
    ancient = URLSafeTimedSerializer(
        SESSION_SECRET, salt="careline-link:preferences", signer=MonthOldSigner
    ).dumps(customer)  # a genuine link, signed 31 days ago: past the 30-day limit
    gone = client.get(f"/preferences/{ancient}")
    assert gone.status_code == 410
    assert "this link has expired" in gone.text


def test_outbox_page_lists_messages_and_retry_needs_the_csrf_token(
    client: httpx.Client, db: Pool, customer: int
) -> None:
    with db.connection() as conn:
        outbox = PostgresOutbox(conn)
        outbox.enqueue(Message("m/1", customer, "email", "service", "a@example.net", "Hello"), NOW)
        conn.execute("UPDATE outbox SET status = 'failed', attempts = 8, last_error = 'SMTP 550'")
    token = signed_in(client, db, "agent")
    page = client.get("/console/outbox")
    assert page.status_code == 200
    assert "SMTP 550" in page.text
    assert "/console/outbox/1/retry" in page.text
    forged = client.post("/console/outbox/1/retry", data={})
    assert forged.status_code == 403
    assert rows(db, "SELECT status FROM outbox") == [("failed",)]
    retried = client.post("/console/outbox/1/retry", data={"csrftoken": token})
    assert retried.status_code == 303
    assert "queued again" in unquote(retried.headers["location"])
    assert rows(db, "SELECT status, attempts FROM outbox") == [("pending", 0)]
    again = client.post("/console/outbox/1/retry", data={"csrftoken": token})
    assert "is pending, not failed" in unquote(again.headers["location"])
    assert rows(db, "SELECT actor, entity, action FROM audit_log") == [
        ("agent@example.org", "outbox", "outbox.retry")
    ]


def test_the_mail_page_shows_what_the_smtp_server_received(
    client: httpx.Client, db: Pool, context: AppContext
) -> None:
    server = mail_server(context.settings.data_dir / "mail")
    server.start()
    try:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = (
            "s@careline.test",
            "a@example.net",
            "Hi there",
        )
        email["Message-ID"] = "<ticket.1.heads-up@careline.notifications>"
        email.set_content("We noticed something.")
        with smtplib.SMTP("127.0.0.1", server.port) as smtp:
            smtp.send_message(email)
    finally:
        server.stop()
    signed_in(client, db, "viewer")
    listing = client.get("/console/mail")
    assert "Hi there" in listing.text
    [link] = [part.split('"')[0] for part in listing.text.split('href="/console/mail/')[1:]]
    message = client.get(f"/console/mail/{link}")
    assert "We noticed something." in message.text
    assert "ticket.1.heads-up@careline.notifications" in message.text
    assert client.get("/console/mail/..%2F..%2Fetc").status_code == 404


def test_the_outbox_over_the_api_lists_and_retries_a_failed_message(
    client: httpx.Client, db: Pool, customer: int, agent: dict[str, str], viewer: dict[str, str]
) -> None:
    with db.connection() as conn:
        outbox = PostgresOutbox(conn)
        outbox.enqueue(Message("m/1", customer, "email", "service", "a@example.net", "Hi"), NOW)
        outbox.enqueue(Message("m/2", customer, "push", "service", "app/1/notifications"), NOW)
        conn.execute("UPDATE outbox SET status = 'failed', last_error = 'SMTP 550' WHERE id = 1")
    failed = client.get("/api/v1/outbox?status=failed", headers=viewer).json()
    assert [(m["id"], m["last_error"]) for m in failed["items"]] == [(1, "SMTP 550")]
    mine = client.get(f"/api/v1/outbox?customer_id={customer}", headers=viewer).json()
    assert len(mine["items"]) == 2
    assert client.post("/api/v1/outbox/1/retry", headers=viewer).status_code == 403
    retried = client.post("/api/v1/outbox/1/retry", headers=agent)
    assert (retried.status_code, retried.json()["status"]) == (200, "pending")
    pending = client.post("/api/v1/outbox/2/retry", headers=agent)
    assert (pending.status_code, pending.json()["error"]) == (409, "conflict")
    assert client.post("/api/v1/outbox/99/retry", headers=agent).status_code == 404
