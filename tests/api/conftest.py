"""The app under test: built around the test database, with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

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
from tests.api.server import serve

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SESSION_SECRET = "test-session-secret-0123456789-abcdefghij"

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


@pytest.fixture
def context(db: Pool, catalog: Catalog, capabilities: Capabilities) -> AppContext:
    settings = Settings(api=ApiSettings(session_secret=SESSION_SECRET))
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
