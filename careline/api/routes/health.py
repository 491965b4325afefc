"""Liveness and readiness, open to all (load balancers and orchestrators call them)."""

from __future__ import annotations

import logging

import psycopg
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel

from careline.api.deps import Context

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
    database: DatabaseCheck
    ingest: dict[str, object] | None = None


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers (and ingest, when it runs here)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready."}},
)
def readyz(context: Context) -> JSONResponse:
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
    body = Readiness(status="ready" if ready else "not_ready", database=database, ingest=ingest)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)
