"""``/api/v1/tickets``: service tickets (proactive and reactive), the faults behind them,
their SLA and entitlement, and the work on them: status, assignment, scheduling,
resolution with a code."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from careline.api.deps import MAX_BIGINT, Conn, Now, Paging, Publisher, RequireAgent, Scope, Sla
from careline.api.errors import responses
from careline.api.scopes import PathId, require_customer, ticket_in_scope
from careline.views import TicketDetail, ticket_detail
from crm_core.kernel.read_models import Listing
from crm_core.tickets.assignment import Suggestion
from crm_core.tickets.dispatch import assign, resolve, schedule
from crm_core.tickets.model import (
    TicketDraft,
    TicketInputError,
    TicketKind,
    TicketStatus,
)
from crm_core.tickets.postgres import PostgresTicketsUnitOfWork
from crm_core.tickets.queries import TicketSummary, list_tickets
from crm_core.tickets.service import add_comment, change_status, open_reactive
from crm_core.tickets.sla import SlaState
from crm_core.tickets.technicians import suggestions

router = APIRouter(prefix="/tickets", tags=["tickets"])
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus
    comment: Annotated[str, Field(max_length=4000, description="Why, for the history.")] = ""
    resolution_code: Annotated[
        str | None, Field(description="Required to move to resolved (GET /service-levels).")
    ] = None


class TicketComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Text


class NewTicket(BaseModel):
    """A customer's call, logged by an agent: a reactive ticket."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int
    device_id: int | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    severity: Literal["high", "medium", "low"] = "medium"
    safety: Annotated[
        bool, Field(description="A safety risk (fire, gas, refrigerant, food): forces P1.")
    ] = False
    hours_to_failure: Annotated[
        float | None, Field(ge=0, description="Expected hours until it fails, if known.")
    ] = None


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    technician_id: int


class Appointment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_start: AwareDatetime
    window_end: AwareDatetime


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(description="A resolution code (GET /service-levels).")]
    comment: Annotated[str, Field(max_length=4000)] = ""


class SuggestionOut(BaseModel):
    technician_id: int
    name: str
    qualified: bool
    distance_km: float | None
    live_tickets: int
    why: str


def check_device_owner(conn: Conn, customer_id: int, device_id: int | None) -> None:
    """The customer exists and owns the device (if one is named)."""
    row = conn.execute("SELECT 1 FROM customers WHERE id = %s", (customer_id,)).fetchone()
    if row is None:
        raise TicketInputError(f"customer {customer_id} does not exist")
    if device_id is None:
        return
    row = conn.execute("SELECT customer_id FROM devices WHERE id = %s", (device_id,)).fetchone()
    if row is None or row[0] != customer_id:
        raise TicketInputError(f"device {device_id} is not customer {customer_id}'s")


@router.get("", summary="The ticket queue, newest first, with SLA clocks")
def tickets_list(
    conn: Conn,
    page: Paging,
    sla: Sla,
    scope: Scope,
    status: Annotated[TicketStatus | None, Query()] = None,
    kind: Annotated[TicketKind | None, Query()] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    technician_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    sla_state: Annotated[SlaState | None, Query()] = None,
) -> Listing[TicketSummary]:
    items = list_tickets(
        conn,
        status=status,
        kind=kind,
        customer_id=customer_id,
        priority=priority,
        technician_id=technician_id,
        sla_state=sla_state,
        sla=sla,
        page=page,
        customers=scope.sql_ids,
    )
    return Listing.of(items, page)


@router.post(
    "",
    summary="Log a customer's call as a reactive ticket (agent or admin)",
    status_code=201,
    responses=responses(422),
)
def ticket_create(
    body: NewTicket,
    conn: Conn,
    now: Now,
    principal: RequireAgent,
    sla: Sla,
    publish: Publisher,
    scope: Scope,
) -> TicketDetail:
    check_device_owner(conn, body.customer_id, body.device_id)
    require_customer(conn, scope, body.customer_id)
    conn.commit()  # the checks' reads end here: the use case's transaction is its own
    draft = TicketDraft(
        body.subject,
        body.description,
        3,
        severity=body.severity,
        safety=body.safety,
        hours_to_failure=body.hours_to_failure,
    )
    ticket_id, _ = open_reactive(
        PostgresTicketsUnitOfWork(conn),
        draft,
        customer_id=body.customer_id,
        device_id=body.device_id,
        by=principal.name,
        now=now,
        publish=publish,
    )
    return ticket_detail(conn, ticket_id, sla)


