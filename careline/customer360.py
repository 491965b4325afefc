"""The customer 360: everything about one customer on one page (and one API answer), and
the customer panel a ticket shows.

Contacts and preferred channel, sites, devices with their warranty or contract cover,
contracts, tickets open and past, recent faults, and a timeline of what happened (ticket
history, faults, changes to the records) newest first. Each part is read through its
context's own queries; the timeline is the one query that spans them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow
from pydantic import JsonValue

from crm_core.customers.entitlement import Entitlement, EntitlementState, entitlement
from crm_core.customers.queries import Contract, CustomerRecord, get_customer, list_contracts
from crm_core.kernel.read_models import MAX_LIMIT, Page, ReadModel, UtcDateTime, fetch_models
from crm_core.tickets.model import ENDED
from crm_core.tickets.queries import TicketSummary, list_tickets
from devices.catalog import Catalog
from devices.faults.queries import SELECT_FAULTS, FaultSummary
from devices.queries import DeviceSummary, list_devices

RECENT_FAULTS = 20
TIMELINE_LENGTH = 100
PAST_TICKETS = 50


class Cover(ReadModel):
    """Who pays for a repair of the device today."""

    state: EntitlementState
    billable: bool
    in_warranty: bool
    warranty_end: date | None
    contract_reference: str | None
    contract_tier: str | None
    contract_ends_on: date | None

    @classmethod
    def of(cls, found: Entitlement) -> Cover:
        return cls(
            state=found.state,
            billable=found.billable,
            in_warranty=found.in_warranty,
            warranty_end=found.warranty_end,
            contract_reference=found.contract_reference,
            contract_tier=found.contract_tier,
            contract_ends_on=found.contract_ends_on,
        )


class CustomerDevice(DeviceSummary):
    installed_on: date | None
    cover: Cover


class TimelineEntry(ReadModel):
    at: UtcDateTime
    kind: Literal["ticket", "fault", "record"]
    actor: str
    summary: str
    link: str | None
    detail: JsonValue


class Customer360(CustomerRecord):
    devices: list[CustomerDevice]
    contracts: list[Contract]
    open_tickets: list[TicketSummary]
    past_tickets: list[TicketSummary]
    recent_faults: list[FaultSummary]
    timeline: list[TimelineEntry]


class CustomerPanel(ReadModel):
    """What a ticket shows about its customer."""

    customer_id: int
    name: str
    kind: str
    email: str | None
    phone: str | None
    preferred_channel: str
    cover: Cover | None
    """The ticket's device's cover; None for a ticket about no device."""
    other_devices: list[CustomerDevice]
    past_tickets: list[TicketSummary]


def _devices(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    customer_id: int,
    contracts: list[Contract],
    now: datetime,
) -> list[CustomerDevice]:
    summaries = list_devices(conn, catalog, now, customer_id=customer_id, page=Page(MAX_LIMIT))
    dates = {
        int(r[0]): (r[1], r[2])
        for r in conn.execute(
            "SELECT id, installed_on, warranty_end FROM devices WHERE customer_id = %s",
            (customer_id,),
        ).fetchall()
    }
    terms = [c.term() for c in contracts]
    today = now.date()
    devices = []
    for summary in summaries:
        installed_on, warranty_end = dates.get(summary.id, (None, None))
        cover = entitlement(warranty_end, terms, today, device_id=summary.id)
        devices.append(
            CustomerDevice(**summary.model_dump(), installed_on=installed_on, cover=Cover.of(cover))
        )
    return devices


def _faults(conn: psycopg.Connection[TupleRow], customer_id: int) -> list[FaultSummary]:
    return fetch_models(
        conn,
        FaultSummary,
        SELECT_FAULTS + " WHERE d.customer_id = %s ORDER BY f.opened_at DESC, f.id DESC LIMIT %s",
        (customer_id, RECENT_FAULTS),
    )


_TIMELINE: LiteralString = """
  SELECT at, kind, actor, summary, link, detail FROM (
    SELECT h.at, 'ticket' AS kind, h.actor,
           '#' || t.id || ' ' || t.subject || ': ' || CASE h.action
               WHEN 'created' THEN 'opened'
               WHEN 'status' THEN coalesce(h.old_status, '') || ' → ' || coalesce(h.new_status, '')
               ELSE 'comment' END AS summary,
           '/console/tickets/' || t.id AS link,
           CASE WHEN h.comment <> '' THEN to_jsonb(h.comment) ELSE 'null'::jsonb END AS detail,
           h.id AS seq
    FROM ticket_history h JOIN tickets t ON t.id = h.ticket_id
    WHERE t.customer_id = %(customer)s
  UNION ALL
    SELECT f.opened_at, 'fault', 'careline',
           'fault on ' || d.serial || ': ' || f.metric || ' (' || f.detector || ') opened',
           '/console/devices/' || d.serial, 'null'::jsonb, f.id
    FROM faults f JOIN devices d ON d.id = f.device_id WHERE d.customer_id = %(customer)s
  UNION ALL
    SELECT f.cleared_at, 'fault', 'careline',
           'fault on ' || d.serial || ': ' || f.metric || ' cleared',
           '/console/devices/' || d.serial, 'null'::jsonb, f.id
    FROM faults f JOIN devices d ON d.id = f.device_id
    WHERE d.customer_id = %(customer)s AND f.cleared_at IS NOT NULL
  UNION ALL
    SELECT a.at, 'record', a.actor, a.entity || ' ' || a.action, NULL, a.detail, a.id
    FROM audit_log a
    WHERE (a.entity = 'customer' AND a.entity_id = %(customer)s::text)
       OR (a.entity = 'site' AND a.entity_id IN
            (SELECT id::text FROM sites WHERE customer_id = %(customer)s))
       OR (a.entity = 'device' AND a.entity_id IN
            (SELECT id::text FROM devices WHERE customer_id = %(customer)s))
       OR (a.entity = 'contract' AND a.entity_id IN
            (SELECT id::text FROM service_contracts WHERE customer_id = %(customer)s))
  ) AS events
  ORDER BY at DESC, seq DESC
  LIMIT %(limit)s
