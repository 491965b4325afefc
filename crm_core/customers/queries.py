"""Customers as the API and console show them: list with search, detail with sites, and
their service contracts."""

from __future__ import annotations

from datetime import date
from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.customers.entitlement import ContractTerm
from crm_core.customers.records import Channel, CustomerKind, Tier
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)

__all__ = ["CustomerKind"]


class CustomerSummary(ReadModel):
    id: int
    kind: CustomerKind
    name: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    external_ref: str | None
    created_at: UtcDateTime
    archived_at: UtcDateTime | None
    device_count: int


class Site(ReadModel):
    id: int
    customer_id: int
    label: str
    address: str
    latitude: float | None
    longitude: float | None


class CustomerRecord(CustomerSummary):
    """A customer with their sites (their devices are the devices context's to list)."""

    sites: list[Site]


class Contract(ReadModel):
    id: int
    reference: str
    customer_id: int
    customer_name: str
    device_id: int | None
    device_serial: str | None
    tier: Tier
    starts_on: date
    ends_on: date
    created_at: UtcDateTime

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def term(self) -> ContractTerm:
        return ContractTerm(self.reference, self.tier, self.device_id, self.starts_on, self.ends_on)


_SELECT: LiteralString = """
    SELECT c.id, c.kind, c.name, c.email, c.phone, c.preferred_channel, c.external_ref,
           c.created_at, c.archived_at,
           (SELECT count(*) FROM devices d WHERE d.customer_id = c.id) AS device_count
    FROM customers c
"""


def list_customers(
    conn: psycopg.Connection[TupleRow],
    *,
    kind: CustomerKind | None = None,
    search: str | None = None,
    archived: bool = False,
    page: Page = FIRST_PAGE,
    customers: list[int] | None = None,
) -> list[CustomerSummary]:
    """Customers by name (only ``customers`` when given: a caller's scope); ``search``
    matches name, e-mail, phone or reference in part (a phone as typed: spaces ignored)."""
    query = _SELECT + " WHERE (%(kind)s::text IS NULL OR c.kind = %(kind)s)"
    query += " AND (%(scope)s::bigint[] IS NULL OR c.id = ANY(%(scope)s))"
    query += " AND (c.archived_at IS NOT NULL) = %(archived)s"
    query += """ AND (%(q)s::text IS NULL OR c.name ILIKE %(like)s OR c.email ILIKE %(like)s
                 OR c.external_ref ILIKE %(like)s
                 OR (%(digits)s <> '' AND c.phone LIKE %(digits)s))"""
    query += " ORDER BY c.name, c.id LIMIT %(limit)s OFFSET %(offset)s"
    q = search.strip() if search and search.strip() else None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if q else ""
    digits = "".join(ch for ch in (q or "") if ch.isdigit())
    params = {
        "kind": kind,
        "scope": customers,
        "archived": archived,
        "q": q,
        "like": f"%{escaped}%",
        "digits": f"%{digits}%" if digits else "",
        "limit": page.limit,
        "offset": page.offset,
    }
    return fetch_models(conn, CustomerSummary, query, params)


def get_customer(conn: psycopg.Connection[TupleRow], customer_id: int) -> CustomerRecord:
    """One customer with their sites."""
    row = fetch_model(conn, CustomerSummary, _SELECT + " WHERE c.id = %s", (customer_id,))
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return CustomerRecord(**row.model_dump(), sites=list_sites(conn, customer_id))


def list_sites(conn: psycopg.Connection[TupleRow], customer_id: int) -> list[Site]:
    return fetch_models(
        conn,
        Site,
        "SELECT id, customer_id, label, address, latitude, longitude FROM sites "
        "WHERE customer_id = %s ORDER BY label, id",
        (customer_id,),
    )


def get_site(conn: psycopg.Connection[TupleRow], site_id: int) -> Site:
    row = fetch_model(
        conn,
        Site,
        "SELECT id, customer_id, label, address, latitude, longitude FROM sites WHERE id = %s",
        (site_id,),
    )
    if row is None:
        raise NotFound(f"site {site_id} does not exist")
    return row


_CONTRACTS: LiteralString = """
    SELECT k.id, k.reference, k.customer_id, c.name AS customer_name, k.device_id,
           d.serial AS device_serial, k.tier, k.starts_on, k.ends_on, k.created_at
    FROM service_contracts k
    JOIN customers c ON c.id = k.customer_id
    LEFT JOIN devices d ON d.id = k.device_id
"""


def list_contracts(
    conn: psycopg.Connection[TupleRow],
    *,
    customer_id: int | None = None,
    page: Page = FIRST_PAGE,
) -> list[Contract]:
    """Contracts, the latest ending first."""
    query = _CONTRACTS + " WHERE (%(customer)s::bigint IS NULL OR k.customer_id = %(customer)s)"
    query += " ORDER BY k.ends_on DESC, k.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    params = {"customer": customer_id, "limit": page.limit, "offset": page.offset}
    return fetch_models(conn, Contract, query, params)


def get_contract(conn: psycopg.Connection[TupleRow], contract_id: int) -> Contract:
    row = fetch_model(conn, Contract, _CONTRACTS + " WHERE k.id = %s", (contract_id,))
    if row is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return row
