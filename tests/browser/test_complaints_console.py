"""Complaints and investigations, and the lot, trace and shipment pages with repacking and
their EPCIS download, in a real headless Chromium at 1366 and 390 px."""

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
from crm_core.traceability.queries import find_lot
from devices.catalog import Catalog
from tests.api.server import serve
from tests.browser.test_console import CHROMIUM_ARGS, chromium_path
from tests.browser.test_fleet_console import no_sideways_scroll
from tests.integration.repack_world import MILK, NOW, build

pytestmark = pytest.mark.browser
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SECRET = "browser-complaint-secret-0123456789-abcd"
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")
QUALITY, PASSWORD = "quality@careline.test", "a long quality password 42"


@pytest.fixture
def served(
    db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path, schema_file: Path
) -> Iterator[tuple[str, int, int]]:
    _, customers = build(db)
    with db.connection() as conn:
        create_user(conn, email=QUALITY, name="Quinn Quality", role="quality", password=PASSWORD)
        repacked = find_lot(conn, MILK, "LM2-R")
        for n, text in enumerate(
            (
                "Milk smelled sour the day after buying it, well before the date.",
                "Sour milk, and the carton was swollen.",
                "My child felt sick after drinking this milk; it tasted off.",
            )
        ):
            filed = file_complaint(
                conn,
                lot_id=repacked,
                customer_id=customers[n],
                receipt="R-REPACK" if n == 0 else None,
                description=text,
                actor="test",
                now=NOW + timedelta(hours=n),
            )
    assert filed.investigation_id is not None
    settings = Settings(data_dir=tmp_path, api=ApiSettings(session_secret=SECRET))
    context = AppContext(settings=settings, pool=db, catalog=catalog, capabilities=capabilities)
    with serve(create_app(context)) as base_url:
        yield base_url, filed.investigation_id, repacked


def test_complaints_investigation_and_repacked_lot_pages(
    served: tuple[str, int, int], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, investigation_id, repacked = served
    shots = Path(SHOTS) if SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        failed: list[str] = []  # any answer of ours that is an error, on any page
        try:
            for width, height in ((1366, 900), (390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
                page.goto(f"{base}/console/sign-in")
                page.fill("input[name=email]", QUALITY)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")

                page.goto(f"{base}/console/complaints")
                expect(page.locator("#investigations")).to_contain_text("3 complaints within 7")
                expect(page.locator("#complaints")).to_contain_text("Shopper 0")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"complaints-{width}.png"), full_page=True)

                page.click(f"#investigations a[href='/console/investigations/{investigation_id}']")
                expect(page.locator("h1")).to_contain_text(f"Investigation {investigation_id}")
                expect(page.locator("dl.facts")).to_contain_text("3 complaints about one lot")
                expect(page.locator("main")).to_contain_text("Repacked from LM2")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"investigation-{width}.png"), full_page=True)

                page.goto(f"{base}/console/lots/{repacked}")
                expect(page.locator("dl.facts")).to_contain_text("Repacked from")
                expect(page.locator(".timeline")).to_contain_text("as input lot LM2")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"lot-repacked-{width}.png"), full_page=True)
                epcis = page.locator("a", has_text="EPCIS 2.0 events").get_attribute("href")
                assert epcis is not None
                got = page.request.get(f"{base}{epcis}")
                assert got.status == 200
                assert got.json()["type"] == "EPCISDocument"

                page.goto(f"{base}/console/trace?receipt=R-REPACK")
                expect(page.locator("main")).to_contain_text("LM2 (input)")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"trace-repacked-{width}.png"), full_page=True)

                page.goto(f"{base}/console/shipments/SH-R1")
                expect(page.locator(".downloads")).to_contain_text("EPCIS")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"shipment-{width}.png"), full_page=True)
                assert not failed, failed
                page.close()
        finally:
            browser.close()
