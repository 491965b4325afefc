"""A ticket whose fault cleared by itself, in a real headless Chromium: its SLA panel shows
the first response as not applicable (not running on), its history says why, and the page
works at a phone's width."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.tickets.follow import resolve_if_all_cleared
from crm_core.tickets.follow_postgres import PostgresTicketFaultLinks
from devices.faults.postgres import PostgresFaultRepository
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
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")


def test_a_self_resolved_ticket_shows_its_sla_stopped(
    base_url: str,  # noqa: F811
    seeded: dict[str, int],  # noqa: F811
    db: ConnectionPool[psycopg.Connection[TupleRow]],
    tmp_path: Path,
) -> None:
    cleared = NOW - timedelta(minutes=90)
    with db.connection() as conn:
        faults = PostgresFaultRepository(conn)
        fault = faults.get(seeded["fault"], for_update=True)
        assert fault is not None
        fault.clear(cleared)
        faults.save(fault)
        assert resolve_if_all_cleared(
            PostgresTicketFaultLinks(conn),
            seeded["fault"],
            absorbed=False,
            hint="cabinet cold again",
            now=cleared,
        )
    shots = Path(SHOTS) if SHOTS else tmp_path
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for width in (1366, 390):
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))  # noqa: B023
                page.goto(f"{base_url}/console/sign-in")
                page.fill("input[name=email]", ADMIN_EMAIL)
                page.fill("input[name=password]", ADMIN_PASSWORD)
                page.click("button[type=submit]")
                page.goto(f"{base_url}/console/tickets/{seeded['ticket']}")
                expect(page.locator("#sla-first_response")).to_contain_text("not applicable")
                expect(page.locator("#sla-first_response")).to_contain_text("resolved itself")
                expect(page.locator("#sla-resolution")).to_contain_text("achieved")
                expect(page.locator("#history")).to_contain_text(
                    "all faults cleared by themselves: cabinet cold again"
                )
                page.screenshot(
                    path=str(shots / f"ticket-self-resolved-{width}.png"), full_page=True
                )
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.goto(f"{base_url}/console/tickets?status=resolved")
                queue = page.locator("#tickets tbody tr").first
                expect(queue).to_contain_text("achieved")  # the worse of its two clocks
                expect(queue).not_to_contain_text("running")
                assert not errors
                context.close()
        finally:
            browser.close()
