"""The service console in a real headless Chromium: the queue with its SLA countdown and
filters, assignment from the suggestions, a visit booked and shown on the technician's
day at a phone's width, resolution with a code."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.tickets.technicians import create_technician
from tests.browser.test_console import (  # noqa: F401 (fixtures)
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM_ARGS,
    NOW,
    base_url,
    chromium_path,
    seeded,
)

pytestmark = pytest.mark.browser


def test_the_queue_and_a_ticket_worked_to_resolution(
    base_url: str,  # noqa: F811
    seeded: dict[str, int],  # noqa: F811
    db: ConnectionPool[psycopg.Connection[TupleRow]],
    tmp_path: Path,
) -> None:
    with db.connection() as conn:
        tech = create_technician(
            conn,
            name="Claire Dubois",
            email="claire@example.com",
            skills=["refrigerator"],
            home=(45.75, 4.85),
            by="test",
            now=NOW,
        )
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base_url}/console/sign-in")
            page.fill("input[name=email]", ADMIN_EMAIL)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")

            row = page.locator("#tickets tbody tr").first
            expect(row.locator("td.sla .badge")).to_have_count(1)
            expect(row.locator("td.sla")).to_contain_text(
                "first response"
            )  # countdown or lateness of the open first-response clock
            # filter: P1 proactive tickets without an assignee shown; then one that has none
            page.select_option("#queue-filters select[name=priority]", "1")
            page.click("#filter-submit")
            expect(page.locator("#tickets tbody tr")).to_have_count(1)
            page.select_option("#queue-filters select[name=sla_state]", "achieved")
            page.click("#filter-submit")
            expect(page.locator("#tickets")).to_have_count(0)
            expect(page.locator("p.empty")).to_contain_text("match these filters")

            page.goto(f"{base_url}/console/tickets/{seeded['ticket']}")
            expect(page.locator("#sla-panel")).to_contain_text("First response")
            expect(page.locator("#entitlement")).to_contain_text("in warranty")
            expect(page.locator("#assign-form")).to_contain_text("1.9 km from the site")
            page.click("#assign-submit")
            expect(page.locator("#assignee")).to_have_text("Claire Dubois")
            day = (NOW + timedelta(days=1)).date().isoformat()
            page.fill("#schedule-form input[name=day]", day)
            page.click("#schedule-submit")
            expect(page.locator("#visit-window")).to_be_visible()

            phone = context.new_page()  # the same sign-in, at a phone's width
            phone.set_viewport_size({"width": 390, "height": 844})
            phone.goto(f"{base_url}/console/technicians/{tech}/day?on={day}")
            visit = phone.locator("#visits li").first
            expect(visit).to_contain_text("09:00–12:00")
            expect(visit).to_contain_text("Fridge RF-000042")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # nothing overflows a phone's width
            phone.screenshot(path=str(tmp_path / "day.png"), full_page=True)

            page.select_option("#move-status", "in_progress")
            page.click("#move-submit")
            page.select_option("#resolve-code", "part_replaced")
            page.click("#resolve-submit")
            expect(page.locator("#resolution")).to_contain_text("part replaced · first-time fix")
            expect(page.locator("#history")).to_contain_text("resolved it")
            assert errors == []
        finally:
            browser.close()
