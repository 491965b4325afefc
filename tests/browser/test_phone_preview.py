"""The shopper's-phone preview in a real headless Chromium, at a desktop's and a phone's
width: the pushes an installation received, and a new one appearing without a reload."""

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
from crm_core.campaigns.model import Limits
from crm_core.kernel.capabilities import Capabilities
from crm_core.kernel.clock import utc_now
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.model import OutboxPolicy
from devices.catalog import Catalog
from tests.api.server import serve
from tests.browser.test_console import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM_ARGS, chromium_path
from tests.browser.test_fleet_console import no_sideways_scroll
from tests.integration.brokers import TestBroker
from tests.integration.offer_world import Pool, World, build_world

pytestmark = pytest.mark.browser
SECRET = "browser-phone-secret-0123456789abcdef"
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")


@pytest.fixture
def world(
    db: Pool, catalog: Catalog, capabilities: Capabilities, tmp_path: Path, broker: TestBroker
) -> Iterator[tuple[str, World, Dispatcher, int]]:
    world = build_world(db, limits=Limits(quiet_start_hour=0, quiet_end_hour=0))
    world.rule.clock = utc_now
    now = utc_now()
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=1)}
    world.campaign("yoghurt", message="-30 % on yoghurt today", **window)
    world.campaign("filters", categories=["spare_parts"], message="-25 % on water filters",
                   **window)  # fmt: skip
    iris = world.shopper("Iris")
    never = world.shopper("Never", consent=False)
    push = MqttPushChannel("127.0.0.1", broker.port, clock=utc_now)
    dispatcher = Dispatcher(db, {"push": push}, policy=OutboxPolicy(), clock=utc_now)
    world.enter(iris, "dairy", now - timedelta(minutes=2))
    world.enter(never, "dairy", now - timedelta(minutes=2))
    dispatcher.drain()
    with db.connection() as conn:
        ensure_admin(conn, ADMIN_EMAIL, ADMIN_PASSWORD)
    settings = Settings(data_dir=tmp_path, api=ApiSettings(session_secret=SECRET))
    context = AppContext(settings=settings, pool=db, catalog=catalog, capabilities=capabilities)
    try:
        with serve(create_app(context)) as base_url:
            yield base_url, world, dispatcher, iris
    finally:
        push.close()


def test_the_phone_shows_what_the_installation_receives_live(
    world: tuple[str, World, Dispatcher, int], tmp_path: Path
) -> None:
    base_url, shops, dispatcher, iris = world
    never = iris + 1
    from playwright.sync_api import expect, sync_playwright

    shots = Path(SHOTS) if SHOTS else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for n, (width, height) in enumerate(((1366, 900), (390, 844))):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{base_url}/console/sign-in")
                page.fill("input[name=email]", ADMIN_EMAIL)
                page.fill("input[name=password]", ADMIN_PASSWORD)
                page.click("button[type=submit]")

                page.goto(f"{base_url}/console/stores")
                page.click("text=Preview a shopper's phone")
                page.select_option("#installation", f"app-{iris}")
                page.click(".phone-pick button")
                feed = page.locator("#phone-feed")
                expect(feed).to_contain_text("-30 % on yoghurt today")
                expect(feed).to_contain_text("Dairy")
                expect(feed.locator(".push")).to_have_count(1 + n)
                if n == 0:
                    # A new zone entry: the push appears on the open page, no reload.
                    shops.enter(iris, "appliances", utc_now() - timedelta(seconds=30))
                    dispatcher.drain()
                    expect(feed.locator(".push")).to_have_count(2, timeout=10_000)
                    expect(feed.locator(".push").first).to_contain_text("water filters")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"phone-{width}.png"), full_page=True)

                page.goto(f"{base_url}/console/phone?installation=app-{never}")
                expect(page.locator("#phone-feed")).to_contain_text("Nothing received yet.")
                page.goto(f"{base_url}/console/phone?installation=app-{iris - 1000}")
                expect(page.locator(".error")).to_contain_text("No app installation")
                response = page.request.get(f"{base_url}/console/phone/feed?installation=a%00b")
                assert response.status == 400  # the guard refuses NUL in a query
                page.close()
        finally:
            browser.close()
