"""``/api/v1/customers``: people and businesses, with their sites and devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from careline.api.deps import Conn, Context, Now, Paging
from careline.api.errors import responses
from careline.views import CustomerDetail, customer_detail
from crm_core.customers.queries import CustomerKind, CustomerSummary, list_customers
from crm_core.kernel.read_models import Listing

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", summary="List customers by name")
def customers_list(
    conn: Conn,
    page: Paging,
    kind: Annotated[CustomerKind | None, Query(description="person or business")] = None,
) -> Listing[CustomerSummary]:
    return Listing.of(list_customers(conn, kind=kind, page=page), page)


@router.get(
    "/{customer_id}", summary="One customer with sites and devices", responses=responses(404)
)
def customer_get(customer_id: int, conn: Conn, context: Context, now: Now) -> CustomerDetail:
    return customer_detail(conn, context.catalog, customer_id, now)
