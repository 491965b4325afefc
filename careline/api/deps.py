"""FastAPI dependencies as ``Annotated`` aliases: the context, a connection, the caller.

Callers authenticate with an API key (``Authorization: Bearer <key>`` or ``X-API-Key``) or
with the console's signed session cookie. Authentication takes its own short-lived
connection, so a handler that does not need one (the replay) holds none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import TupleRow

from careline.api.context import AppContext
from crm_core.auth.api_keys import principal_for_key
from crm_core.auth.errors import NotAuthenticatedError, PermissionDeniedError
from crm_core.auth.principals import Principal, Role
from crm_core.auth.users import user_principal
from crm_core.kernel.read_models import DEFAULT_LIMIT, MAX_LIMIT, Page

SESSION_USER = "user"


def get_context(request: Request) -> AppContext:
    context = request.app.state.context
    assert isinstance(context, AppContext)
    return context


Context = Annotated[AppContext, Depends(get_context)]


def get_conn(context: Context) -> Iterator[psycopg.Connection[TupleRow]]:
    """A pooled connection for the request; the pool commits (or rolls back) at the end."""
    with context.pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection[TupleRow], Depends(get_conn)]


def get_now(context: Context) -> datetime:
    return context.clock()


Now = Annotated[datetime, Depends(get_now)]


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


Paging = Annotated[Page, Depends(get_page)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Bearer cl_...`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def session_principal(request: Request, context: AppContext) -> Principal | None:
    """The staff user signed in to the console, if any (and still existing)."""
    if "session" not in request.scope:
        return None
    email = request.session.get(SESSION_USER)
    if not isinstance(email, str):
        return None
    with context.pool.connection() as conn:
        principal = user_principal(conn, email)
    if principal is None:
        request.session.clear()
    return principal


def current_principal(
    request: Request,
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The caller, from an API key or the console session; 401 without either."""
    key = bearer.credentials if bearer is not None else header_key
    if key:
        with context.pool.connection() as conn:
            principal = principal_for_key(conn, key)
        if principal is None:
            raise NotAuthenticatedError("the API key is unknown, revoked or malformed")
        return principal
    principal = session_principal(request, context)
    if principal is None:
        raise NotAuthenticatedError("sign in, or send an API key (Authorization: Bearer ...)")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that passes callers whose role is at least ``role``."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.allows(role):
            raise PermissionDeniedError(
                f"this needs the {role} role; {principal.name} is a {principal.role}"
            )
        return principal

    return check


require_viewer = require("viewer")
require_agent = require("agent")
require_admin = require("admin")

RequireViewer = Annotated[Principal, Depends(require_viewer)]
RequireAgent = Annotated[Principal, Depends(require_agent)]
RequireAdmin = Annotated[Principal, Depends(require_admin)]
