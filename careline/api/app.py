"""The web app: API, health checks and console in one FastAPI application.

:func:`create_app` only assembles routes and middleware around an :class:`AppContext`;
nothing connects at import or here. The composition root opens the pool, builds the
context, serves the app, and closes the pool afterwards.
"""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from careline.api.context import AppContext
from careline.api.csrf import CsrfMiddleware
from careline.api.errors import install_error_handlers
from careline.api.routes import api_v1_router, health
from careline.console import install_console
from crm_core.kernel.links import LinkSigner

log = logging.getLogger(__name__)

SESSION_COOKIE = "careline_session"
SESSION_MAX_AGE_S = 8 * 3600  # one working day


def _session_secret(context: AppContext) -> str:
    secret = context.settings.api.session_secret
    if secret is None:
        log.warning(
            "CARELINE_API__SESSION_SECRET is not set: console sessions are signed with a "
            "random key and end when this process stops"
        )
        return secrets.token_urlsafe(32)
    return secret


def create_app(context: AppContext) -> FastAPI:
    """The API (``/api/v1``), ``/healthz``, ``/readyz`` and the console (``/console``)."""
    app = FastAPI(
        title="careline",
        summary="IoT-connected service CRM: customers, devices, faults and service tickets.",
        version="0.1.0",
    )
    app.state.context = context
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api_v1_router())
    secret = _session_secret(context)
    app.state.links = LinkSigner(secret)
    install_console(app, app.state.links)
    app.add_middleware(CsrfMiddleware, secret=secret)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=False,  # the demo serves plain HTTP on localhost; a proxy adds TLS
    )
    return app
