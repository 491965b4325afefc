"""``/api/v1/tickets/{id}/customer``: what a ticket shows about its customer."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from careline.api.deps import Conn, Context, Now
from careline.api.errors import responses
from careline.api.scopes import PathId, ticket_in_scope
from careline.customer360 import CustomerPanel, customer_panel
from crm_core.tickets.queries import get_ticket

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.get(
    "/{ticket_id}/customer",
    summary="The ticket's customer: contacts, preferred channel, who pays (warranty or "
    "contract), their other devices and past tickets",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_customer(ticket_id: PathId, conn: Conn, context: Context, now: Now) -> CustomerPanel:
    return customer_panel(conn, context.catalog, get_ticket(conn, ticket_id), now)
