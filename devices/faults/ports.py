"""What the fault use cases need from storage."""

from __future__ import annotations

from typing import Protocol

from devices.faults.model import Fault


class FaultRepository(Protocol):
    def add(self, fault: Fault) -> Fault | None:
        """Store a new fault and set its id; None when this onset is stored already, or the
        same detector has an open fault on the device's metric (a redelivery, or another
        worker)."""
        ...

    def open_fault(self, device_id: int, metric: str, detector: str) -> Fault | None:
        """The open fault a detector reported on (device, metric), if there is one."""
        ...

    def save(self, fault: Fault) -> None:
        """Store a fault's changed status and clearing time."""
        ...
