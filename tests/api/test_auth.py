"""Who may call what: open health checks, API keys, roles, and console sessions."""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from careline.api.app import create_app
from careline.api.context import AppContext
from crm_core.auth.api_keys import key_prefix, principal_for_key, revoke_key
from crm_core.auth.errors import InvalidRoleError, UserExistsError, WeakPasswordError
from crm_core.auth.principals import Principal
from crm_core.auth.users import authenticate, create_api_key, create_user, ensure_admin
from tests.api.conftest import key_for
from tests.api.server import serve

Pool = ConnectionPool[psycopg.Connection[TupleRow]]

PASSWORD = "correct horse battery"

READ_ROUTES = [
    "/api/v1/customers",
    "/api/v1/customers/1",
    "/api/v1/devices",
    "/api/v1/devices/RF-1",
    "/api/v1/devices/RF-1/readings",
    "/api/v1/faults",
    "/api/v1/faults/1",
    "/api/v1/tickets",
    "/api/v1/tickets/1",
    "/api/v1/dead-letters",
    "/api/v1/dead-letters/1",
]


def test_health_and_readiness_need_no_credentials_and_tell_strangers_no_versions(
    client: httpx.Client, context: AppContext, db: Pool
) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}  # no capabilities, versions or errors
    viewer = client.get("/readyz", headers={"X-API-Key": key_for(db, "viewer")})
    assert viewer.json() == {"status": "ready"}
    admin = client.get("/readyz", headers={"Authorization": f"Bearer {key_for(db, 'admin')}"})
    assert admin.json()["database"] == {
        "ok": True,
        "capabilities": context.capabilities.describe(),
        "detail": None,
    }


def test_readiness_reports_ingest_and_fails_when_it_is_not_ready(
    context: AppContext, db: Pool
) -> None:
    status: dict[str, object] = {"ready": False, "connected": False, "queued": 0}
    ctx = AppContext(
        settings=context.settings,
        pool=context.pool,
        catalog=context.catalog,
        capabilities=context.capabilities,
        ingest_status=lambda: status,
    )
    admin = {"X-API-Key": key_for(db, "admin")}
    with serve(create_app(ctx)) as url:
        anonymous = httpx.get(f"{url}/readyz")
        answer = httpx.get(f"{url}/readyz", headers=admin)
    assert anonymous.status_code == 503
    assert anonymous.json() == {"status": "not_ready"}
    assert answer.status_code == 503
    assert answer.json()["status"] == "not_ready"
    assert answer.json()["ingest"] == status


@pytest.mark.parametrize("path", READ_ROUTES)
def test_api_refuses_callers_without_credentials(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.json()["error"] == "not_authenticated"
    assert answer.headers["www-authenticate"] == "Bearer"


def test_writes_refuse_callers_without_credentials(client: httpx.Client) -> None:
    assert client.patch("/api/v1/tickets/1", json={"status": "assigned"}).status_code == 401
    assert client.post("/api/v1/dead-letters/replay", json={"all": True}).status_code == 401


def test_viewer_reads_but_may_not_patch_tickets_or_replay(
    client: httpx.Client, viewer: dict[str, str]
) -> None:
    assert client.get("/api/v1/tickets", headers=viewer).status_code == 200
    patch = client.patch("/api/v1/tickets/1", json={"status": "assigned"}, headers=viewer)
    assert patch.status_code == 403
    assert patch.json()["error"] == "forbidden"
    replay = client.post("/api/v1/dead-letters/replay", json={"all": True}, headers=viewer)
    assert replay.status_code == 403


def test_agent_may_not_replay(client: httpx.Client, agent: dict[str, str]) -> None:
    replay = client.post("/api/v1/dead-letters/replay", json={"ids": [1]}, headers=agent)
    assert replay.status_code == 403


def test_device_keys_read_nothing(client: httpx.Client, db: Pool) -> None:
    key = key_for(db, "device")
    assert client.get("/api/v1/customers", headers={"X-API-Key": key}).status_code == 403


def test_x_api_key_header_is_accepted(client: httpx.Client, db: Pool) -> None:
    key = key_for(db, "viewer")
    answer = client.get("/api/v1/customers", headers={"X-API-Key": key})
    assert answer.status_code == 200
    assert answer.json() == {"items": [], "limit": 50, "offset": 0}


def test_revoked_key_is_refused(client: httpx.Client, db: Pool) -> None:
    key = key_for(db, "admin")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    prefix = key_prefix(key)
    assert prefix is not None
    with db.connection() as conn:
        assert revoke_key(conn, prefix)
    answer = client.get("/api/v1/tickets", headers=headers)
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]


