"""Errors as HTTP answers: one body shape, one mapping, drawn in one place.

Our exceptions (storage, auth, ticket rules) and the few third-party ones that can reach
the edge (psycopg's connection errors, the pool's timeout) become an :class:`ErrorBody`
with a stable ``error`` code. Route modules list the answers they may give with
:func:`responses`, so the OpenAPI document shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from careline.crm_import.reading import FileTooLarge, ImportFileError
from careline.reports.catalog import InvalidReportRequest
from crm_core.auth.errors import NotAuthenticatedError, PermissionDeniedError
from crm_core.campaigns.postgres import CampaignConflict
from crm_core.consent.model import ConsentError
from crm_core.customers.records import RecordError, field_errors
from crm_core.kernel.errors import DatabaseUnavailable, NotFound, StorageError
from crm_core.notifications.postgres import NotRetryable
from crm_core.recalls.model import RecallError
from crm_core.tickets.model import TicketConflictError, TicketInputError
from crm_core.traceability.epcis.schema import EpcisSchemaMissing
from crm_core.traceability.gs1 import InvalidIdentifier
from crm_core.traceability.model import TraceabilityError
from devices.errors import FaultError, TuningError
from devices.presence.directory import Conflict as PresenceConflict
from devices.product_issues.model import ProductIssueConflict

log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    """One refused part of a request: where (``["query", "offset"]``) and why."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a stable machine code and a sentence for people.

    Refused requests (422) also list each refused part in ``problems``.
    """

    error: str
    detail: str
    problems: list[FieldProblem] | None = None


class InvalidRecordBody(ErrorBody):
    """A record refused by a rule: ``fields`` maps each field at fault to the reason."""

    fields: dict[str, str] = {}


DESCRIPTIONS = {
    400: "The uploaded file cannot be read; `detail` says why and what to do.",
    401: "No valid credentials (API key or console session).",
    403: "The caller's role does not allow this.",
    404: "No such resource.",
    409: "The change conflicts with the resource's state.",
    413: "The upload is larger than the limit.",
    422: "The request's values cannot be used: `detail` says why (and `problems` or "
    "`fields` where).",
    503: "The database cannot be reached now; retry later.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``codes``, all with the ErrorBody model."""
    return {
        code: {
            "model": InvalidRecordBody if code == 422 else ErrorBody,
            "description": DESCRIPTIONS[code],
        }
        for code in codes
    }


def error_response(
    status: int,
    error: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail, problems=problems)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    """422 listing what was refused. The refused values are not echoed: they may be NaN,
    infinite, huge or secret, and the answer must always serialise."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        FieldProblem(
            loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            msg=str(error.get("msg", "invalid")),
            type=str(error.get("type", "invalid")),
        )
        for error in exc.errors()
    ]
    # And the same as field -> reason, the shape the CRM record rules answer in.
    fields: dict[str, str] = {}
    for problem in problems:
        loc = [str(p) for p in problem.loc]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        fields.setdefault(".".join(loc) or "body", problem.msg.removeprefix("Value error, "))
    reasons = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:5])
    body = InvalidRecordBody(
        error="invalid_request",
        detail=f"the request was refused at: {reasons}",
        problems=problems,
        fields=fields,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


async def _bad_data(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot hold (NUL in text, a number out of range): the client's."""
    log.info("refused data during %s %s: %s", request.method, request.url.path, exc)
    return error_response(400, "invalid_request", "a value in the request cannot be stored")


async def _not_authenticated(request: Request, exc: Exception) -> JSONResponse:
    return error_response(401, "not_authenticated", str(exc), {"WWW-Authenticate": "Bearer"})


async def _permission_denied(request: Request, exc: Exception) -> JSONResponse:
    return error_response(403, "forbidden", str(exc))


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, "not_found", str(exc))


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    return error_response(409, "conflict", str(exc))


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    return error_response(422, "invalid_request", str(exc))


async def _invalid_setting(request: Request, exc: Exception) -> JSONResponse:
    return error_response(422, "invalid_setting", str(exc))


async def _invalid_record(request: Request, exc: Exception) -> JSONResponse:
    fields = exc.fields if isinstance(exc, RecordError) else {}
    if isinstance(exc, ValidationError):
        fields = field_errors(exc)
    body = InvalidRecordBody(
        error="invalid_record",
        detail="; ".join(f"{k}: {v}" for k, v in fields.items()),
        fields=fields,
    )
    return JSONResponse(body.model_dump(), status_code=422)


async def _bad_file(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, FileTooLarge):
        return error_response(413, "too_large", str(exc))
    return error_response(400, "invalid_file", str(exc))


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "database_unavailable", "the database cannot be reached now")


async def _no_schema(request: Request, exc: Exception) -> JSONResponse:
    log.error("EPCIS request without the schema: %s", exc)
    return error_response(503, "epcis_schema_missing", str(exc))


async def _storage(request: Request, exc: Exception) -> JSONResponse:
    log.error("storage error during %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "storage_error", "the database refused the operation")


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
        400: "invalid_request",
    }.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map our exceptions (and psycopg's connection errors) to ErrorBody answers."""
    app.add_exception_handler(NotAuthenticatedError, _not_authenticated)
    app.add_exception_handler(PermissionDeniedError, _permission_denied)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(TicketConflictError, _conflict)
    app.add_exception_handler(FaultError, _conflict)
    app.add_exception_handler(ProductIssueConflict, _conflict)
    app.add_exception_handler(InvalidReportRequest, _invalid)
    app.add_exception_handler(TuningError, _invalid_setting)
    app.add_exception_handler(RecordError, _invalid_record)
    app.add_exception_handler(ConsentError, _invalid)
    app.add_exception_handler(TraceabilityError, _invalid)
    app.add_exception_handler(EpcisSchemaMissing, _no_schema)
    app.add_exception_handler(InvalidIdentifier, _invalid)
    app.add_exception_handler(RecallError, _conflict)
    app.add_exception_handler(NotRetryable, _conflict)
    app.add_exception_handler(ImportFileError, _bad_file)
    # A merged edit re-validated inside a use case (not the request body FastAPI checks).
    app.add_exception_handler(ValidationError, _invalid_record)
    app.add_exception_handler(TicketInputError, _invalid)
    app.add_exception_handler(PresenceConflict, _conflict)
    app.add_exception_handler(CampaignConflict, _conflict)
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(StorageError, _storage)
    # Third-party errors that reach the edge: the server went away or the pool is exhausted.
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(psycopg.DataError, _bad_data)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(PoolTimeout, _unavailable)
    app.add_exception_handler(StarletteHTTPException, _http)
