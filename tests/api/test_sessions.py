"""Server-side console sessions: sign-out, revocation (API and CLI), expiry, role changes."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from careline.api.app import create_app
from careline.api.context import AppContext
from careline.cli import app as cli
from careline.settings import ApiSettings, Settings
from crm_core.auth.users import create_user
from tests.api.conftest import NOW, SESSION_SECRET, key_for
from tests.api.server import serve

Pool = ConnectionPool[psycopg.Connection[TupleRow]]
PASSWORD = "correct horse battery"
EMAIL = "agent@example.com"


def _user(db: Pool, email: str = EMAIL, role: str = "agent") -> None:
    with db.connection() as conn:
        create_user(conn, email=email, name="Ada", role=role, password=PASSWORD)


def _sign_in(client: httpx.Client, email: str = EMAIL) -> None:
    answer = client.post(
        "/console/sign-in", data={"email": email, "password": PASSWORD, "next": "/console/tickets"}
    )
    assert answer.status_code == 303, answer.text


def _cookie_client(base_url: str, cookie: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, cookies={"careline_session": cookie})


def test_the_cookie_carries_only_a_random_session_id(client: httpx.Client, db: Pool) -> None:
    _user(db)
    _sign_in(client)
    cookie = client.cookies["careline_session"]
    payload = cookie.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert list(data) == ["sid"]
    assert len(data["sid"]) >= 43
    assert EMAIL not in json.dumps(data)
    with db.connection() as conn:
        stored = conn.execute("SELECT token_hash FROM staff_sessions").fetchall()
    assert len(stored) == 1
    assert data["sid"].encode() not in bytes(stored[0][0])  # only its digest is kept


def test_sign_out_ends_the_session_even_for_a_copied_cookie(client: httpx.Client, db: Pool) -> None:
    _user(db)
    _sign_in(client)
    copied = client.cookies["careline_session"]
    base = str(client.base_url)
    client.get("/console/tickets")  # sets the CSRF cookie
    out = client.post("/console/sign-out", data={"csrftoken": client.cookies["csrftoken"]})
    assert out.status_code == 303
    with _cookie_client(base, copied) as thief:
        assert thief.get("/api/v1/tickets").status_code == 401


def test_an_admin_revokes_a_users_sessions_through_the_api(client: httpx.Client, db: Pool) -> None:
    _user(db)
    _sign_in(client)
    assert client.get("/api/v1/tickets").status_code == 200
    admin = {"X-API-Key": key_for(db, "admin")}
    viewer = {"X-API-Key": key_for(db, "viewer")}
    sessions = f"{client.base_url}/api/v1/users/{EMAIL}/sessions"
    assert httpx.delete(sessions, headers=viewer).status_code == 403
    answer = httpx.delete(sessions, headers=admin)
    assert answer.status_code == 200
    assert answer.json() == {"email": EMAIL, "revoked": 1}
    assert client.get("/api/v1/tickets").status_code == 401
    unknown = httpx.delete(
        f"{client.base_url}/api/v1/users/nobody@example.com/sessions", headers=admin
    )
    assert unknown.status_code == 404
    with db.connection() as conn:
        audit = conn.execute("SELECT actor, entity, action, detail FROM audit_log").fetchall()
    assert audit == [("test admin", "staff_user", "sessions_revoked", {"sessions": 1})]


def test_the_cli_revokes_sessions(
    client: httpx.Client, db: Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user(db)
    _sign_in(client)
    monkeypatch.setenv("CARELINE_DATABASE__URL", database_url)
    result = CliRunner().invoke(cli, ["users", "revoke-sessions", "--email", EMAIL])
    assert result.exit_code == 0, result.output
    assert "1 session(s)" in result.output
    assert client.get("/api/v1/tickets").status_code == 401
    missing = CliRunner().invoke(cli, ["users", "revoke-sessions", "--email", "x@example.com"])
    assert missing.exit_code == 1


def test_sessions_expire_when_idle_and_after_their_lifetime(context: AppContext, db: Pool) -> None:
    now = [NOW]
    api = ApiSettings(
        session_secret=SESSION_SECRET,
        cookie_secure=False,
        session_max_age_s=3 * 3600,
        session_idle_timeout_s=3600,
    )
    ctx = AppContext(
        settings=Settings(api=api),
        pool=db,
        catalog=context.catalog,
        capabilities=context.capabilities,
        clock=lambda: now[0],
    )
    _user(db)
    with serve(create_app(ctx)) as url, httpx.Client(base_url=url) as client:
        _sign_in(client)
        for _ in range(2):  # active every 50 minutes: still signed in
            now[0] += timedelta(minutes=50)
            assert client.get("/api/v1/tickets").status_code == 200
        now[0] += timedelta(minutes=61)  # idle past the timeout
        assert client.get("/api/v1/tickets").status_code == 401
        _sign_in(client)
        for _ in range(3):
            now[0] += timedelta(minutes=55)
            assert client.get("/api/v1/tickets").status_code == 200
        now[0] += timedelta(minutes=20)  # 3 h 5 min after sign-in: past the lifetime
        assert client.get("/api/v1/tickets").status_code == 401


def test_a_role_change_takes_effect_at_once(client: httpx.Client, db: Pool) -> None:
    _user(db)
    _sign_in(client)
    client.get("/console/tickets")
    headers = {"x-csrftoken": client.cookies["csrftoken"]}
    patch = {"status": "assigned"}
    assert client.patch("/api/v1/tickets/999", json=patch, headers=headers).status_code == 404
    with db.connection() as conn:
        conn.execute("UPDATE staff_users SET role = 'viewer' WHERE email = %s", (EMAIL,))
    assert client.patch("/api/v1/tickets/999", json=patch, headers=headers).status_code == 403
    with db.connection() as conn:
        conn.execute("DELETE FROM staff_users WHERE email = %s", (EMAIL,))
    assert client.get("/api/v1/tickets").status_code == 401


def test_the_session_cookie_is_secure_by_default(context: AppContext, db: Pool) -> None:
    _user(db)
    secure = Settings(api=ApiSettings(session_secret=SESSION_SECRET))
    ctx = AppContext(
        settings=secure, pool=db, catalog=context.catalog, capabilities=context.capabilities
    )
    with serve(create_app(ctx)) as url:
        answer = httpx.post(f"{url}/console/sign-in", data={"email": EMAIL, "password": PASSWORD})
        page = httpx.get(f"{url}/console/sign-in")
    assert answer.status_code == 303
    session_cookie = answer.headers["set-cookie"]
    assert "careline_session=" in session_cookie
    assert "secure" in session_cookie.lower()
    assert "httponly" in session_cookie.lower()
    csrf_cookie = page.headers["set-cookie"]
    assert "csrftoken=" in csrf_cookie
    assert "secure" in csrf_cookie.lower()
