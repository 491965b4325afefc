"""Customers as the API and console show them: list, and detail with sites and devices."""

from __future__ import annotations

from typing import Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)

CustomerKind = Literal["person", "business"]


class CustomerSummary(ReadModel):
    id: int
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    created_at: UtcDateTime
    device_count: int


class Site(ReadModel):
    id: int
    label: str
    address: str
    latitude: float | None
    longitude: float | None


class CustomerRecord(CustomerSummary):
    """A customer with their sites (their devices are the devices context's to list)."""

    sites: list[Site]


_SELECT: LiteralString = """
    SELECT c.id, c.kind, c.name, c.email, c.phone, c.created_at,
           (SELECT count(*) FROM devices d WHERE d.customer_id = c.id) AS device_count
    FROM customers c
"""


def list_customers(
    conn: psycopg.Connection[TupleRow],
    *,
    kind: CustomerKind | None = None,
    page: Page = FIRST_PAGE,
    customers: list[int] | None = None,
) -> list[CustomerSummary]:
    """Customers by name (only ``customers`` when given: a caller's scope)."""
    query = _SELECT + " WHERE (%(kind)s::text IS NULL OR c.kind = %(kind)s)"
    query += " AND (%(scope)s::bigint[] IS NULL OR c.id = ANY(%(scope)s))"
    query += " ORDER BY c.name, c.id LIMIT %(limit)s OFFSET %(offset)s"
    params = {"kind": kind, "scope": customers, "limit": page.limit, "offset": page.offset}
    return fetch_models(conn, CustomerSummary, query, params)


def get_customer(conn: psycopg.Connection[TupleRow], customer_id: int) -> CustomerRecord:
    """One customer with their sites."""
    row = fetch_model(conn, CustomerSummary, _SELECT + " WHERE c.id = %s", (customer_id,))
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist")
    sites = fetch_models(
        conn,
        Site,
        "SELECT id, label, address, latitude, longitude FROM sites "
        "WHERE customer_id = %s ORDER BY label, id",
        (customer_id,),
    )
    return CustomerRecord(**row.model_dump(), sites=sites)