@router.get(
    "/{ticket_id}",
    summary="One ticket with its faults, history, SLA and entitlement",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_get(ticket_id: PathId, conn: Conn, sla: Sla) -> TicketDetail:
    return ticket_detail(conn, ticket_id, sla)


@router.patch(
    "/{ticket_id}",
    summary="Move a ticket along its lifecycle (agent or admin); 409 for a move it forbids",
    responses=responses(404, 409, 422),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_update(
    ticket_id: PathId,
    patch: TicketPatch,
    conn: Conn,
    now: Now,
    principal: RequireAgent,
    sla: Sla,
    publish: Publisher,
) -> TicketDetail:
    uow = PostgresTicketsUnitOfWork(conn)
    if patch.status == "resolved":
        if not patch.resolution_code:
            raise TicketInputError("resolving a ticket needs a resolution_code")
        levels = sla[0].levels
        code, comment = patch.resolution_code, patch.comment
        resolve(uow, levels, ticket_id, code, now, principal.name, comment, publish)
    else:
        change_status(uow, ticket_id, patch.status, now, principal.name, patch.comment, publish)
    return ticket_detail(conn, ticket_id, sla)


@router.post(
    "/{ticket_id}/comments",
    summary="Add a comment to a ticket's history (agent or admin)",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_comment(
    ticket_id: PathId, body: TicketComment, conn: Conn, now: Now, principal: RequireAgent, sla: Sla
) -> TicketDetail:
    add_comment(PostgresTicketsUnitOfWork(conn), ticket_id, principal.name, body.comment, now)
    return ticket_detail(conn, ticket_id, sla)


@router.get(
    "/{ticket_id}/suggestions",
    summary="Technicians ranked for the ticket: skill, distance to the site, load; with why",
    responses=responses(404),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_suggestions(ticket_id: PathId, conn: Conn, sla: Sla) -> list[SuggestionOut]:
    del sla
    found: list[Suggestion] = suggestions(conn, ticket_id)
    return [
        SuggestionOut(
            technician_id=s.technician_id,
            name=s.name,
            qualified=s.qualified,
            distance_km=None if s.distance_km is None else round(s.distance_km, 1),
            live_tickets=s.live_tickets,
            why=s.why,
        )
        for s in found
    ]


@router.post(
    "/{ticket_id}/assign",
    summary="Assign a technician (agent or admin); a new ticket becomes assigned",
    responses=responses(404, 409, 422),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_assign(
    ticket_id: PathId,
    body: Assignment,
    conn: Conn,
    now: Now,
    principal: RequireAgent,
    sla: Sla,
    publish: Publisher,
) -> TicketDetail:
    uow = PostgresTicketsUnitOfWork(conn)
    assign(uow, ticket_id, body.technician_id, now, principal.name, publish)
    return ticket_detail(conn, ticket_id, sla)


@router.post(
    "/{ticket_id}/schedule",
    summary="Book the technician's visit in an appointment window (at most 12 h)",
    responses=responses(404, 409, 422),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_schedule(
    ticket_id: PathId,
    body: Appointment,
    conn: Conn,
    now: Now,
    principal: RequireAgent,
    sla: Sla,
    publish: Publisher,
) -> TicketDetail:
    uow = PostgresTicketsUnitOfWork(conn)
    schedule(uow, ticket_id, body.window_start, body.window_end, now, principal.name, publish)
    return ticket_detail(conn, ticket_id, sla)


@router.post(
    "/{ticket_id}/resolve",
    summary="Resolve with a resolution code; records first-time fix",
    responses=responses(404, 409, 422),
    dependencies=[Depends(ticket_in_scope)],
)
def ticket_resolve(
    ticket_id: PathId,
    body: Resolution,
    conn: Conn,
    now: Now,
    principal: RequireAgent,
    sla: Sla,
    publish: Publisher,
) -> TicketDetail:
    uow = PostgresTicketsUnitOfWork(conn)
    levels = sla[0].levels
    resolve(uow, levels, ticket_id, body.code, now, principal.name, body.comment, publish)
    return ticket_detail(conn, ticket_id, sla)
