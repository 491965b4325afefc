"""What the ticket use cases need from storage: a repository, inside a unit of work."""

from __future__ import annotations

from typing import Protocol

from crm_core.kernel.uow import UnitOfWork
from crm_core.tickets.model import HistoryEntry, Ticket


class TicketRepository(Protocol):
    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """The ticket, locked for the rest of the transaction when ``for_update``."""
        ...

    def live_proactive(self, device_id: int) -> Ticket | None:
        """The device's live proactive ticket, if it has one."""
        ...

    def add(self, ticket: Ticket) -> Ticket | None:
        """Store a new ticket and set its id; None (nothing stored) when it is proactive and
        its device already has a live proactive ticket."""
        ...

    def save(self, ticket: Ticket) -> None:
        """Store a changed status; :class:`TicketConflictError` when reopening it would give
        its device a second live proactive ticket."""
        ...

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        """Add a line to the ticket's history."""
        ...

    def link_fault(self, ticket_id: int, fault_id: int) -> bool:
        """Record that the ticket is about the fault; False if the fault already has one."""
        ...


class TicketsUnitOfWork(UnitOfWork, Protocol):
    @property
    def tickets(self) -> TicketRepository: ...
