"""``/api/v1/customers``: people and businesses, with their sites and devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from careline.api.deps import Conn, Context, Now, Paging, Scope
from careline.api.errors import responses
from careline.api.scopes import PathId, customer_in_scope
from careline.views import CustomerDetail, customer_detail
from crm_core.customers.queries import CustomerKind, CustomerSummary, list_customers
from crm_core.kernel.read_models import Listing

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", summary="List customers by name")
def customers_list(
    conn: Conn,
    page: Paging,
    scope: Scope,
    kind: Annotated[CustomerKind | None, Query(description="person or business")] = None,
) -> Listing[CustomerSummary]:
    return Listing.of(list_customers(conn, kind=kind, page=page, customers=scope.sql_ids), page)


@router.get(
    "/{customer_id}",
    summary="One customer with sites and devices",
    responses=responses(404),
    dependencies=[Depends(customer_in_scope)],
)
def customer_get(customer_id: PathId, conn: Conn, context: Context, now: Now) -> CustomerDetail:
    return customer_detail(conn, context.catalog, customer_id, now)
