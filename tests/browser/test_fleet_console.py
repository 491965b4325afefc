"""The fleet pages in a real headless Chromium: a product issue, worked; the reports, drawn
and downloaded; both usable at a phone's width."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.uow import PostgresUnitOfWork
from devices.catalog import Catalog
from devices.product_issues.postgres import PostgresProductIssueRepository
from devices.product_issues.service import Grouping, sweep
from devices.product_issues.settings import FleetSettings
from tests.api import factories as make
from tests.browser.test_console import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM_ARGS,
    NOW,
    base_url,  # noqa: F401  (the fixture)
    chromium_path,
    seeded,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.browser
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
HOUR = timedelta(hours=1)
SHOTS = os.environ.get("CARELINE_TEST_SHOTS")  # a folder to keep the screenshots in


@pytest.fixture
def issue(db: Pool, catalog: Catalog, seeded: dict[str, int]) -> int:  # noqa: F811
    """Batch LOT-7 (three fridges with customers) faulted alike; LOT-8 (three) did not."""
    with db.connection() as conn:
        customer = make.customer(conn, "Café Kastanie GmbH", kind="business", email=None)
        devices = [make.device(conn, f"FR-10{i}", customer_id=customer) for i in range(6)]
        for i, device in enumerate(devices):
            conn.execute(
                "UPDATE devices SET production_batch = %s WHERE id = %s",
                ("LOT-7" if i < 3 else "LOT-8", device),
            )
            if i < 3:
                make.fault(conn, device, NOW - (i + 1) * HOUR, metric="compressor_power")
        with PostgresUnitOfWork(conn) as uow:
            sweep(PostgresProductIssueRepository(conn), Grouping.of(FleetSettings()), NOW)
            uow.commit()
        row = conn.execute("SELECT id FROM product_issues").fetchone()
    assert row is not None
    return int(row[0])


def errors_into(errors: list[str]) -> Callable[[Exception], None]:
    return lambda exc: errors.append(str(exc))


def no_sideways_scroll(page: object) -> bool:
    width = page.evaluate("document.scrollingElement.scrollWidth")  # type: ignore[attr-defined]
    return bool(width <= page.viewport_size["width"])  # type: ignore[attr-defined]


def test_product_issue_and_reports_in_the_browser(
    base_url: str,  # noqa: F811
    issue: int,
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

                page.goto(f"{base_url}/console/product-issues")
                row = page.locator("#product-issues tbody tr").first
                expect(row).to_contain_text("refrigerator batch LOT-7")
                page.click(f"#product-issues a[href='/console/product-issues/{issue}'] >> nth=0")
                expect(page.locator("#issue-devices")).to_have_text("3")
                expect(page.locator("#rate-table")).to_contain_text("LOT-7")
                expect(page.locator("#rate-table")).to_contain_text("rest of the fleet")
                chart = page.locator("#rate-chart")
                expect(chart).to_have_attribute("data-rendered", "true", timeout=15_000)
                expect(chart.locator(".bars path")).to_have_count(2)
                expect(page.locator("#issue-device-table tbody tr")).to_have_count(3)
                expect(page.locator("#issue-customer-table")).to_contain_text("Café Kastanie")
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"product-issue-{width}.png"), full_page=True)
                if width == 1366:
                    page.select_option("#issue-move-status", "investigating")
                    page.fill("#issue-move-form input[name=comment]", "pulling the lot's parts")
                    page.click("#issue-move-submit")
                    expect(page.locator("#issue-status")).to_have_text("investigating")
                    expect(page.locator("#issue-history")).to_contain_text(
                        "pulling the lot's parts"
                    )

                page.goto(f"{base_url}/console/reports")
                page.select_option("#report-name", "reliability-by-batch")
                page.click("#report-show")
                expect(page.locator("#report-table")).to_contain_text("refrigerator LOT-7")
                report_chart = page.locator("#report-chart")
                expect(report_chart).to_have_attribute("data-rendered", "true", timeout=15_000)
                assert no_sideways_scroll(page)
                page.screenshot(path=str(shots / f"reports-{width}.png"), full_page=True)
                with page.expect_download() as download:
                    page.click("#report-csv")
                saved = tmp_path / f"report-{width}.csv"
                download.value.save_as(saved)
                lines = saved.read_text("utf-8").splitlines()
                assert lines[0].startswith("group,devices,device_days")
                assert any(line.startswith("refrigerator LOT-7,3,") for line in lines)
                assert errors == []
                page.close()
        finally:
            browser.close()
