"""FastAPI dependencies as ``Annotated`` aliases: the context, a connection, the caller.

Callers authenticate with an API key (``Authorization: Bearer <key>`` or ``X-API-Key``) or
with the console's session cookie, which carries only a random session id (signed); the
session itself lives in ``staff_sessions``. Authentication takes its own short-lived
connection, so a handler that does not need one (the replay) holds none.

:data:`Scope` is the caller's :class:`~crm_core.auth.scopes.CustomerScope`; see
:mod:`careline.api.scopes` for how routes apply it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import TupleRow

from careline.api.context import AppContext
from crm_core.auth.api_keys import principal_for_key
from crm_core.auth.errors import NotAuthenticatedError, PermissionDeniedError
from crm_core.auth.principals import Principal, Role
from crm_core.auth.scopes import CustomerScope
from crm_core.auth.sessions import SessionPolicy
from crm_core.auth.sessions import session_principal as stored_session
from crm_core.kernel.read_models import DEFAULT_LIMIT, MAX_LIMIT, Page
from crm_core.tickets.queries import SlaContext
from crm_core.tickets.service import Publish
from crm_core.tickets.settings import sla_context

SESSION_ID = "sid"  # the only thing the session cookie carries
MAX_BIGINT = 2**63 - 1  # PostgreSQL's bigint: ids and offsets beyond it are refused (422)


def get_context(request: Request) -> AppContext:
    context = request.app.state.context
    assert isinstance(context, AppContext)
    return context


Context = Annotated[AppContext, Depends(get_context)]


def get_conn(context: Context) -> Iterator[psycopg.Connection[TupleRow]]:
    """A pooled connection for the request; the pool commits (or rolls back) at the end."""
    with context.pool.connection() as conn:
        yield conn


# scope="function": the connection goes back to the pool, and so commits, when the handler
# returns, before the answer is sent. With FastAPI's default ("request") it committed after
# the answer, so a client's next request could miss a write it had been told was done.
Conn = Annotated[psycopg.Connection[TupleRow], Depends(get_conn, scope="function")]


def get_now(context: Context) -> datetime:
    return context.clock()


Now = Annotated[datetime, Depends(get_now)]


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_BIGINT, description="Rows to skip.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


Paging = Annotated[Page, Depends(get_page)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Bearer cl_...`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def session_policy(context: AppContext) -> SessionPolicy:
    api = context.settings.api
    return SessionPolicy(
        max_age=timedelta(seconds=api.session_max_age_s),
        idle_timeout=timedelta(seconds=api.session_idle_timeout_s),
    )


def session_principal(request: Request, context: AppContext) -> Principal | None:
    """The staff user of the console session, if it is live (not ended, expired or idle)."""
    if "session" not in request.scope:
        return None
    token = request.session.get(SESSION_ID)
    if not isinstance(token, str):
        request.session.clear()  # a cookie of the old, stateless kind
        return None
    with context.pool.connection() as conn:
        principal = stored_session(conn, token, context.clock(), session_policy(context))
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


def get_scope(principal: CurrentPrincipal) -> CustomerScope:
    """The caller's customer scope (every customer unless the key or user is limited)."""
    return CustomerScope(principal.customer_ids)


Scope = Annotated[CustomerScope, Depends(get_scope)]


def require_unscoped(principal: CurrentPrincipal) -> Principal:
    """For data that belongs to no customer (dead letters, fleet-wide scores)."""
    if principal.customer_ids is not None:
        raise PermissionDeniedError(f"{principal.name} is limited to some customers")
    return principal


RequireUnscoped = Annotated[Principal, Depends(require_unscoped)]


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
require_quality = require("quality")

RequireViewer = Annotated[Principal, Depends(require_viewer)]
RequireAgent = Annotated[Principal, Depends(require_agent)]
RequireAdmin = Annotated[Principal, Depends(require_admin)]


def get_sla(context: Context, now: Now) -> tuple[SlaContext, datetime]:
    """SLA policies, calendar and warning share from the settings, with the request's now."""
    return sla_context(context.settings.service), now


Sla = Annotated[tuple[SlaContext, datetime], Depends(get_sla)]


def get_publish(context: Context) -> Publish | None:
    return None if context.bus is None else context.bus.publish


Publisher = Annotated[Publish | None, Depends(get_publish)]
RequireQuality = Annotated[Principal, Depends(require_quality)]
