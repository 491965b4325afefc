"""Outbox, Mail and the customer's preference page in a real headless Chromium, at a
desktop's and a phone's width: a heads-up delivered over SMTP, read in the console, its
preference link followed and a choice saved; a failed message retried."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import ensure_admin
from crm_core.consent.links import PreferenceLinks
from crm_core.kernel.capabilities import Capabilities
from crm_core.kernel.links import LinkSigner
from crm_core.notifications.channels.email import SmtpChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import Message, OutboxPolicy
from crm_core.notifications.postgres import PostgresOutbox
from devices.catalog import Catalog
from tests.api import factories as make
from tests.api.server import serve
from tests.browser.test_console import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM_ARGS, chromium_path
from tests.browser.test_fleet_console import no_sideways_scroll
from tests.integration.mail import mail_server

pytestmark = pytest.mark.browser
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SECRET = "browser-notifications-secret-0123456789"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")


@pytest.fixture
def served(
    db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path
) -> Iterator[tuple[str, int]]:
    """The app, a customer whose heads-up went through a real SMTP server, a failed row."""
    with db.connection() as conn:
        ensure_admin(conn, ADMIN_EMAIL, ADMIN_PASSWORD)
        customer = make.customer(conn)
    settings = Settings(data_dir=tmp_path, api=ApiSettings(session_secret=SECRET))
    context = AppContext(settings=settings, pool=db, catalog=catalog, capabilities=capabilities)
    with serve(create_app(context)) as base_url:
        link = PreferenceLinks(LinkSigner(SECRET), 3600).url(base_url, customer)
        with db.connection() as conn:
            outbox = PostgresOutbox(conn)
            body = f"We noticed something.\n\nChoose what we may send you, and how: {link}"
            heads_up = Message(
                "ticket/1/heads-up",
                customer,
                "email",
                "service",
                "amelie.laurent@example.net",
                "We noticed something",
                body,
            )
            outbox.enqueue(heads_up, NOW)
            outbox.enqueue(Message("hook/1", customer, "webhook", "service", "https://x"), NOW)
        smtp = mail_server(tmp_path / "mail")
        smtp.start()
        try:
            channel = SmtpChannel("127.0.0.1", smtp.port, "service@careline.test")
            # no webhook channel: that row fails, for the retry button
            Dispatcher(db, {"email": channel}, policy=OutboxPolicy(), clock=lambda: NOW).drain()
        finally:
            smtp.stop()
        yield base_url, customer


def test_mail_outbox_and_preferences_in_the_browser(
    served: tuple[str, int], db: Pool, tmp_path: Path
) -> None:
    base_url, customer = served
    from playwright.sync_api import expect, sync_playwright

    shots = Path(SHOTS) if SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for width, height in ((1366, 900), (390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{base_url}/console/sign-in")
                page.fill("input[name=email]", ADMIN_EMAIL)
                page.fill("input[name=password]", ADMIN_PASSWORD)
                page.click("button[type=submit]")

                page.goto(f"{base_url}/console/outbox")
                expect(page.locator("#outbox")).to_contain_text("no webhook channel is configured")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"outbox-{width}.png"), full_page=True)
                if width == 1366:
                    page.click("#outbox button:has-text('Retry')")
                    expect(page.locator("p.notice")).to_contain_text("queued again")

                page.goto(f"{base_url}/console/mail")
                expect(page.locator("#mail")).to_contain_text("We noticed something")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"mail-{width}.png"), full_page=True)
                page.click("#mail a")
                body = page.locator("pre.mail-body")
                expect(body).to_contain_text("Choose what we may send you")
                assert no_sideways_scroll(page)
                link = body.inner_text().split("how: ")[1].split()[0]

                page.goto(link)
                expect(page.locator("h1")).to_have_text("What we may send you")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"preferences-{width}.png"), full_page=True)
                if width == 1366:
                    page.check("input[name='marketing:email']")
                    page.click("button[type=submit]")
                    expect(page.locator("p.notice")).to_contain_text("Saved")
                    expect(page.locator("input[name='marketing:email']")).to_be_checked()
                page.close()
        finally:
            browser.close()
    with db.connection() as conn:
        ledger = conn.execute(
            "SELECT action, purpose, channel, source FROM consent_records WHERE customer_id = %s",
            (customer,),
        ).fetchall()
        retried = conn.execute("SELECT status FROM outbox WHERE idempotency_key = 'hook/1'")
        assert retried.fetchone() == ("pending",)
    assert ledger == [("grant", "marketing", "email", "preference_page")]
