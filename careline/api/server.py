"""Building the web app (API and console) from settings, and running it in a thread.

When the settings give no session secret or administrator password (the demo), both are
made once and kept in the data folder, so restarts keep sessions and the sign-in valid.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from careline.bootstrap import Database
from careline.settings import Settings
from devices.catalog import Catalog

log = logging.getLogger(__name__)


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value + "\n", "utf-8")
    path.chmod(0o600)
    return value


def admin_password(settings: Settings) -> str:
    """The configured administrator password, or the one kept in the data folder."""
    if settings.api.admin_password:
        return settings.api.admin_password
    return _kept_secret(settings.data_dir / "admin-password", lambda: secrets.token_urlsafe(12))


def with_secrets(settings: Settings) -> Settings:
    """Settings whose session secret and admin password are filled in."""
    secret = settings.api.session_secret or _kept_secret(
        settings.data_dir / "session-secret", lambda: secrets.token_urlsafe(48)
    )
    api = settings.api.model_copy(
        update={"session_secret": secret, "admin_password": admin_password(settings)}
    )
    return settings.model_copy(update={"api": api})


def build_app(
    settings: Settings,
    database: Database,
    catalog: Catalog,
    stack: ExitStack,
    ingest_status: Callable[[], dict[str, object]] | None = None,
) -> FastAPI:
    from careline.api.app import create_app
    from careline.api.context import AppContext
    from careline.bootstrap import event_bus
    from careline.outbound import survey_request
    from crm_core.auth.users import ensure_admin

    """The app; ``settings`` must have its secrets filled in (:func:`with_secrets`)."""
    if settings.api.admin_password is None or settings.api.session_secret is None:
        raise ValueError("build_app needs settings passed through with_secrets()")
    with database.pool.connection() as conn:
        if ensure_admin(conn, settings.api.admin_email, settings.api.admin_password):
            log.info("created the administrator %s", settings.api.admin_email)
    return create_app(
        AppContext(
            settings=settings,
            pool=database.pool,
            catalog=catalog,
            capabilities=database.capabilities,
            ingest_status=ingest_status,
            bus=event_bus(catalog, fleet=settings.fleet, surveys=survey_request(settings)),
        )
    )


class ServerThread:
    """uvicorn in a background thread, stoppable (the demo's API and console)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        if not self._server.started:
            raise RuntimeError("the web server did not start (is the port taken?)")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
