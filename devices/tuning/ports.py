"""What the tuning use cases need from storage: one repository inside a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from crm_core.kernel.uow import UnitOfWork
from devices.faults.ports import FaultRepository
from devices.tuning.model import Override

Scope = Literal["device", "customer"]


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    serial: str
    device_type: str
    customer_id: int | None


class TuningRepository(Protocol):
    def device(self, serial: str) -> DeviceRow | None: ...

    def device_by_id(self, device_id: int) -> DeviceRow | None: ...

    def customer_exists(self, customer_id: int) -> bool: ...

    def customer_device_types(self, customer_id: int) -> set[str]: ...

    def override(self, scope: Scope, scope_id: int, metric: str) -> Override | None:
        """The layer's override of ``metric``, locked for the rest of the transaction."""
        ...

    def put(
        self, scope: Scope, scope_id: int, metric: str, override: Override, at: datetime, by: str
    ) -> None: ...

    def device_overrides_of(
        self, customer_id: int, metric: str
    ) -> list[tuple[DeviceRow, Override]]:
        """The overrides of ``metric`` on the customer's devices."""
        ...

    def delete(self, scope: Scope, scope_id: int, metric: str) -> bool: ...

    def changed(self) -> None:
        """Tell running ingest workers that overrides changed (bump the version)."""
        ...

    def add_reset(
        self, device_id: int, metric: str | None, reason: str, actor: str, at: datetime
    ) -> int:
        """Record a baseline reset; its id is the reset's generation."""
        ...

    def open_fault_ids(self, device_id: int, metric: str | None) -> list[int]:
        """The device's open faults from detectors (not no-data) on ``metric`` (or any)."""
        ...

    def ticket_faults(self, ticket_id: int) -> list[tuple[str, str]]:
        """(metric, detector) of the faults linked to a ticket."""
        ...

    def recent_faults(self, device_id: int, since: datetime) -> list[tuple[str, str]]:
        """(metric, detector) of the device's faults opened since ``since``."""
        ...

    def audit(
        self,
        at: datetime,
        actor: str,
        entity: str,
        entity_id: str,
        action: str,
        detail: dict[str, Any],
    ) -> None: ...


class TuningUnitOfWork(UnitOfWork, Protocol):
    @property
    def tuning(self) -> TuningRepository: ...

    @property
    def faults(self) -> FaultRepository: ...
