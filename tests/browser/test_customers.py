"""The customers pages in a real headless Chromium: find a customer, read the 360 page,
edit them through the form (a refusal shown next to the field), at desktop and phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import ensure_admin
from crm_core.kernel.capabilities import Capabilities
from devices.catalog import Catalog
from tests.api import factories as make
from tests.api.server import serve
from tests.browser.test_console import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def customer_site(db: Pool, catalog: Catalog, capabilities: Capabilities) -> Iterator[str]:
    with db.connection() as conn:
        ensure_admin(conn, ADMIN_EMAIL, ADMIN_PASSWORD)
        amelie = make.customer(conn)
        make.customer(conn, "Boulangerie du Vieux Lyon", kind="business", email=None)
        home = make.site(conn, amelie)
        fridge = make.device(conn, "RF-000042", customer_id=amelie, site_id=home)
        washer = make.device(conn, "WM-000007", device_type="washing_machine", customer_id=amelie)
        today = NOW.date()
        for device_id, warranty_end in (
            (fridge, today + timedelta(days=300)),
            (washer, today - timedelta(days=30)),
        ):
            conn.execute(
                "UPDATE devices SET warranty_end = %s WHERE id = %s", (warranty_end, device_id)
            )
        fault = make.fault(conn, fridge, NOW - timedelta(hours=2))
        ticket = make.ticket(conn, amelie, NOW - timedelta(hours=2), device_id=fridge)
        make.ticket_fault(conn, ticket, fault)
        make.ticket(
            conn,
            amelie,
            NOW - timedelta(days=40),
            kind="reactive",
            status="closed",
            subject="Door seal replaced",
        )
    context = AppContext(
        settings=Settings(api=ApiSettings(session_secret="browser-test-secret-0123456789abcdef")),
        pool=db,
        catalog=catalog,
        capabilities=capabilities,
    )
    with serve(create_app(context)) as url:
        yield url


@pytest.mark.parametrize("width", [1366, 390])
def test_find_a_customer_read_the_360_page_and_edit_them(
    customer_site: str, tmp_path: Path, width: int
) -> None:
    base_url = customer_site
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base_url}/console/sign-in")
            page.fill("input[name=email]", ADMIN_EMAIL)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")

            page.click("header nav >> text=Customers")
            expect(page.locator("#customers li")).to_have_count(2)
            page.fill("#q", "amélie")
            page.click("form.search button")
            expect(page.locator("#customers li")).to_have_count(1)
            page.click("#customers a.name")

            expect(page.locator("h1")).to_contain_text("Amélie Laurent")
            expect(page.locator("#contact")).to_contain_text("amelie.laurent@example.net")
            expect(page.locator("#preferred-channel")).to_have_text("email")
            devices = page.locator("#devices")
            expect(devices).to_contain_text("RF-000042")
            expect(devices.locator(".cover-warranty")).to_have_count(1)
            expect(devices.locator(".cover-billable")).to_have_count(1)  # the washer's ended
            expect(page.locator("#open-tickets")).to_contain_text("Cabinet temperature rising")
            expect(page.locator("#past-tickets")).to_contain_text("Door seal replaced")
            expect(page.locator("#faults")).to_contain_text("RF-000042")

            page.click("#edit-customer")
            page.fill("#f-phone", "04 72 10 20 31")  # no country code
            page.click("#record-submit")
            expect(page.locator("#e-phone")).to_contain_text("international form")
            page.fill("#f-phone", "+33 4 72 10 20 99")
            page.select_option("#f-preferred_channel", "sms")
            page.click("#record-submit")
            expect(page).to_have_url(re.compile(r"/console/customers/\d+\?saved="))
            expect(page.locator("#contact")).to_contain_text("+33472102099")
            expect(page.locator("#preferred-channel")).to_have_text("sms")
            expect(page.locator("#timeline li").first).to_contain_text("customer updated")
            expect(page.locator("#timeline li").first).to_contain_text("+33472102099")

            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
            shot = tmp_path / f"customer-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            page.click("#open-tickets a")
            expect(page.locator("#customer-panel")).to_contain_text("+33472102099")
            expect(page.locator("#panel-channel")).to_have_text("sms")
            expect(page.locator("#panel-cover")).to_contain_text("in warranty")
            expect(page.locator("#panel-devices")).to_contain_text("WM-000007")
            expect(page.locator("#panel-tickets")).to_contain_text("Door seal replaced")
            assert errors == []
        finally:
            browser.close()
