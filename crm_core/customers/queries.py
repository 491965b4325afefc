"""Customers as the API and console show them: list, and detail with sites and devices."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    MAX_LIMIT,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from devices.catalog import Catalog
from devices.queries import DeviceSummary, list_devices

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


class CustomerDetail(CustomerSummary):
    sites: list[Site]
    devices: list[DeviceSummary]


_SELECT: LiteralString = """
    SELECT c.id, c.kind, c.name, c.email, c.phone, c.created_at,
           (SELECT count(*) FROM devices d WHERE d.customer_id = c.id) AS device_count
    FROM customers c
"""


def list_customers(
    conn: psycopg.Connection[TupleRow], *, kind: CustomerKind | None = None, page: Page = FIRST_PAGE
) -> list[CustomerSummary]:
    """Customers by name."""
    query = _SELECT + " WHERE (%(kind)s::text IS NULL OR c.kind = %(kind)s)"
    query += " ORDER BY c.name, c.id LIMIT %(limit)s OFFSET %(offset)s"
    params = {"kind": kind, "limit": page.limit, "offset": page.offset}
    return fetch_models(conn, CustomerSummary, query, params)


def get_customer(
    conn: psycopg.Connection[TupleRow], catalog: Catalog, customer_id: int, now: datetime
) -> CustomerDetail:
    """One customer with their sites and (up to 500) devices."""
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
    devices = list_devices(conn, catalog, now, customer_id=customer_id, page=Page(MAX_LIMIT))
    return CustomerDetail(**row.model_dump(), sites=sites, devices=devices)
