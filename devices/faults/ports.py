"""What the fault use cases need from storage."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from crm_core.kernel.uow import UnitOfWork
from devices.faults.findings import Diagnosis
from devices.faults.model import Fault


class FaultRepository(Protocol):
    def add(self, fault: Fault) -> Fault | None:
        """Store a new fault and set its id; None when this onset is stored already, or the
        same detector has an open fault on the device's metric (a redelivery, or another
        worker)."""
        ...

    def get(self, fault_id: int, *, for_update: bool = False) -> Fault | None:
        """The fault, locked for the rest of the transaction when ``for_update``."""
        ...

    def note(self, fault_id: int, at: datetime, author: str, action: str, comment: str) -> None:
        """Add a line to the fault's history."""
        ...

    def open_fault(self, device_id: int, metric: str, detector: str) -> Fault | None:
        """The live fault a detector reported on (device, metric), if there is one, locked
        for the rest of the transaction (an acknowledgement may be under way)."""
        ...

    def live(self, device_id: int) -> list[Fault]:
        """The device's live faults (open or acknowledged), oldest first."""
        ...

    def set_diagnosis(self, fault_id: int, diagnosis: Diagnosis) -> None:
        """Store what the diagnosis found on the fault."""
        ...

    def save(self, fault: Fault) -> None:
        """Store a fault's changed status, acknowledgement and clearing time."""
        ...


class FaultsUnitOfWork(UnitOfWork, Protocol):
    @property
    def faults(self) -> FaultRepository: ...
