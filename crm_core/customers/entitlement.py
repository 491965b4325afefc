"""Who pays for a repair: the device's warranty, a service contract, or the customer.

Pure. A device is *in warranty* until its ``warranty_end`` (inclusive); out of it, a
contract active today that covers the device (one written for it, or one for all the
customer's devices) makes the work covered; otherwise it is billable.

>>> from datetime import date
>>> today = date(2026, 12, 6)
>>> entitlement(date(2027, 1, 1), [], today).state
'warranty'
>>> term = ContractTerm("SC-1", "premium", None, date(2026, 1, 1), date(2026, 12, 31))
>>> e = entitlement(date(2025, 1, 1), [term], today, device_id=7)
>>> (e.state, e.billable, e.contract_reference)
('contract', False, 'SC-1')
>>> entitlement(None, [], today).billable
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

EntitlementState = Literal["warranty", "contract", "billable"]


@dataclass(frozen=True, slots=True)
class ContractTerm:
    reference: str
    tier: str
    device_id: int | None  # None: all the customer's devices
    starts_on: date
    ends_on: date

    def covers(self, device_id: int | None, today: date) -> bool:
        if not self.starts_on <= today <= self.ends_on:
            return False
        return self.device_id is None or self.device_id == device_id


@dataclass(frozen=True, slots=True)
class Entitlement:
    state: EntitlementState
    in_warranty: bool
    warranty_end: date | None
    contract_reference: str | None = None
    contract_tier: str | None = None
    contract_ends_on: date | None = None

    @property
    def billable(self) -> bool:
        return self.state == "billable"


def entitlement(
    warranty_end: date | None,
    contracts: Iterable[ContractTerm],
    today: date,
    *,
    device_id: int | None = None,
) -> Entitlement:
    """The device's entitlement today; the warranty comes first, then the best contract."""
    in_warranty = warranty_end is not None and today <= warranty_end
    covering = [c for c in contracts if c.covers(device_id, today)]
    if in_warranty:
        state: EntitlementState = "warranty"
    elif covering:
        state = "contract"
    else:
        state = "billable"
    if not covering:
        return Entitlement(state, in_warranty, warranty_end)
    rank = {"premium": 0, "standard": 1, "basic": 2}
    best = min(covering, key=lambda c: (rank.get(c.tier, 3), -c.ends_on.toordinal()))
    return Entitlement(state, in_warranty, warranty_end, best.reference, best.tier, best.ends_on)
