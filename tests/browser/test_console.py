"""The console in a real headless Chromium: sign in, tickets, a ticket, a device's charts.

Playwright's Python API drives Debian's system Chromium (``CARELINE_TEST_CHROMIUM`` or
``/usr/bin/chromium``); no browser is downloaded. The app runs under uvicorn in a thread.
"""

from __future__ import annotations

import math
import os
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
from tests import services
from tests.api import factories as make
from tests.api.server import serve

pytestmark = pytest.mark.browser

Pool = ConnectionPool[psycopg.Connection[TupleRow]]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a long test password"
NOW = datetime.now(UTC).replace(microsecond=0)


def chromium_path() -> str:
    path = os.environ.get("CARELINE_TEST_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).is_file():
        services.unavailable("chromium", f"no Chromium at {path}")
    return path


@pytest.fixture
def seeded(db: Pool, catalog: Catalog) -> dict[str, int]:
    """An admin; a customer whose fridge warmed up two hours ago; the fault and its ticket."""
    with db.connection() as conn:
        ensure_admin(conn, ADMIN_EMAIL, ADMIN_PASSWORD)
        customer = make.customer(conn)
        site = make.site(conn, customer)
        fridge = make.device(conn, "RF-000042", customer_id=customer, site_id=site)
        start = NOW - timedelta(hours=6)
        opened = NOW - timedelta(hours=2)
        points = []
        for i in range(6 * 60):
            ts = start + timedelta(minutes=i)
            warm = max(0.0, (ts - opened).total_seconds() / 3600) * 3.0
            points.append((ts, 4.0 + 0.25 * math.sin(i / 9) + 0.08 * math.sin(i * 1.7) + warm))
        make.readings(conn, catalog, fridge, "cabinet_temp", points)
        make.readings(
            conn,
            catalog,
            fridge,
            "compressor_power",
            [(start + timedelta(minutes=i), 95.0 + 6 * math.sin(i / 23)) for i in range(6 * 60)],
        )
        make.device_status(conn, fridge, points[-1][0], points[-1][0])
        fault = make.fault(conn, fridge, opened, score=7.8, threshold=4.0)
        ticket = make.ticket(
            conn,
            customer,
            opened + timedelta(minutes=1),
            device_id=fridge,
            subject="Fridge RF-000042: cabinet temperature rising",
            priority=1,
        )
        make.ticket_fault(conn, ticket, fault)
    return {"fault": fault, "ticket": ticket}


@pytest.fixture
def base_url(db: Pool, catalog: Catalog, capabilities: Capabilities) -> Iterator[str]:
    context = AppContext(
        settings=Settings(
            api=ApiSettings(
                session_secret="browser-test-secret-0123456789abcdef", cookie_secure=False
            )
        ),
        pool=db,
        catalog=catalog,
        capabilities=capabilities,
    )
    with serve(create_app(context)) as url:
        yield url


def test_sign_in_ticket_and_device_chart(
    base_url: str, seeded: dict[str, int], tmp_path: Path
) -> None:
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # anything our Content-Security-Policy blocks shows up as a console message
            page.on(
                "console",
                lambda msg: (
                    errors.append(msg.text) if "Content Security Policy" in msg.text else None
                ),
            )

            page.goto(f"{base_url}/console/tickets")
            expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
            page.fill("input[name=email]", ADMIN_EMAIL)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")

            expect(page).to_have_url(f"{base_url}/console/tickets")
            row = page.locator("#tickets tbody tr").first
            expect(row).to_contain_text("Fridge RF-000042: cabinet temperature rising")
            expect(row).to_contain_text("Amélie Laurent")

            page.click(f"a[href='/console/tickets/{seeded['ticket']}'] >> nth=0")
            expect(page.locator("h1")).to_have_text("Fridge RF-000042: cabinet temperature rising")
            fault_row = page.locator("#faults tbody tr").first
            expect(fault_row).to_contain_text("7.80")
            expect(fault_row).to_contain_text("cabinet_temp")

            # work the ticket: take the fault in hand, move the ticket, leave a comment
            page.click(f"#ack-{seeded['fault']}")
            expect(fault_row).to_contain_text("acknowledged")
            page.select_option("#move-status", "assigned")
            page.fill("#move-form input[name=comment]", "Anna, fridges, Lyon north")
            page.click("#move-submit")
            expect(page.locator("dl.facts")).to_contain_text("assigned")
            page.fill("#comment-form textarea", "Customer prefers mornings.")
            page.click("#comment-submit")
            history = page.locator("#history")
            expect(history).to_contain_text("moved it from new to")
            expect(history).to_contain_text("Anna, fridges, Lyon north")
            expect(history).to_contain_text("Customer prefers mornings.")
            # a move the lifecycle forbids is refused on the page, not with an error page
            expect(page.locator("#move-status option[value=closed]")).to_have_count(0)

            page.click("#device-link")
            # the ticket opens the device around its fault: a baseline before the onset
            expect(page).to_have_url(
                f"{base_url}/console/devices/RF-000042?ticket={seeded['ticket']}"
            )
            expect(page.locator("nav.spans .current")).to_have_text(
                f"around ticket #{seeded['ticket']}"
            )
            expect(page.locator("#device-status")).to_have_text("online")
            expect(page.locator("#open-faults")).to_contain_text(
                f"fault #{seeded['fault']} score 7.80 ≥ 4"
            )
            chart = page.locator("#chart-cabinet_temp")
            expect(chart).to_have_attribute("data-rendered", "true", timeout=15_000)
            expect(chart.locator("svg.main-svg").first).to_be_visible()
            # the fault: a shaded region, a marker at its onset and its label in the plot
            expect(chart.locator(".shapelayer path")).to_have_count(2)
            expect(chart.locator(".annotation-text")).to_have_text(
                f"fault #{seeded['fault']} score 7.80 ≥ 4"
            )
            expect(page.locator("#chart-compressor_power svg.main-svg").first).to_be_visible()
            # the power chart has no fault, so no marking
            expect(page.locator("#chart-compressor_power .annotation-text")).to_have_count(0)

            shot = tmp_path / "device.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # /docs: Swagger UI from the installed package, started within the CSP
            page.goto(f"{base_url}/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("careline")
            expect(page.locator(".opblock-tag-section").first).to_be_visible()
            assert errors == []
        finally:
            browser.close()


def test_thresholds_page_override_reset_and_phone_width(
    base_url: str, seeded: dict[str, int], tmp_path: Path
) -> None:
    """From the device page to its thresholds: an override saved shows as the device's, a
    refused one comes back as a message, a reset is listed; at 390 px nothing overflows."""
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("CARELINE_TEST_SHOTS", tmp_path))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base_url}/console/devices/RF-000042")
            page.fill("input[name=email]", ADMIN_EMAIL)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.click("#thresholds-link")
            expect(page).to_have_url(f"{base_url}/console/devices/RF-000042/thresholds")
            threshold = page.locator("#cabinet_temp-threshold")
            expect(threshold).to_contain_text("4")
            expect(threshold.locator(".badge")).to_have_text("model")

            page.click("#metric-cabinet_temp summary")  # the form folds away until wanted
            page.fill("#form-cabinet_temp input[name=threshold]", "6.5")
            page.click("#save-cabinet_temp")
            expect(threshold).to_contain_text("6.5")
            expect(threshold.locator(".badge")).to_have_text("device")

            page.fill("#form-cabinet_temp input[name=limit_low]", "9")
            page.fill("#form-cabinet_temp input[name=limit_low_for_s]", "600")
            page.click("#save-cabinet_temp")
            expect(page.locator("#action-error")).to_contain_text("must be below limit_high")

            page.fill("#reset-reason", "compressor replaced")
            page.click("#reset-submit")
            expect(page.locator("#resets")).to_contain_text("compressor replaced")
            page.screenshot(path=str(shots / "thresholds-1366.png"), full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            width = page.evaluate("document.documentElement.scrollWidth")
            widest = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => "
                "e.getBoundingClientRect().right > 390).map(e => e.tagName + '#' + e.id + '.' "
                "+ e.className).slice(0, 5).join(' ')"
            )
            assert width <= 390, f"the page is {width} px wide at a 390 px viewport: {widest}"
            expect(page.locator("#save-cabinet_temp")).to_be_visible()
            page.screenshot(path=str(shots / "thresholds-390.png"), full_page=True)

            page.set_viewport_size({"width": 1366, "height": 1000})
            page.click("#customer-thresholds")
            page.click("#metric-telemetry summary")
            page.fill("#form-telemetry input[name=no_data_after_s]", "7200")
            page.click("#save-telemetry")
            expect(page.locator("#telemetry-override")).to_contain_text("7200")
            page.screenshot(path=str(shots / "customer-thresholds-1366.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(shots / "customer-thresholds-390.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
