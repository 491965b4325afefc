"""The ticket domain: what a ticket is, the rules of its lifecycle, the events it raises.

Pure: no I/O. A device has at most one *live* proactive ticket (one not solved or closed):
further faults on the device join it. A closed ticket is final.

>>> from datetime import datetime, UTC
>>> now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
>>> ticket = new_proactive(TicketDraft("Fridge FR-1: too warm", "...", 1), 7, 42, now)
>>> ticket.is_live, ticket.status
(True, 'new')
>>> [type(e).__name__ for e in ticket.change_status("closed", now)]
['TicketStatusChanged']
>>> ticket.change_status("open", now)
Traceback (most recent call last):
...
crm_core.tickets.model.TicketConflictError: ticket None is closed; open a new one instead
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from crm_core.kernel.events import Event

TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
TicketKind = Literal["proactive", "reactive"]
TICKET_STATUSES: Final[tuple[TicketStatus, ...]] = (
    "new",
    "open",
    "pending",
    "on_hold",
    "solved",
    "closed",
)
ENDED: Final = frozenset({"solved", "closed"})


class TicketConflictError(Exception):
    """The change would break a rule: a closed ticket is final, and a device has at most
    one live proactive ticket."""


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """What a rule proposes: the words and the priority (1 critical .. 4 low)."""

    subject: str
    description: str
    priority: int


@dataclass(frozen=True, slots=True)
class TicketOpened(Event):
    ticket_id: int
    device_id: int | None
    customer_id: int


@dataclass(frozen=True, slots=True)
class FaultJoinedTicket(Event):
    ticket_id: int
    fault_id: int


@dataclass(frozen=True, slots=True)
class TicketStatusChanged(Event):
    ticket_id: int | None
    old: TicketStatus
    new: TicketStatus


@dataclass(eq=False, slots=True, kw_only=True)
class Ticket:
    """A service ticket. ``id`` is None until stored; entities compare by identity."""

    id: int | None = None
    kind: TicketKind
    status: TicketStatus
    priority: int
    subject: str
    description: str
    customer_id: int
    device_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_live(self) -> bool:
        return self.status not in ENDED

    def change_status(self, status: TicketStatus, now: datetime) -> list[Event]:
        """Move to ``status``; nothing happens when it is already there."""
        if self.status == status:
            return []
        if self.status == "closed":
            raise TicketConflictError(f"ticket {self.id} is closed; open a new one instead")
        old, self.status, self.updated_at = self.status, status, now
        return [TicketStatusChanged(self.id, old, status)]


def new_proactive(draft: TicketDraft, customer_id: int, device_id: int, now: datetime) -> Ticket:
    """The proactive ticket a rule's draft becomes, not stored yet."""
    return Ticket(
        kind="proactive",
        status="new",
        priority=draft.priority,
        subject=draft.subject,
        description=draft.description,
        customer_id=customer_id,
        device_id=device_id,
        created_at=now,
        updated_at=now,
    )
