"""``/api/v1/customers``: people and businesses; the customer 360; creating and editing them.

Agents and admins create and edit; admins archive (a customer is never deleted here: their
tickets and history stay). Every change lands in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careline.api.deps import (
    Conn,
    Context,
    Now,
    Paging,
    RequireAdmin,
    RequireAgent,
    Scope,
    require_unscoped,
)
from careline.api.errors import responses
from careline.api.scopes import PathId, customer_in_scope
from careline.customer360 import Customer360, customer_360
from crm_core.customers.queries import CustomerKind, CustomerSummary, list_customers
from crm_core.customers.records import CustomerFields, CustomerPatch
from crm_core.customers.service import save_customer, set_archived, update_customer
from crm_core.kernel.read_models import Listing

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", summary="List customers by name; search by name, e-mail, phone or reference")
def customers_list(
    conn: Conn,
    page: Paging,
    scope: Scope,
    kind: Annotated[CustomerKind | None, Query(description="person or business")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search text.")] = None,
    archived: Annotated[bool, Query(description="The archived ones instead.")] = False,
) -> Listing[CustomerSummary]:
    items = list_customers(
        conn, kind=kind, search=q, archived=archived, page=page, customers=scope.sql_ids
    )
    return Listing.of(items, page)


@router.get(
    "/{customer_id}",
    summary="The customer 360: contacts, sites, devices and cover, contracts, tickets, "
    "faults and timeline",
    responses=responses(404),
    dependencies=[Depends(customer_in_scope)],
)
def customer_get(customer_id: PathId, conn: Conn, context: Context, now: Now) -> Customer360:
    return customer_360(conn, context.catalog, customer_id, now)


@router.post(
    "",
    status_code=201,
    summary="Create a customer (agent or admin, not limited to some customers)",
    responses=responses(422),
    dependencies=[Depends(require_unscoped)],
)
def customer_create(
    body: CustomerFields, conn: Conn, context: Context, now: Now, principal: RequireAgent
) -> Customer360:
    written = save_customer(conn, None, body, actor=principal.name, now=now)
    return customer_360(conn, context.catalog, written.id, now)


@router.patch(
    "/{customer_id}",
    summary="Change a customer's fields (agent or admin); those not sent stay",
    responses=responses(404, 422),
    dependencies=[Depends(customer_in_scope)],
)
def customer_update(
    customer_id: PathId,
    body: CustomerPatch,
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> Customer360:
    update_customer(conn, customer_id, body, actor=principal.name, now=now)
    return customer_360(conn, context.catalog, customer_id, now)


@router.post(
    "/{customer_id}/archive",
    summary="Archive a customer (admin): out of the lists, history kept",
    responses=responses(404),
    dependencies=[Depends(customer_in_scope)],
)
def customer_archive(
    customer_id: PathId, conn: Conn, context: Context, now: Now, principal: RequireAdmin
) -> Customer360:
    set_archived(conn, customer_id, True, actor=principal.name, now=now)
    return customer_360(conn, context.catalog, customer_id, now)


@router.post(
    "/{customer_id}/restore",
    summary="Bring an archived customer back (admin)",
    responses=responses(404),
    dependencies=[Depends(customer_in_scope)],
)
def customer_restore(
    customer_id: PathId, conn: Conn, context: Context, now: Now, principal: RequireAdmin
) -> Customer360:
    set_archived(conn, customer_id, False, actor=principal.name, now=now)
    return customer_360(conn, context.catalog, customer_id, now)
