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
from careline.api.docs import install_docs
from careline.api.errors import install_error_handlers
from careline.api.guards import GuardMiddleware
from careline.api.routes import api_v1_router, health
from careline.api.signin import SignInGate
from careline.console import install_console
from crm_core.kernel.links import LinkSigner

log = logging.getLogger(__name__)

SESSION_COOKIE = "careline_session"
UPLOAD_OVERHEAD = 64 * 1024  # multipart headers and form fields around an uploaded file


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
    api = context.settings.api
    app = FastAPI(
        title="careline",
        summary="IoT-connected service CRM: customers, devices, faults and service tickets.",
        version="0.1.0",
        docs_url=None,  # ours, offline and within the CSP: careline.api.docs
        redoc_url=None,
    )
    app.state.context = context
    app.state.sign_in = SignInGate(api)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(health.router)
    app.include_router(api_v1_router())
    secret = _session_secret(context)
    app.state.links = LinkSigner(secret)
    install_console(app, app.state.links)
    app.add_middleware(CsrfMiddleware, secret=secret, secure=api.cookie_secure)
    # The cookie carries only a random session id (signed); the session is in the database.
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=api.session_max_age_s,
        same_site="lax",
        https_only=api.cookie_secure,  # off only where plain HTTP is served (the demo)
    )
    # Outermost: every answer gets the security headers, bad requests stop here.
    # A huge upload is refused here too, before the CSRF check or anything reads it.
    app.add_middleware(
        GuardMiddleware,
        max_body_bytes=api.max_body_bytes,
        hsts_max_age_s=api.hsts_max_age_s,
        upload_paths=("/api/v1/imports", "/console/imports"),
        max_upload_bytes=context.settings.imports.max_bytes + UPLOAD_OVERHEAD,
    )
    return app
