"""A device's charts in a real headless Chromium: a range chosen above them and shared by
all, a fault that began before the range marked as such, the door switch drawn as steps
between closed and open, and a 90-day range in a bounded number of points; at 1366 and
390 px wide (nothing scrolls sideways on a phone)."""

from __future__ import annotations

import json
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
from devices.metric_ids import sync_metric_ids
from tests.api import factories as make
from tests.api.server import serve
from tests.browser.test_console import ADMIN_EMAIL, ADMIN_PASSWORD, CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.browser
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SERIES = """
INSERT INTO readings (device_id, metric_id, ts, value, received_at)
SELECT %(device)s, %(metric)s, t, {value}, t
  FROM generate_series(%(start)s, %(end)s, interval '5 minutes') AS t
"""


@pytest.fixture
def fridge(db: Pool, catalog: Catalog) -> dict[str, int]:
    """A fridge with 95 days of readings every 5 minutes; its door was left open twice;
    a cabinet-temperature fault opened 30 hours ago and is still open."""
    with db.connection() as conn:
        ensure_admin(conn, ADMIN_EMAIL, ADMIN_PASSWORD)
        customer = make.customer(conn)
        device = make.device(conn, "RF-000077", customer_id=customer)
        ids = sync_metric_ids(conn, catalog)
        params = {"device": device, "start": NOW - timedelta(days=95), "end": NOW}
        warm = f"'{(NOW - timedelta(hours=30)).isoformat()}'::timestamptz"
        conn.execute(
            SERIES.format(
                value="4 + 0.4 * sin(extract(epoch FROM t) / 3600) "
                f"+ CASE WHEN t > {warm} THEN 2.5 ELSE 0 END"
            ),
            params | {"metric": ids["cabinet_temp"]},
        )
        conn.execute(
            SERIES.format(value="95 + 8 * sin(extract(epoch FROM t) / 5000)"),
            params | {"metric": ids["compressor_power"]},
        )
        opened = [NOW - timedelta(hours=20), NOW - timedelta(hours=3)]
        door = " OR ".join(
            f"(t >= '{o.isoformat()}'::timestamptz AND t < '{o.isoformat()}'::timestamptz "
            "+ interval '40 minutes')"
            for o in opened
        )
        conn.execute(
            SERIES.format(value=f"CASE WHEN {door} THEN 1 ELSE 0 END"),
            params | {"metric": ids["door_open"]},
        )
        make.device_status(conn, device, NOW, NOW)
        fault = make.fault(conn, device, NOW - timedelta(hours=30), score=6.1, threshold=4.0)
    return {"device": device, "fault": fault}


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


def figures(page: object) -> dict[str, dict[str, object]]:
    found = page.evaluate(  # type: ignore[attr-defined]
        "() => Object.fromEntries([...document.querySelectorAll('.chart[data-figure]')]"
        ".map(e => [e.dataset.metric, e.getAttribute('data-figure')]))"
    )
    return {metric: json.loads(text) for metric, text in found.items()}


def test_ranges_shared_axis_fault_before_range_and_door_steps(
    base_url: str, fridge: dict[str, int], tmp_path: Path
) -> None:
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base_url}/console/sign-in")
            page.fill("input[name=email]", ADMIN_EMAIL)
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{base_url}/console/devices/RF-000077")

            expect(page.locator("nav.spans .current")).to_have_text("24h")
            for metric in ("cabinet_temp", "compressor_power", "door_open"):
                chart = page.locator(f"#chart-{metric}")
                expect(chart).to_have_attribute("data-rendered", "true", timeout=15_000)
            shown = figures(page)
            ranges = {json.dumps(f["layout"]["xaxis"]["range"]) for f in shown.values()}  # type: ignore[index]
            assert len(ranges) == 1  # one time axis for every chart of the page
            # the fault began 30 h ago, before this 24 h range: said at the left edge
            note = page.locator("#chart-cabinet_temp .annotation-text")
            expect(note).to_contain_text(f"◀ fault #{fridge['fault']}")
            expect(note).to_contain_text("began")
            # the door switch: steps between two named states, no 0.2 ticks
            ticks = page.evaluate(
                "() => [...document.querySelectorAll('#chart-door_open .ytick text')]"
                ".map(t => t.textContent)"
            )
            assert ticks == ["closed", "open"]
            assert shown["door_open"]["data"][0]["line"]["shape"] == "hv"  # type: ignore[index]
            # the title is the page's, above the chart, not plotly's (where the label sat)
            assert "title" not in shown["cabinet_temp"]["layout"]  # type: ignore[operator]
            page.screenshot(path=str(tmp_path / "device-24h-1366.png"), full_page=True)

            page.click("nav.spans a:text-is('90d')")
            expect(page.locator("nav.spans .current")).to_have_text("90d")
            expect(page.locator("#chart-range")).to_contain_text("hourly rollup")
            expect(page.locator("#chart-cabinet_temp")).to_have_attribute(
                "data-rendered", "true", timeout=15_000
            )
            for metric in ("cabinet_temp", "compressor_power", "door_open"):
                points = int(page.locator(f"#chart-{metric}").get_attribute("data-points") or 0)
                assert 0 < points <= 800, metric  # 25 920 readings each in the range
            page.screenshot(path=str(tmp_path / "device-90d-1366.png"), full_page=True)

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())  # type: ignore[arg-type]
            phone.goto(f"{base_url}/console/devices/RF-000077?span=7d")
            expect(phone.locator("#chart-door_open")).to_have_attribute(
                "data-rendered", "true", timeout=15_000
            )
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390
            phone.screenshot(path=str(tmp_path / "device-7d-390.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
