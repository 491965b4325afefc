"""Liveness and readiness, open to all (load balancers and orchestrators call them).

An anonymous caller learns only ``ready`` or ``not_ready`` (the status code says the
same); the database's capabilities and versions, the error behind a failure and ingest's
state are shown to administrators only (API key or console session).
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from careline.api.deps import Context, current_principal
from crm_core.auth.errors import NotAuthenticatedError

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

READY_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: str


class DatabaseCheck(BaseModel):
    ok: bool
    capabilities: str
    detail: str | None = None


class Readiness(BaseModel):
    status: str  # "ready" or "not_ready"
    database: DatabaseCheck | None = None  # administrators only
    ingest: dict[str, object] | None = None  # administrators only


def _is_admin(request: Request, context: Context) -> bool:
    """Whether the caller shows an administrator's key or session (never raises)."""
    scheme, bearer = get_authorization_scheme_param(request.headers.get("authorization"))
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=bearer)
        if scheme.lower() == "bearer" and bearer
        else None
    )
    try:
        principal = current_principal(
            request, context, credentials, request.headers.get("x-api-key")
        )
    except NotAuthenticatedError:
        return False
    return principal.allows("admin")


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers (and ingest, when it runs here)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready."}},
)
def readyz(request: Request, context: Context) -> JSONResponse:
    database = DatabaseCheck(ok=True, capabilities=context.capabilities.describe())
    try:
        with context.pool.connection(timeout=READY_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, PoolTimeout) as exc:
        database = DatabaseCheck(
            ok=False, capabilities=database.capabilities, detail=f"{type(exc).__name__}: {exc}"
        )
    ingest = context.ingest_status() if context.ingest_status is not None else None
    ready = database.ok and (ingest is None or ingest.get("ready", True) is not False)
    status = "ready" if ready else "not_ready"
    if not database.ok:
        log.warning("not ready: %s", database.detail)
    body = (
        Readiness(status=status, database=database, ingest=ingest)
        if _is_admin(request, context)
        else Readiness(status=status)
    )
    shown = {key: value for key, value in body.model_dump(mode="json").items() if value is not None}
    return JSONResponse(shown, status_code=200 if ready else 503)
