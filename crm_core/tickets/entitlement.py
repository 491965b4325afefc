"""What the customer is entitled to for a ticket, checked at the ticket's date: the
device's warranty, a service contract (for the device, or for all the customer's devices),
or neither (the work is billable).

>>> from datetime import date
>>> entitlement(date(2026, 12, 1), date(2027, 1, 1), []).label
'in warranty until 2027-01-01'
>>> entitlement(date(2026, 12, 1), date(2026, 1, 1),
...             [Contract("SC-1", "premium", date(2026, 1, 1), date(2026, 12, 31), None)]).label
'under contract SC-1 (premium) until 2026-12-31'
>>> entitlement(date(2026, 12, 1), None, []).billable
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound

_TIER_ORDER = ("premium", "standard", "basic")


@dataclass(frozen=True, slots=True)
class Contract:
    reference: str
    tier: str
    starts_on: date
    ends_on: date
    device_id: int | None


@dataclass(frozen=True, slots=True)
class Entitlement:
    on: date
    in_warranty: bool
    warranty_end: date | None
    contract: Contract | None

    @property
    def billable(self) -> bool:
        return not self.in_warranty and self.contract is None

    @property
    def label(self) -> str:
        parts = []
        if self.in_warranty:
            parts.append(f"in warranty until {self.warranty_end}")
        if self.contract is not None:
            c = self.contract
            parts.append(f"under contract {c.reference} ({c.tier}) until {c.ends_on}")
        return "; ".join(parts) if parts else "billable: no warranty or contract"


def entitlement(on: date, warranty_end: date | None, contracts: list[Contract]) -> Entitlement:
    """Warranty and the best valid contract on ``on`` (contracts already for the device)."""
    valid = [c for c in contracts if c.starts_on <= on <= c.ends_on]
    valid.sort(key=lambda c: _TIER_ORDER.index(c.tier) if c.tier in _TIER_ORDER else 9)
    in_warranty = warranty_end is not None and on <= warranty_end
    return Entitlement(on, in_warranty, warranty_end, valid[0] if valid else None)


def ticket_entitlement(conn: psycopg.Connection[TupleRow], ticket_id: int) -> Entitlement:
    """The ticket's entitlement on the day it was opened."""
    row = conn.execute(
        "SELECT (t.created_at AT TIME ZONE 'UTC')::date, t.customer_id, t.device_id, "
        "d.warranty_end FROM tickets t LEFT JOIN devices d ON d.id = t.device_id "
        "WHERE t.id = %s",
        (ticket_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    on, customer_id, device_id, warranty_end = row
    rows = conn.execute(
        "SELECT reference, tier, starts_on, ends_on, device_id FROM service_contracts "
        "WHERE customer_id = %s AND (device_id IS NULL OR device_id = %s)",
        (customer_id, device_id),
    ).fetchall()
    return entitlement(on, warranty_end, [Contract(*r) for r in rows])
