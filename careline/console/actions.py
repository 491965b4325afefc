"""The console's actions on a ticket page: move a ticket, comment on it, acknowledge a fault.

Each is a form (protected against cross-site forgery by :mod:`careline.api.csrf`) that runs
the same use case as the API and answers with a redirect to the ticket (post, redirect,
get); a refusal comes back as a message on that page. Agents and admins only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Form
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRouter

from careline.api.deps import Conn, Now
from careline.api.scopes import require_fault, require_ticket
from careline.console.pages import ConsoleUser
from careline.console.sign_in import PREFIX
from crm_core.auth.principals import Principal
from crm_core.auth.scopes import CustomerScope
from crm_core.kernel.errors import NotFound
from crm_core.tickets.model import TicketConflictError, TicketStatus
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.service import add_comment, change_status
from devices.errors import FaultError
from devices.faults.postgres import PostgresFaultsUnitOfWork
from devices.faults.service import acknowledge

Refusal = (TicketConflictError, FaultError, NotFound, ValueError)


def _back(ticket_id: int, error: str | None = None) -> RedirectResponse:
    url = f"{PREFIX}/tickets/{ticket_id}"
    if error:
        url += f"?error={quote(error)}"
    return RedirectResponse(url, status_code=303)


def _act(
    user: Principal,
    ticket_id: int,
    refused: str,
    action: Callable[[], object],
    in_scope: Callable[[CustomerScope], None],
) -> RedirectResponse:
    """Run ``action`` for an agent or admin whose scope covers the resource (``in_scope``
    raises NotFound otherwise) and go back to the ticket, with the refusal if any."""
    if not user.allows("agent"):
        return _back(ticket_id, refused)
    try:
        in_scope(CustomerScope(user.customer_ids))
        action()
    except Refusal as exc:
        return _back(ticket_id, str(exc))
    return _back(ticket_id)


def install_actions(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.post("/tickets/{ticket_id}/status")
    def move_ticket(
        ticket_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        status: Annotated[TicketStatus, Form()],
        comment: Annotated[str, Form(max_length=4000)] = "",
    ) -> RedirectResponse:
        uow = PostgresTicketsUnitOfWork(conn)
        return _act(
            user,
            ticket_id,
            "Viewers cannot change tickets.",
            lambda: change_status(uow, ticket_id, status, now, user.name, comment.strip()),
            lambda scope: require_ticket(conn, scope, ticket_id),
        )

    @router.post("/tickets/{ticket_id}/comments")
    def comment_ticket(
        ticket_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        comment: Annotated[str, Form(max_length=4000)],
    ) -> RedirectResponse:
        uow = PostgresTicketsUnitOfWork(conn)
        return _act(
            user,
            ticket_id,
            "Viewers cannot comment on tickets.",
            lambda: add_comment(uow, ticket_id, user.name, comment, now),
            lambda scope: require_ticket(conn, scope, ticket_id),
        )

    @router.post("/faults/{fault_id}/acknowledge")
    def acknowledge_fault(
        fault_id: int,
        user: ConsoleUser,
        conn: Conn,
        now: Now,
        ticket_id: Annotated[int, Form()],
        comment: Annotated[str, Form(max_length=2000)] = "",
    ) -> RedirectResponse:
        uow = PostgresFaultsUnitOfWork(conn)
        return _act(
            user,
            ticket_id,
            "Viewers cannot acknowledge faults.",
            lambda: acknowledge(uow, fault_id, user.name, comment.strip(), now),
            lambda scope: require_fault(conn, scope, fault_id),
        )

    app.include_router(router)
