r"""The ticket domain: what a ticket is, the rules of its lifecycle, the events it raises.

Pure: no I/O. The lifecycle is the field-service one (conventions §4.4)::

    new -> assigned -> scheduled -> in_progress -> resolved -> closed
                 \___ waiting_for_customer ___/        \-> in_progress (not fixed after all)
    and cancelled from any live state

:data:`TRANSITIONS` says which moves are allowed; waiting for the customer pauses the SLA
clock. A device has at most one *live* proactive ticket (not resolved, closed or
cancelled): further faults on the device join it. Closed and cancelled are final.

>>> from datetime import datetime, UTC
>>> now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
>>> ticket = new_proactive(TicketDraft("Fridge FR-1: too warm", "...", 1), 7, 42, now)
>>> ticket.is_live, ticket.status
(True, 'new')
>>> [type(e).__name__ for e in ticket.change_status("assigned", now, "dispatch")]
['TicketStatusChanged']
>>> ticket.change_status("closed", now, "dispatch")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
crm_core.tickets.model.TicketConflictError: ticket None cannot go from assigned to closed; ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from crm_core.kernel.events import Event

TicketStatus = Literal[
    "new",
    "assigned",
    "scheduled",
    "in_progress",
    "waiting_for_customer",
    "resolved",
    "closed",
    "cancelled",
]
TicketKind = Literal["proactive", "reactive"]
TICKET_STATUSES: Final[tuple[TicketStatus, ...]] = get_args(TicketStatus)
ENDED: Final = frozenset({"resolved", "closed", "cancelled"})
TRANSITIONS: Final[dict[TicketStatus, tuple[TicketStatus, ...]]] = {
    "new": ("assigned", "in_progress", "waiting_for_customer", "resolved", "cancelled"),
    "assigned": (
        "new",
        "scheduled",
        "in_progress",
        "waiting_for_customer",
        "resolved",
        "cancelled",
    ),
    "scheduled": ("assigned", "in_progress", "waiting_for_customer", "resolved", "cancelled"),
    "in_progress": ("scheduled", "waiting_for_customer", "resolved", "cancelled"),
    "waiting_for_customer": ("assigned", "scheduled", "in_progress", "resolved", "cancelled"),
    "resolved": ("closed", "in_progress"),
    "closed": (),
    "cancelled": (),
}
PAUSES_SLA: Final = frozenset({"waiting_for_customer"})


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
    by: str = ""
    comment: str = ""


@dataclass(frozen=True, slots=True)
class TicketCommented(Event):
    ticket_id: int
    by: str
    comment: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a ticket's history: who did what, when."""

    at: datetime
    actor: str
    action: Literal["created", "status", "comment"]
    old_status: TicketStatus | None = None
    new_status: TicketStatus | None = None
    comment: str = ""


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

    def change_status(
        self, status: TicketStatus, now: datetime, by: str, comment: str = ""
    ) -> list[Event]:
        """Move to ``status`` if :data:`TRANSITIONS` allows it; nothing when already there."""
        if self.status == status:
            return []
        allowed = TRANSITIONS[self.status]
        if status not in allowed:
            options = ", ".join(allowed) if allowed else "nothing: it is final"
            raise TicketConflictError(
                f"ticket {self.id} cannot go from {self.status} to {status}; "
                f"from {self.status}: {options}"
            )
        old, self.status, self.updated_at = self.status, status, now
        return [TicketStatusChanged(self.id, old, status, by, comment)]


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
