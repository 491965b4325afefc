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
from crm_core.tickets.priority import assess

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


class TicketInputError(ValueError):
    """The request is not valid (an unknown resolution code, a window that ends before it
    starts, an inactive technician): answered 422, never retried."""


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """What a rule proposes: the words and the priority (1 critical .. 4 low).

    ``severity``, ``safety``, ``hours_to_failure`` and ``urgency_hint`` feed the
    impact x urgency assessment (:mod:`crm_core.tickets.priority`), which also weighs the
    customer's contract and replaces ``priority`` when the ticket is opened; a draft
    without a severity keeps its ``priority``.
    """

    subject: str
    description: str
    priority: int
    severity: Literal["high", "medium", "low"] | None = None
    safety: bool = False
    hours_to_failure: float | None = None
    urgency_hint: Literal["high", "medium", "low"] | None = None


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
class TicketAssigned(Event):
    ticket_id: int
    technician_id: int
    by: str


@dataclass(frozen=True, slots=True)
class TicketScheduled(Event):
    ticket_id: int
    technician_id: int
    window_start: datetime
    window_end: datetime
    by: str


@dataclass(frozen=True, slots=True)
class TicketResolved(Event):
    """A ticket resolved with a code. ``effect`` says what the detectors should do with it:
    ``repair`` (reset the learned baseline of ``device_id``'s detectors for the metrics of
    ``fault_ids``), ``no_fault`` (desensitise those detectors: it was a false alarm),
    ``none``. ``first_time_fix`` is None when no visit was scheduled."""

    ticket_id: int
    device_id: int | None
    customer_id: int
    resolution_code: str
    effect: str
    fault_ids: tuple[int, ...]
    first_time_fix: bool | None
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SlaWarning(Event):
    ticket_id: int
    customer_id: int
    metric: str
    priority: int
    due_at: datetime | None
    at: datetime


@dataclass(frozen=True, slots=True)
class SlaBreached(Event):
    ticket_id: int
    customer_id: int
    metric: str
    priority: int
    due_at: datetime | None
    at: datetime


@dataclass(frozen=True, slots=True)
class TicketEscalated(Event):
    ticket_id: int
    kind: Literal["functional", "hierarchical"]
    to: str
    reason: str
    at: datetime


HistoryAction = Literal[
    "created",
    "status",
    "comment",
    "assignment",
    "schedule",
    "resolution",
    "sla",
    "escalation",
    "notice",
    "reminder",
]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a ticket's history: who did what, when (``detail``: the facts of an
    assignment, a schedule, a resolution, an SLA alert or an escalation; also written to
    the audit log)."""

    at: datetime
    actor: str
    action: HistoryAction
    old_status: TicketStatus | None = None
    new_status: TicketStatus | None = None
    comment: str = ""
    detail: dict[str, object] | None = None


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
    impact: str | None = None
    urgency: str | None = None
    severity: str | None = None
    safety: bool = False
    hours_to_failure: float | None = None
    sla_tier: str = "none"
    technician_id: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    resolution_code: str | None = None
    first_time_fix: bool | None = None
    queue: str | None = None

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


def new_proactive(
    draft: TicketDraft, customer_id: int, device_id: int, now: datetime, tier: str = "none"
) -> Ticket:
    """The proactive ticket a rule's draft becomes, not stored yet; its priority is the
    impact x urgency assessment of the draft under the customer's contract ``tier``."""
    return new_ticket(draft, "proactive", customer_id, device_id, now, tier)


def new_ticket(
    draft: TicketDraft,
    kind: TicketKind,
    customer_id: int,
    device_id: int | None,
    now: datetime,
    tier: str = "none",
) -> Ticket:
    """A new ticket, proactive or reactive, with its assessed priority; not stored yet."""
    priority, impact, urgency = draft.priority, None, None
    if draft.severity is not None:
        a = assess(
            draft.severity,
            safety=draft.safety,
            tier=tier,
            hours_to_failure=draft.hours_to_failure,
            urgency_hint=draft.urgency_hint,
        )
        priority, impact, urgency = a.priority, a.impact, a.urgency
    return Ticket(
        kind=kind,
        status="new",
        priority=priority,
        subject=draft.subject,
        description=draft.description,
        customer_id=customer_id,
        device_id=device_id,
        created_at=now,
        updated_at=now,
        impact=impact,
        urgency=urgency,
        severity=draft.severity,
        safety=draft.safety,
        hours_to_failure=draft.hours_to_failure,
        sla_tier=tier,
    )
