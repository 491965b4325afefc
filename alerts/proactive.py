"""The proactive-service rule family: a recorded fault opens its device's ticket, or joins it.

A handler on :class:`~devices.faults.model.FaultRecorded`, subscribed by
``careline.bootstrap``; it runs in ingest's batch transaction, so the fault and its ticket
commit together. The words and the priority come from :func:`alerts.rules.proactive_ticket`
(pure); the ticket's lifecycle rules are the tickets context's. A device with no customer
(in stock, unsold) gets no ticket: there is nobody to call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alerts.rules import FaultFacts, as_datetime, proactive_ticket
from crm_core.kernel.clock import Clock
from crm_core.kernel.events import Event
from crm_core.tickets.follow import TicketFaultLinks, follow_diagnosis, resolve_if_all_cleared
from crm_core.tickets.model import TicketOpened
from crm_core.tickets.ports import TicketRepository
from crm_core.tickets.service import open_or_join_proactive
from devices.catalog import Catalog
from devices.faults.model import FaultClosed, FaultOpened, FaultRecorded
from devices.owners import DeviceOwners


def window_means(event: FaultOpened) -> tuple[float | None, float | None]:
    """The latest window mean, and the mean of the normal windows before the onset.

    For a learned detector a window is normal when it scored under the threshold; for a
    hard limit (whose threshold is a value, not a score) every window before the onset is.
    """
    windows = list(event.evidence)
    if not windows:
        return None, None
    latest = float(windows[-1].mean)
    if event.detector.startswith("limit_"):
        normal = [float(w.mean) for w in windows if w.start < event.opened_at]
    else:
        normal = [float(w.mean) for w in windows if float(w.score) < event.threshold]
    baseline = sum(normal) / len(normal) if normal else None
    return latest, baseline


@dataclass(frozen=True, slots=True)
class ProactiveTickets:
    """``FaultRecorded`` -> ``TicketOpened`` / ``FaultJoinedTicket``.

    ``owners``, ``tickets`` and ``links`` build the ports on the unit of work the bus hands
    over (the PostgreSQL adapters in production, fakes in the service tests). A diagnosed
    fault that joins a live ticket lets the ticket's words follow the new diagnosis
    (:func:`crm_core.tickets.follow.follow_diagnosis`).
    """

    catalog: Catalog
    owners: Callable[[Any], DeviceOwners]
    tickets: Callable[[Any], TicketRepository]
    clock: Clock
    links: Callable[[Any], TicketFaultLinks]

    def __call__(self, event: FaultRecorded, uow: Any) -> list[Event]:
        opened = event.opened
        device = self.owners(uow).owner_of(opened.device_id)
        if device is None or device.customer_id is None:
            return []
        device_type = self.catalog.device_type(device.device_type)
        metric = device_type.metrics.get(opened.metric)
        # A fault on something other than a metric (no data at all) has no catalog entry.
        key, label, unit = (
            (metric.key, metric.label, metric.unit)
            if metric is not None
            else (opened.metric, "Telemetry", "min")
        )
        latest, baseline = window_means(opened)
        draft = proactive_ticket(
            FaultFacts(
                device_serial=device.serial,
                device_type=device.device_type,
                device_type_label=device_type.label,
                model=device.model,
                metric=key,
                metric_label=label,
                unit=unit,
                detector=opened.detector,
                score=opened.score,
                threshold=opened.threshold,
                opened_at=as_datetime(opened.opened_at),
                latest_mean=latest,
                baseline_mean=baseline,
                diagnosis=event.diagnosis,
            )
        )
        now = self.clock()
        events = open_or_join_proactive(
            self.tickets(uow),
            draft,
            customer_id=device.customer_id,
            device_id=opened.device_id,
            fault_id=event.fault_id,
            now=now,
        )
        joined = not any(isinstance(e, TicketOpened) for e in events)
        diagnosis = event.diagnosis
        if joined and diagnosis is not None and diagnosis.cause:
            summary = f"{diagnosis.label} (part: {diagnosis.part or 'none'})"
            follow_diagnosis(self.links(uow), event.fault_id, draft, summary, now)
        return events


@dataclass(frozen=True, slots=True)
class SelfResolvingTickets:
    """``FaultClosed`` -> the ticket resolved when its last fault cleared by itself
    (:func:`crm_core.tickets.follow.resolve_if_all_cleared`)."""

    links: Callable[[Any], TicketFaultLinks]
    clock: Clock

    def __call__(self, event: FaultClosed, uow: Any) -> list[Event]:
        return resolve_if_all_cleared(
            self.links(uow),
            event.fault_id,
            absorbed=event.absorbed,
            hint=event.cleared_hint,
            now=self.clock(),
        )
