"""What the ticket use cases need from storage: a repository, inside a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from crm_core.kernel.uow import UnitOfWork
from crm_core.tickets.model import HistoryEntry, Ticket


@dataclass(frozen=True, slots=True)
class TechnicianRef:
    id: int
    name: str
    active: bool
    email: str = ""


class TicketRepository(Protocol):
    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """The ticket, locked for the rest of the transaction when ``for_update``."""
        ...

    def live_proactive(self, device_id: int) -> Ticket | None:
        """The device's live proactive ticket, if it has one."""
        ...

    def live(self) -> list[Ticket]:
        """Every live ticket (not resolved, closed or cancelled)."""
        ...

    def contract_tier(self, customer_id: int, device_id: int | None, on: date) -> str:
        """The tier of the best service contract covering the device ``on``; ``none``."""
        ...

    def add(self, ticket: Ticket) -> Ticket | None:
        """Store a new ticket and set its id; None (nothing stored) when it is proactive and
        its device already has a live proactive ticket."""
        ...

    def save(self, ticket: Ticket) -> None:
        """Store a changed ticket; :class:`TicketConflictError` when reopening it would give
        its device a second live proactive ticket."""
        ...

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        """Add a line to the ticket's history (and the audit log)."""
        ...

    def history(self, ticket_id: int) -> list[HistoryEntry]:
        """The ticket's history, oldest first."""
        ...

    def link_fault(self, ticket_id: int, fault_id: int) -> bool:
        """Record that the ticket is about the fault; False if the fault already has one."""
        ...

    def fault_ids(self, ticket_id: int) -> tuple[int, ...]:
        """The faults behind the ticket."""
        ...

    def technician(self, technician_id: int) -> TechnicianRef | None:
        """A technician, if there is one with that id."""
        ...

    def raise_alert(
        self, ticket_id: int, metric: str, kind: str, at: datetime, due_at: datetime | None
    ) -> bool:
        """Record an SLA warning or breach; False when it was raised before (idempotent)."""
        ...


class TicketsUnitOfWork(UnitOfWork, Protocol):
    @property
    def tickets(self) -> TicketRepository: ...
