"""Sign-in throttling and lockout, and password checks that starve no other request."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import create_user
from tests.api.conftest import SESSION_SECRET, key_for
from tests.api.server import serve

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
PASSWORD = "correct horse battery"


@contextmanager
def _serve_with(context: AppContext, **api: Any) -> Iterator[str]:
    settings = Settings(api=ApiSettings(session_secret=SESSION_SECRET, cookie_secure=False, **api))
    ctx = AppContext(
        settings=settings,
        pool=context.pool,
        catalog=context.catalog,
        capabilities=context.capabilities,
    )
    with serve(create_app(ctx)) as url:
        yield url


@pytest.fixture
def users(db: Pool) -> None:
    with db.connection() as conn:
        for name in ("ada", "bob", "cy", "di"):
            create_user(
                conn, email=f"{name}@example.com", name=name, role="agent", password=PASSWORD
            )


def _try(url: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/console/sign-in", data={"email": email, "password": password}, timeout=60
    )


def test_an_account_locks_after_five_failures_even_for_the_right_password(
    context: AppContext, users: None
) -> None:
    with _serve_with(context) as url:
        for _ in range(5):
            assert _try(url, "ada@example.com", "wrong password").status_code == 401
        locked = _try(url, "Ada@Example.com ", PASSWORD)
        assert locked.status_code == 429
        assert 800 <= int(locked.headers["retry-after"]) <= 900
        assert "Too many failed sign-ins" in locked.text
        # another account from the same address is not locked
        assert _try(url, "bob@example.com", PASSWORD).status_code == 303
        # unknown accounts lock the same way, so a lockout tells nothing about existence
        for _ in range(5):
            assert _try(url, "ghost@example.com", "wrong password").status_code == 401
        assert _try(url, "ghost@example.com", "wrong password").status_code == 429


def test_parallel_guesses_cannot_slip_past_the_lockout(context: AppContext, users: None) -> None:
    with _serve_with(context) as url, httpx.Client(base_url=url, timeout=60) as client:
        statuses: list[int] = []

        def guess(i: int) -> None:
            data = {"email": "ada@example.com", "password": f"guess {i}"}
            statuses.append(client.post("/console/sign-in", data=data).status_code)

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 7


def test_a_success_clears_the_accounts_failures(context: AppContext, users: None) -> None:
    with _serve_with(context) as url:
        for _ in range(4):
            assert _try(url, "ada@example.com", "wrong password").status_code == 401
        assert _try(url, "ada@example.com", PASSWORD).status_code == 303
        for _ in range(4):
            assert _try(url, "ada@example.com", "wrong password").status_code == 401
        assert _try(url, "ada@example.com", PASSWORD).status_code == 303


def test_an_address_is_throttled_across_accounts(context: AppContext, users: None) -> None:
    with _serve_with(context, sign_in_limit_per_address="6 per 15 minutes") as url:
        for name in ("ada", "bob", "cy"):
            for _ in range(2):
                assert _try(url, f"{name}@example.com", "wrong password").status_code == 401
        assert _try(url, "di@example.com", PASSWORD).status_code == 429


def test_parallel_wrong_passwords_do_not_starve_reads(
    context: AppContext, users: None, db: Pool
) -> None:
    """32 parallel wrong-password sign-ins while timing API reads (the issue's attack)."""
    key = {"X-API-Key": key_for(db, "viewer")}
    with (
        _serve_with(
            context,
            sign_in_limit_per_address="1000 per minute",
            sign_in_limit_per_account="1000 per minute",
        ) as url,
        httpx.Client(base_url=url, headers=key) as reader,
    ):
        baseline = [_timed(reader) for _ in range(10)]
        done = threading.Event()
        during: list[float] = []

        def read_until_done() -> None:
            while not done.is_set():
                during.append(_timed(reader))

        statuses: list[int] = []

        def guess(i: int) -> None:
            statuses.append(_try(url, "ada@example.com", f"guess {i}").status_code)

        storm = [threading.Thread(target=guess, args=(i,)) for i in range(32)]
        timer = threading.Thread(target=read_until_done)
        timer.start()
        for thread in storm:
            thread.start()
        for thread in storm:
            thread.join()
        done.set()
        timer.join()
    assert statuses == [401] * 32
    assert len(during) >= 5
    # Before: reads went from 3 ms to a median of 7.6 s. The bounds leave room for a
    # shared, loaded 2-core machine (the test's client threads share its GIL too).
    assert statistics.median(during) < max(0.5, 10 * statistics.median(baseline)), during
    assert max(during) < 3.0, during


def _timed(client: httpx.Client) -> float:
    started = time.perf_counter()
    assert client.get("/api/v1/tickets").status_code == 200
    return time.perf_counter() - started
