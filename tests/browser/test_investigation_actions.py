"""Quality staff work an investigation in a real headless Chromium at 1366 and 390 px: a
note, a recall opened from it (its scope lists the repacked lot, with its counts), the
investigation closed with an outcome, then reopened; an agent sees no forms."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import create_user
from crm_core.kernel.capabilities import Capabilities
from crm_core.recalls.complaints import file_complaint
from crm_core.recalls.proposal import propose_for_excursion
from crm_core.traceability.queries import find_lot
from devices.catalog import Catalog
from tests.api.server import serve
from tests.browser.test_console import CHROMIUM_ARGS, chromium_path
from tests.browser.test_fleet_console import no_sideways_scroll
from tests.integration.repack_world import MILK, NOW, build, judge_failing_truck

pytestmark = pytest.mark.browser
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SECRET = "browser-investigation-secret-0123456789-abcd"
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")
PASSWORD = "a long quality password 42"
QUALITY, AGENT = "quality@careline.test", "agent@careline.test"


@pytest.fixture
def served(
    db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path
) -> Iterator[tuple[str, list[int]]]:
    investigations = []
    for width in (1366, 390):  # one investigation per width, each worked from the start
        if width == 1366:
            scenario, customers = build(db)
            judge_failing_truck(db, catalog, scenario)
        with db.connection() as conn:
            lot = find_lot(conn, MILK, "LM2" if width == 1366 else "LM3")
            for n, text in enumerate(
                (
                    "Milk smelled sour the day after buying it, well before the date.",
                    "Sour milk, and the carton was swollen.",
                    "My child felt sick after drinking this milk; it tasted off.",
                )
            ):
                filed = file_complaint(
                    conn,
                    lot_id=lot,
                    customer_id=customers[n],
                    receipt=None,
                    description=text,
                    actor="test",
                    now=NOW + timedelta(hours=n),
                )
            assert filed.investigation_id is not None
            investigations.append(filed.investigation_id)
    with db.connection() as conn:  # and the failing truck's own recall proposal
        leg = conn.execute(
            "SELECT leg_id FROM logger_assignments a JOIN devices d ON d.id = a.device_id "
            "WHERE d.serial = 'LG-12'"
        ).fetchone()
        assert leg is not None
        excursion = propose_for_excursion(conn, leg[0], MILK, ("single",), NOW)
        assert excursion == 1
        create_user(conn, email=QUALITY, name="Quinn Quality", role="quality", password=PASSWORD)
        create_user(conn, email=AGENT, name="Alex Agent", role="agent", password=PASSWORD)
    settings = Settings(data_dir=tmp_path, api=ApiSettings(session_secret=SECRET))
    context = AppContext(settings=settings, pool=db, catalog=catalog, capabilities=capabilities)
    with serve(create_app(context)) as base_url:
        yield base_url, investigations


def test_quality_staff_work_an_investigation_in_the_browser(
    served: tuple[str, list[int]], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, investigations = served
    shots = Path(SHOTS) if SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            agent = browser.new_page(viewport={"width": 1366, "height": 900})
            agent.goto(f"{base}/console/sign-in")
            agent.fill("input[name=email]", AGENT)
            agent.fill("input[name=password]", PASSWORD)
            agent.click("button[type=submit]")
            agent.goto(f"{base}/console/investigations/{investigations[0]}")
            expect(agent.locator("h1")).to_contain_text(f"Investigation {investigations[0]}")
            assert agent.locator("#work").count() == 0
            agent.close()
            failed: list[str] = []  # any answer of ours that is an error, on any page
            for (width, height), inv in zip(((1366, 900), (390, 844)), investigations, strict=True):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
                page.goto(f"{base}/console/sign-in")
                page.fill("input[name=email]", QUALITY)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")

                page.goto(f"{base}/console/investigations/{inv}")
                page.fill("#note-form textarea[name=text]", "Pulled the complaints; all Store 12.")
                page.click("#note-form button[type=submit]")
                expect(page.locator("p.notice")).to_contain_text("Note added")
                expect(page.locator("#timeline")).to_contain_text("all Store 12")

                page.click("#open-recall-form button[type=submit]")
                expect(page.locator("h1")).to_contain_text("Recall #")
                expect(page.locator("p.notice")).to_contain_text(f"investigation {inv}")
                expect(page.locator("#evidence")).to_contain_text(f"investigation {inv}")
                if width == 1366:  # LM2 was repacked into LM2-R after the truck
                    expect(page.locator("#scope")).to_contain_text("repacked from lot LM2 on")
                    expect(page.locator("#scope-counts")).to_contain_text("1 repacked")
                    expect(page.locator("#evidence")).to_contain_text("SH-101")
                expect(page.locator("#scope-counts")).to_contain_text("customer")
                assert no_sideways_scroll(page)
                page.screenshot(
                    path=str(shots / f"recall-investigation-{width}.png"), full_page=True
                )
                recall_url = page.url.split("?")[0]

                page.goto(f"{base}/console/investigations/{inv}")
                expect(page.locator("#facts")).to_contain_text("recall #")
                page.select_option("#close-form select[name=outcome]", "recall_opened")
                page.fill("#close-form textarea[name=conclusion]", "The truck's unit failed.")
                page.click("#close-form button[type=submit]")
                expect(page.locator("p.notice")).to_contain_text("Closed: Recall opened")
                expect(page.locator("#outcome")).to_contain_text("The truck's unit failed.")
                expect(page.locator("#reopen-form")).to_be_visible()
                assert no_sideways_scroll(page)
                page.screenshot(
                    path=str(shots / f"investigation-closed-{width}.png"), full_page=True
                )

                page.fill("#reopen-form textarea[name=why]", "A fourth customer called.")
                page.click("#reopen-form button[type=submit]")
                expect(page.locator("h1 .badge")).to_have_text("open")
                expect(page.locator("#timeline")).to_contain_text("A fourth customer called.")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"investigation-{width}.png"), full_page=True)

                page.goto(f"{base}/console/complaints")
                expect(page.locator("#investigations")).to_contain_text("recall #")
                assert no_sideways_scroll(page)
                page.goto(recall_url)
                assert no_sideways_scroll(page)
                page.goto(f"{base}/console/recalls/1")  # the truck's: LM2, LM3, LY2 and LM2-R
                expect(page.locator("#scope")).to_contain_text("repacked from lot LM2 on")
                expect(page.locator("#scope-counts")).to_contain_text("4 lots (1 repacked")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"recall-repacked-{width}.png"), full_page=True)
                assert not failed, failed
                page.close()
        finally:
            browser.close()
