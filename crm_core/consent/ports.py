"""What the consent use cases need from storage: the ledger, inside a unit of work."""

from __future__ import annotations

from typing import Protocol

from crm_core.consent.model import ConsentRecord
from crm_core.kernel.uow import UnitOfWork


class ConsentLedger(Protocol):
    def customer_exists(self, customer_id: int, *, lock: bool = False) -> bool:
        """Whether the customer exists; ``lock`` serialises changes to their ledger."""
        ...

    def history(self, customer_id: int) -> list[ConsentRecord]:
        """The customer's ledger, oldest first."""
        ...

    def append(self, record: ConsentRecord) -> ConsentRecord:
        """Store a change (and its audit line); the stored record has its id."""
        ...


class ConsentUnitOfWork(UnitOfWork, Protocol):
    @property
    def consents(self) -> ConsentLedger: ...
