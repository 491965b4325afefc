"""The cold-chain pages in a real headless Chromium at 1366 and 390 px: a proposed recall
reviewed and approved by quality staff through the form, the shipment's chart with its
band, a lot's journey and the trace from a receipt."""

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
from crm_core.auth.users import create_user
from crm_core.kernel.capabilities import Capabilities
from crm_core.traceability.model import Network
from crm_core.traceability.postgres import import_network
from devices.catalog import Catalog
from simulators.coldchain import Scenario
from tests.api.server import serve
from tests.api.test_recalls_api import NOW_TS, feed_readings, shoppers
from tests.browser.test_console import CHROMIUM_ARGS, chromium_path
from tests.browser.test_fleet_console import no_sideways_scroll

pytestmark = pytest.mark.browser
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SECRET = "browser-recall-secret-0123456789-abcdef"
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")
QUALITY, PASSWORD = "quality@careline.test", "a long quality password 42"


@pytest.fixture
def served(db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path) -> Iterator[str]:
    scenario = Scenario(start=NOW_TS, customers=12).build()
    with db.connection() as conn:
        create_user(conn, email=QUALITY, name="Quinn Quality", role="quality", password=PASSWORD)
        for serial in sorted(scenario.loggers):
            conn.execute(
                "INSERT INTO devices (serial, device_type, model) "
                "VALUES (%s, 'temperature_logger', 'TL-1')",
                (serial,),
            )
        ids = shoppers(conn, 12)
        doc = Network.model_validate({**scenario.network, "purchases": scenario.purchase_docs(ids)})
        import_network(conn, doc, actor="test", now=datetime.fromtimestamp(NOW_TS, UTC))
    feed_readings(db, catalog, scenario)
    settings = Settings(data_dir=tmp_path, api=ApiSettings(session_secret=SECRET))
    context = AppContext(settings=settings, pool=db, catalog=catalog, capabilities=capabilities)
    with serve(create_app(context)) as base_url:
        yield base_url


def test_recall_review_and_approval_in_the_browser(served: str, db: Pool, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(SHOTS) if SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for width, height in ((1366, 900), (390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{served}/console/sign-in")
                page.fill("input[name=email]", QUALITY)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.goto(f"{served}/console/recalls")
                expect(page.locator("#recalls")).to_contain_text("TR-12")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"recalls-{width}.png"), full_page=True)
                page.click("#recalls tbody tr:last-child td a >> nth=0")
                expect(page.locator("#evidence")).to_contain_text("single")
                if width == 1366:
                    page.click("#approval button[type=submit]")
                    expect(page.locator("p.notice")).to_contain_text("notices queued")
                    expect(page.locator("#notices")).to_contain_text("customer")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"recall-{width}.png"), full_page=True)

                page.goto(f"{served}/console/shipments/SH-101")
                expect(page.locator(".chart .main-svg").first).to_be_visible()
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"shipment-{width}.png"), full_page=True)

                page.goto(f"{served}/console/trace?receipt=R-00000")
                expect(page.locator("h2").first).to_contain_text("Backward")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"trace-{width}.png"), full_page=True)
                page.click("h2 a >> nth=0")
                expect(page.locator("ol.timeline li").first).to_be_visible()
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"lot-{width}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    with db.connection() as conn:
        approved = conn.execute("SELECT approved_by FROM recalls WHERE status = 'approved'")
        assert approved.fetchall() == [(QUALITY,)]
        safety = conn.execute("SELECT count(*) FROM outbox WHERE purpose = 'safety'").fetchone()
        assert safety is not None
        assert safety[0] > 0