def test_tampered_and_malformed_keys_are_refused(client: httpx.Client, db: Pool) -> None:
    key = key_for(db, "admin")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    for bad in (tampered, "cl_short", "not-a-key", key + "x"):
        answer = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, bad


def test_api_key_format_and_lookup(db: Pool) -> None:
    with db.connection() as conn:
        key = create_api_key(conn, "crm sync", "agent")
        assert re.fullmatch(r"cl_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", key)
        assert principal_for_key(conn, key) == Principal("api_key", "crm sync", "agent")
        stored = conn.execute("SELECT key_hash FROM api_keys").fetchone()
        assert stored is not None
        assert key.encode() not in bytes(stored[0])
        with pytest.raises(InvalidRoleError):
            create_api_key(conn, "x", "root")


def test_roles_are_ordered() -> None:
    agent = Principal("user", "a@example.com", "agent")
    assert agent.allows("viewer")
    assert agent.allows("agent")
    assert not agent.allows("admin")


def test_ensure_admin_creates_the_first_admin_once(db: Pool) -> None:
    with db.connection() as conn:
        assert ensure_admin(conn, "Admin@Example.com", PASSWORD) is True
        assert ensure_admin(conn, "other@example.com", PASSWORD) is False
        rows = conn.execute("SELECT email, role FROM staff_users").fetchall()
        assert rows == [("admin@example.com", "admin")]
        assert authenticate(conn, "admin@example.com", PASSWORD) == Principal(
            "user", "admin@example.com", "admin"
        )
        assert authenticate(conn, "admin@example.com", "wrong password!") is None
        assert authenticate(conn, "nobody@example.com", PASSWORD) is None


def test_create_user_refuses_duplicates_weak_passwords_and_unknown_roles(db: Pool) -> None:
    with db.connection() as conn:
        create_user(conn, email="v@example.com", name="Val", role="viewer", password=PASSWORD)
        with pytest.raises(UserExistsError):
            create_user(conn, email="V@example.com", name="Val", role="viewer", password=PASSWORD)
        with pytest.raises(WeakPasswordError):
            create_user(conn, email="w@example.com", name="W", role="viewer", password="short")
        with pytest.raises(InvalidRoleError):
            create_user(conn, email="d@example.com", name="D", role="device", password=PASSWORD)


def _sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "next": "/console/tickets"},
    )


def test_console_session_signs_in_reaches_the_api_and_signs_out(
    client: httpx.Client, db: Pool
) -> None:
    with db.connection() as conn:
        create_user(conn, email="agent@example.com", name="Ada", role="agent", password=PASSWORD)
    answer = _sign_in(client, "agent@example.com", PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/tickets"
    assert "careline_session" in client.cookies
    assert client.get("/api/v1/tickets").status_code == 200
    assert client.get("/console/tickets").status_code == 200
    # a write with the session cookie needs the CSRF token the console's pages set ...
    forged = client.patch("/api/v1/tickets/999", json={"status": "assigned"})
    assert forged.status_code == 403
    assert client.post("/console/sign-out").status_code == 403
    token = client.cookies["csrftoken"]
    # ... and with it an agent may patch: the 404 shows the role check passed
    headers = {"x-csrftoken": token}
    patched = client.patch("/api/v1/tickets/999", json={"status": "assigned"}, headers=headers)
    assert patched.status_code == 404
    assert client.get("/console/dead-letters").status_code == 403  # admins only
    out = client.post("/console/sign-out", data={"csrftoken": token})
    assert out.status_code == 303
    assert client.get("/api/v1/tickets").status_code == 401


def test_wrong_password_is_refused(client: httpx.Client, db: Pool) -> None:
    with db.connection() as conn:
        create_user(conn, email="agent@example.com", name="Ada", role="agent", password=PASSWORD)
    answer = _sign_in(client, "agent@example.com", "not the password")
    assert answer.status_code == 401
    assert "Wrong e-mail or password" in answer.text
    assert "careline_session" not in client.cookies
    assert client.get("/api/v1/tickets").status_code == 401


def test_console_pages_redirect_to_sign_in(client: httpx.Client) -> None:
    answer = client.get("/console/tickets/7")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/tickets/7"


def test_sign_in_never_redirects_off_site(client: httpx.Client, db: Pool) -> None:
    with db.connection() as conn:
        create_user(conn, email="v@example.com", name="V", role="viewer", password=PASSWORD)
    answer = client.post(
        "/console/sign-in",
        data={"email": "v@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert answer.headers["location"] == "/console/tickets"
