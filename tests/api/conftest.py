"""The app under test: built around the test database, with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import create_api_key
from crm_core.kernel.capabilities import Capabilities
from devices.catalog import Catalog
from tests.api import factories as make
from tests.api.server import serve

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SESSION_SECRET = "test-session-secret-0123456789-abcdefghij"

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


@pytest.fixture
def context(db: Pool, catalog: Catalog, capabilities: Capabilities) -> AppContext:
    # plain HTTP to 127.0.0.1, as the demo: cookies without the Secure flag
    settings = Settings(api=ApiSettings(session_secret=SESSION_SECRET, cookie_secure=False))
    return AppContext(
        settings=settings, pool=db, catalog=catalog, capabilities=capabilities, clock=lambda: NOW
    )


@pytest.fixture
def client(context: AppContext) -> Iterator[httpx.Client]:
    """An HTTP client for the app, served by uvicorn (redirects are not followed)."""
    with serve(create_app(context)) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def key_for(db: Pool, role: str) -> str:
    with db.connection() as conn:
        return create_api_key(conn, f"test {role}", role)


@pytest.fixture
def viewer(db: Pool) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_for(db, 'viewer')}"}


@pytest.fixture
def agent(db: Pool) -> dict[str, str]:
    return {"Authorization": f"Bearer {key_for(db, 'agent')}"}


@pytest.fixture
def admin(db: Pool) -> dict[str, str]:
    return {"X-API-Key": key_for(db, "admin")}


@pytest.fixture
def fleet(db: Pool, catalog: Catalog) -> dict[str, int]:
    """Two customers; an online fridge with readings, an open fault and a ticket; more."""
    with db.connection() as conn:
        amelie = make.customer(conn)
        bakery = make.customer(conn, "Boulangerie du Vieux Lyon", kind="business", email=None)
        home = make.site(conn, amelie)
        fridge = make.device(conn, "RF-1", customer_id=amelie, site_id=home)
        make.device_status(conn, fridge, NOW - 2 * MINUTE, NOW - MINUTE)
        washer = make.device(conn, "WM-1", device_type="washing_machine", customer_id=amelie)
        make.device_status(conn, washer, NOW - timedelta(hours=3), NOW - timedelta(hours=2))
        make.device(conn, "RF-2", customer_id=bakery)  # never reported
        start = NOW - timedelta(hours=5)
        make.readings(
            conn,
            catalog,
            fridge,
            "cabinet_temp",
            [(start + i * MINUTE, 4.0 + (i / 100)) for i in range(300)],
        )
        make.readings(conn, catalog, fridge, "compressor_power", [(start, 95.0)])
        opened = NOW - timedelta(hours=1)
        fault = make.fault(conn, fridge, opened, score=6.25)
        old = make.fault(
            conn,
            fridge,
            NOW - timedelta(days=3),
            metric="compressor_power",
            cleared_at=NOW - timedelta(days=2),
        )
        ticket = make.ticket(conn, amelie, opened + MINUTE, device_id=fridge)
        make.ticket_fault(conn, ticket, fault)
        older = make.ticket(
            conn,
            bakery,
            NOW - timedelta(days=5),
            kind="reactive",
            status="resolved",
            subject="Noisy fan",
        )
    return {
        "amelie": amelie,
        "bakery": bakery,
        "home": home,
        "fridge": fridge,
        "washer": washer,
        "fault": fault,
        "old_fault": old,
        "ticket": ticket,
        "older_ticket": older,
    }
