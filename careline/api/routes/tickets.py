"""``/api/v1/tickets``: service tickets, the faults behind them, and status changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from careline.api.deps import MAX_BIGINT, Conn, Now, Paging, RequireAgent, Scope
from careline.api.errors import responses
from careline.api.scopes import PathId, ticket_in_scope
from careline.views import TicketDetail, ticket_detail
from crm_core.kernel.read_models import Listing
from crm_core.tickets.model import TicketKind, TicketStatus
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.queries import TicketSummary, list_tickets
from crm_core.tickets.service import add_comment, change_status

router = APIRouter(prefix="/tickets", tags=["tickets"])


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus
    comment: Annotated[str, Field(max_length=4000, description="Why, for the history.")] = ""


class TicketComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


@router.get("", summary="List tickets, newest first")
def tickets_list(
    conn: Conn,
    page: Paging,
    scope: Scope,
    status: Annotated[TicketStatus | None, Query()] = None,
    kind: Annotated[TicketKind | None, Query()] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
) -> Listing[TicketSummary]:
    items = list_tickets(
        conn,
        status=status,
        kind=kind,
        customer_id=customer_id,
        page=page,
        customers=scope.sql_ids,
    )
    return Listing.of(items, page)


@router.get(
    "/{ticket_id}",
    summary="One ticket with its linked faults",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_get(ticket_id: PathId, conn: Conn) -> TicketDetail:
    return ticket_detail(conn, ticket_id)


@router.patch(
    "/{ticket_id}",
    summary="Move a ticket along its lifecycle (agent or admin); 409 for a move it forbids",
    responses=responses(404, 409),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_update(
    ticket_id: PathId, patch: TicketPatch, conn: Conn, now: Now, principal: RequireAgent
) -> TicketDetail:
    uow = PostgresTicketsUnitOfWork(conn)
    change_status(uow, ticket_id, patch.status, now, principal.name, patch.comment)
    return ticket_detail(conn, ticket_id)


@router.post(
    "/{ticket_id}/comments",
    summary="Add a comment to a ticket's history (agent or admin)",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_comment(
    ticket_id: PathId, body: TicketComment, conn: Conn, now: Now, principal: RequireAgent
) -> TicketDetail:
    add_comment(PostgresTicketsUnitOfWork(conn), ticket_id, principal.name, body.comment, now)
    return ticket_detail(conn, ticket_id)