"""


def timeline(conn: psycopg.Connection[TupleRow], customer_id: int) -> list[TimelineEntry]:
    """What happened to the customer, newest first: tickets, faults, record changes."""
    return fetch_models(
        conn, TimelineEntry, _TIMELINE, {"customer": customer_id, "limit": TIMELINE_LENGTH}
    )


def customer_360(
    conn: psycopg.Connection[TupleRow], catalog: Catalog, customer_id: int, now: datetime
) -> Customer360:
    record = get_customer(conn, customer_id)
    contracts = list_contracts(conn, customer_id=customer_id, page=Page(MAX_LIMIT))
    tickets = list_tickets(conn, customer_id=customer_id, page=Page(MAX_LIMIT))
    return Customer360(
        **record.model_dump(),
        devices=_devices(conn, catalog, customer_id, contracts, now),
        contracts=contracts,
        open_tickets=[t for t in tickets if t.status not in ENDED],
        past_tickets=[t for t in tickets if t.status in ENDED][:PAST_TICKETS],
        recent_faults=_faults(conn, customer_id),
        timeline=timeline(conn, customer_id),
    )


def customer_panel(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    ticket: TicketSummary,
    now: datetime,
) -> CustomerPanel:
    """The ticket's customer: how to reach them, who pays, their other devices and tickets."""
    record = get_customer(conn, ticket.customer_id)
    contracts = list_contracts(conn, customer_id=ticket.customer_id, page=Page(MAX_LIMIT))
    devices = _devices(conn, catalog, ticket.customer_id, contracts, now)
    this = next((d for d in devices if d.id == ticket.device_id), None)
    cover = this.cover if this is not None else None
    if this is None and ticket.device_id is not None:  # a device since moved to another owner
        row = conn.execute(
            "SELECT warranty_end FROM devices WHERE id = %s", (ticket.device_id,)
        ).fetchone()
        terms = [c.term() for c in contracts]
        found = entitlement(row[0] if row else None, terms, now.date(), device_id=ticket.device_id)
        cover = Cover.of(found)
    tickets = list_tickets(conn, customer_id=ticket.customer_id, page=Page(PAST_TICKETS + 1))
    return CustomerPanel(
        customer_id=record.id,
        name=record.name,
        kind=record.kind,
        email=record.email,
        phone=record.phone,
        preferred_channel=record.preferred_channel,
        cover=cover,
        other_devices=[d for d in devices if d.id != ticket.device_id],
        past_tickets=[t for t in tickets if t.id != ticket.id][:PAST_TICKETS],
    )
