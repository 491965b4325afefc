"""Hand-written fakes of our ports: in-memory, with the same rules as the PostgreSQL adapters
(the contract suite in tests/integration/test_repository_contracts.py runs against both)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from types import TracebackType
from typing import Self

from crm_core.kernel.events import Event
from crm_core.tickets.model import (
    HistoryEntry,
    Ticket,
    TicketConflictError,
    TicketDraft,
    TicketResolved,
)
from crm_core.tickets.ports import TechnicianRef
from devices.faults.findings import Diagnosis
from devices.faults.model import Fault
from devices.owners import OwnedDevice


class FakeTicketRepository:
    def __init__(self) -> None:
        self.rows: dict[int, Ticket] = {}
        self.fault_ticket: dict[int, int] = {}
        self.lines: list[tuple[int, HistoryEntry]] = []
        self.tiers: dict[int, str] = {}  # customer id -> contract tier
        self.technicians: dict[int, TechnicianRef] = {}
        self.alerts: set[tuple[int, str, str]] = set()

    def live(self) -> list[Ticket]:
        return [copy.copy(t) for _, t in sorted(self.rows.items()) if t.is_live]

    def contract_tier(self, customer_id: int, device_id: int | None, on: date) -> str:
        return self.tiers.get(customer_id, "none")

    def history(self, ticket_id: int) -> list[HistoryEntry]:
        return [h for t, h in self.lines if t == ticket_id]

    def fault_ids(self, ticket_id: int) -> tuple[int, ...]:
        return tuple(sorted(f for f, t in self.fault_ticket.items() if t == ticket_id))

    def technician(self, technician_id: int) -> TechnicianRef | None:
        return self.technicians.get(technician_id)

    def raise_alert(
        self, ticket_id: int, metric: str, kind: str, at: datetime, due_at: datetime | None
    ) -> bool:
        key = (ticket_id, metric, kind)
        if key in self.alerts:
            return False
        self.alerts.add(key)
        return True

    def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        row = self.rows.get(ticket_id)
        return None if row is None else copy.copy(row)

    def live_proactive(self, device_id: int) -> Ticket | None:
        for row in self.rows.values():
            if row.device_id == device_id and row.kind == "proactive" and row.is_live:
                return copy.copy(row)
        return None

    def add(self, ticket: Ticket) -> Ticket | None:
        device = ticket.device_id
        if ticket.kind == "proactive" and device is not None and self.live_proactive(device):
            return None
        ticket.id = len(self.rows) + 1
        self.rows[ticket.id] = copy.copy(ticket)
        return ticket

    def save(self, ticket: Ticket) -> None:
        assert ticket.id is not None
        if ticket.kind == "proactive" and ticket.is_live and ticket.device_id is not None:
            live = self.live_proactive(ticket.device_id)
            if live is not None and live.id != ticket.id:
                raise TicketConflictError(f"ticket {ticket.id} cannot be reopened")
        self.rows[ticket.id] = copy.copy(ticket)

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        self.lines.append((ticket_id, change))

    def link_fault(self, ticket_id: int, fault_id: int) -> bool:
        if fault_id in self.fault_ticket:
            return False
        self.fault_ticket[fault_id] = ticket_id
        return True


class FakeUnitOfWork:
    """Rolls its repository back to a deep copy unless ``commit()`` was called."""

    committed = 0

    def _repository(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._saved = copy.deepcopy(vars(self._repository()))
        self._pending = False
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None and self._pending:
            self.committed += 1
        else:
            vars(self._repository()).update(self._saved)

    def commit(self) -> None:
        self._pending = True


class FakeTicketsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        self.tickets = FakeTicketRepository()

    def _repository(self) -> object:
        return self.tickets


class FakeFaultRepository:
    def __init__(self) -> None:
        self.rows: dict[int, Fault] = {}
        self.notes: list[tuple[int, datetime, str, str, str]] = []

    def add(self, fault: Fault) -> Fault | None:
        for row in self.rows.values():
            same = (row.device_id, row.metric, row.detector) == (
                fault.device_id,
                fault.metric,
                fault.detector,
            )
            same_onset = same and row.opened_at == fault.opened_at
            open_already = same
            if same_onset or (open_already and row.is_open):
                return None
        fault.id = len(self.rows) + 1
        self.rows[fault.id] = copy.copy(fault)
        return fault

    def open_fault(self, device_id: int, metric: str, detector: str) -> Fault | None:
        for row in self.rows.values():
            if (row.device_id, row.metric, row.detector) == (device_id, metric, detector) and (
                row.is_open
            ):
                return copy.copy(row)
        return None

    def get(self, fault_id: int, *, for_update: bool = False) -> Fault | None:
        row = self.rows.get(fault_id)
        return None if row is None else copy.copy(row)

    def live(self, device_id: int) -> list[Fault]:
        rows = [r for r in self.rows.values() if r.device_id == device_id and r.is_open]
        return [copy.copy(r) for r in sorted(rows, key=lambda r: (r.opened_at, r.id or 0))]

    def set_diagnosis(self, fault_id: int, diagnosis: Diagnosis) -> None:
        self.rows[fault_id].diagnosis = diagnosis

    def save(self, fault: Fault) -> None:
        assert fault.id is not None
        self.rows[fault.id] = copy.copy(fault)

    def note(self, fault_id: int, at: datetime, author: str, action: str, comment: str) -> None:
        self.notes.append((fault_id, at, author, action, comment))


class FakeFaultsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        self.faults = FakeFaultRepository()

    def _repository(self) -> object:
        return self.faults


class FakeTicketFaultLinks:
    """crm_core.tickets.follow's port over the two fakes above."""

    def __init__(self, tickets: FakeTicketRepository, faults: FakeFaultRepository) -> None:
        self.tickets = tickets
        self.faults = faults

    def ticket_of_fault(self, fault_id: int) -> Ticket | None:
        ticket_id = self.tickets.fault_ticket.get(fault_id)
        return None if ticket_id is None else self.tickets.get(ticket_id, for_update=True)

    def live_faults(self, ticket_id: int) -> int:
        return sum(
            1
            for fault_id, owner in self.tickets.fault_ticket.items()
            if owner == ticket_id and self.faults.rows[fault_id].is_open
        )

    def redraft(self, ticket: Ticket, draft: TicketDraft, now: datetime) -> None:
        assert ticket.id is not None
        ticket.subject, ticket.description, ticket.updated_at = (
            draft.subject,
            draft.description,
            now,
        )
        self.tickets.rows[ticket.id] = copy.copy(ticket)

    def record(self, ticket_id: int, change: HistoryEntry) -> None:
        self.tickets.record(ticket_id, change)

    def resolve(self, ticket: Ticket, now: datetime, by: str, comment: str) -> list[Event]:
        assert ticket.id is not None
        old = ticket.status
        events = ticket.change_status("resolved", now, by, comment)
        if events:
            ticket.resolution_code = "fault_cleared"
            self.tickets.save(ticket)
            self.tickets.record(
                ticket.id, HistoryEntry(now, by, "resolution", old, "resolved", comment)
            )
            faults = self.tickets.fault_ids(ticket.id)
            events.append(
                TicketResolved(
                    ticket.id,
                    ticket.device_id,
                    ticket.customer_id,
                    "fault_cleared",
                    "none",
                    faults,
                    None,
                    by,
                    now,
                )
            )
        return events


class FakeDeviceOwners:
    def __init__(self, devices: dict[int, OwnedDevice]) -> None:
        self.devices = devices

    def owner_of(self, device_id: int) -> OwnedDevice | None:
        return self.devices.get(device_id)
