"""The in-store pages in a real headless Chromium at a desktop's and a phone's width: the
stores page with campaigns, the uplift report (the learner against the holdout and the
random policy), a store's zone heat map, a customer's offers with their reasons."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import ensure_admin
from crm_core.kernel.capabilities import Capabilities
from devices.catalog import Catalog
from tests.api.server import serve
from tests.browser.test_console import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM_ARGS, chromium_path
from tests.browser.test_fleet_console import no_sideways_scroll
from tests.integration.offer_world import T0, Pool, build_world

pytestmark = pytest.mark.browser
SECRET = "browser-offers-secret-0123456789abcdef"
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")


@pytest.fixture
def served(
    db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path
) -> Iterator[tuple[str, int, int]]:
    world = build_world(db)
    world.campaign("yoghurt")
    iris = world.shopper("Iris")
    never = world.shopper("Never", consent=False)
    world.enter(iris, "dairy", T0)
    world.enter(never, "dairy", T0 + timedelta(seconds=5))
    world.campaign("cheese")
    for n in range(6):  # two candidates each: the learner's and the random policy's choices
        world.enter(world.shopper(f"Shopper {n}"), "dairy", T0 + timedelta(seconds=10 + n))
    with db.connection() as conn:
        conn.execute(
            'UPDATE offer_decisions SET detail = detail || \'{"policy": "explore"}\', '
            "redeemed_at = CASE WHEN id % 2 = 0 THEN at END, "
            "receipt_id = CASE WHEN id % 2 = 0 THEN 'r' || id END "
            "WHERE jsonb_array_length(detail->'candidates') > 1 AND id % 3 = 0"
        )
        conn.execute(
            "UPDATE offer_decisions SET redeemed_at = at, receipt_id = 'r' || id "
            "WHERE jsonb_array_length(detail->'candidates') > 1 AND id % 3 <> 0 "
            "AND outcome = 'sent'"
        )
        ensure_admin(conn, ADMIN_EMAIL, ADMIN_PASSWORD)
        store = conn.execute("SELECT id FROM presence_stores").fetchone()
    assert store is not None
    settings = Settings(data_dir=tmp_path, api=ApiSettings(session_secret=SECRET))
    context = AppContext(settings=settings, pool=db, catalog=catalog, capabilities=capabilities)
    with serve(create_app(context)) as base_url:
        yield base_url, int(store[0]), iris


def test_stores_heat_map_and_offer_history_in_the_browser(
    served: tuple[str, int, int], tmp_path: Path
) -> None:
    base_url, store, iris = served
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

                page.goto(f"{base_url}/console/stores")
                expect(page.locator("#campaigns")).to_contain_text("yoghurt")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"stores-{width}.png"), full_page=True)
                page.click("#stores a")
                expect(page.locator("#heat")).to_contain_text("Dairy")
                dairy = page.locator("#heat tr:has-text('Dairy') meter").first
                expect(dairy).to_have_attribute("value", "8")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"store-{width}.png"), full_page=True)

                page.goto(f"{base_url}/console/stores")
                page.click("#uplift-link")
                expect(page.locator("#policy-learner")).to_contain_text("Learner")
                expect(page.locator("#policy-random")).to_contain_text("Random policy")
                expect(page.locator("#policy-difference")).to_contain_text("pp")
                expect(page.locator("#replay")).to_contain_text("without context")
                expect(page.locator("#uplift")).to_contain_text("cheese")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"uplift-{width}.png"), full_page=True)

                page.goto(f"{base_url}/console/customers/{iris}/offers")
                expect(page.locator("#offers")).to_contain_text("best_expected_value")
                expect(page.locator("#offers")).to_contain_text("Dairy")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"offers-{width}.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert store > 0
