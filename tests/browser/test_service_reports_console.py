"""The service quality reports in a real headless Chromium: each one drawn as a chart with
its table, at a desk's width and a phone's (no sideways scroll), and its CSV downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.test_service_reports import service_data  # noqa: F401  (the fixture)
from tests.browser.test_console import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM_ARGS,
    base_url,  # noqa: F401  (the fixture)
    chromium_path,
    seeded,  # noqa: F401  (the fixture)
)
from tests.browser.test_fleet_console import SHOTS, errors_into, no_sideways_scroll

pytestmark = pytest.mark.browser
PERIOD = "from=2026-11-16&to=2026-11-24"
# report -> (a text its table shows, how many traces its chart draws)
REPORTS = {
    "sla-compliance": ("Premium", 2),
    "first-time-fix": ("CoolLine 300", 1),
    "satisfaction": ("2026-11-23", 2),
    "proactive-vs-reactive": ("reactive", 2),
}


@pytest.mark.usefixtures("seeded", "service_data")
def test_service_reports_drawn_at_both_widths(
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for width, height in ((1366, 900), (390, 844)):
                page = browser.new_page(
                    viewport={"width": width, "height": height}, accept_downloads=True
                )
                errors: list[str] = []
                page.on("pageerror", errors_into(errors))
                page.goto(f"{base_url}/console/sign-in")
                page.fill("input[name=email]", ADMIN_EMAIL)
                page.fill("input[name=password]", ADMIN_PASSWORD)
                page.click("button[type=submit]")
                for name, (shown, traces) in REPORTS.items():
                    page.goto(f"{base_url}/console/reports?name={name}&{PERIOD}")
                    expect(page.locator("#report-table")).to_contain_text(shown)
                    chart = page.locator("#report-chart")
                    expect(chart).to_have_attribute("data-rendered", "true", timeout=15_000)
                    expect(chart.locator(".legend .traces")).to_have_count(
                        traces if traces > 1 else 0
                    )
                    assert no_sideways_scroll(page), name
                    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                with page.expect_download() as download:
                    page.click("#report-csv")
                saved = tmp_path / f"comparison-{width}.csv"
                download.value.save_as(saved)
                lines = saved.read_text("utf-8").splitlines()
                assert lines[0].startswith("kind,tickets,first_response_median_h")
                assert [line.split(",")[0] for line in lines[1:]] == [
                    "proactive",
                    "reactive",
                    "all",
                ]
                assert errors == []
                page.close()
        finally:
            browser.close()
