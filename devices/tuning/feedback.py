"""What a resolved ticket's code does to its device's detectors.

A repair or a replaced part resets the learned baseline; "no fault found" makes each of
the ticket's faults' detectors a bounded step less sensitive on that device
(:func:`devices.tuning.model.desensitised`), so the same false alarm does not come back.
``careline.bootstrap.ticket_resolution_feedback`` subscribes it to the resolved-ticket event.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Final

from crm_core.tickets.policies import load_service_levels
from devices.catalog import Catalog
from devices.errors import TuningError
from devices.faults.ports import FaultRepository
from devices.tuning.model import Override, desensitised, effective, model_defaults
from devices.tuning.ports import DeviceRow, TuningRepository
from devices.tuning.service import device_kind, put_device_override, record_reset

RESETTING_CODES: Final = frozenset(
    {"replaced"}
    | {c.code for c in load_service_levels().resolution_codes.values() if c.effect == "repair"}
)
"""Resolution codes that mean the device's hardware changed: its learned baseline resets
(the codes whose effect is ``repair`` in crm_core/tickets/service_levels.toml)."""
NO_FAULT_FOUND: Final = "no_fault_found"
"""The resolution code that desensitises the faults' detectors a bounded step."""
NFF_LOOKBACK: Final = timedelta(days=7)
"""Without a ticket to name the faults, the device's faults opened this recently count."""


def handle_ticket_resolved(
    repo: TuningRepository,
    faults: FaultRepository,
    catalog: Catalog,
    device_id: int,
    resolution_code: str,
    actor: str,
    now: datetime,
    *,
    ticket_id: int | None = None,
) -> list[str]:
    """What a ticket resolved with ``resolution_code`` does to the device's detectors, in the
    caller's transaction (an event handler). Returns what it did, for the log.

    * :data:`RESETTING_CODES` (a repair, a replaced part): the learned baseline of every
      metric resets (:func:`devices.tuning.service.reset_baseline`);
    * :data:`NO_FAULT_FOUND`: each fault of the ticket (without a ticket id: the device's
      faults of the last :data:`NFF_LOOKBACK`) makes its detector a bounded step less
      sensitive on this device (:func:`devices.tuning.model.desensitised`), recorded as a
      device override noted "no fault found on ticket N";
    * other codes change nothing.
    """
    device = repo.device_by_id(device_id)
    if device is None:
        return []
    where = f"ticket {ticket_id}" if ticket_id is not None else "a resolved ticket"
    if resolution_code in RESETTING_CODES:
        done = record_reset(
            repo, faults, catalog, device, None, f"{where}: {resolution_code}", actor, now
        )
        return [f"baseline of {device.serial} reset (reset {done.reset_id})"]
    if resolution_code != NO_FAULT_FOUND:
        return []
    found = (
        repo.ticket_faults(ticket_id)
        if ticket_id is not None
        else repo.recent_faults(device_id, now - NFF_LOOKBACK)
    )
    return [
        line
        for metric, detector in found
        if (line := _desensitise(repo, catalog, device, metric, detector, where, actor, now))
    ]


def _desensitise(
    repo: TuningRepository,
    catalog: Catalog,
    device: DeviceRow,
    metric: str,
    detector: str,
    where: str,
    actor: str,
    now: datetime,
) -> str:
    kind = device_kind(catalog, device)
    try:
        defaults = model_defaults(kind, metric)
    except TuningError:  # a metric no override can tune (a multi-metric detector's name)
        return ""
    customer = (
        None
        if device.customer_id is None
        else repo.override("customer", device.customer_id, metric)
    )
    current = repo.override("device", device.id, metric)
    step = desensitised(detector, metric, defaults, effective(defaults, customer, current))
    if step is None:
        repo.audit(
            now,
            actor,
            "detector_override",
            f"device:{device.serial}:{metric}",
            "no_fault_found_at_cap",
            {"detector": detector, "where": where},
        )
        return f"{device.serial} {metric} {detector}: no fault found, already at its cap"
    layer = current if current is not None else Override()
    [(name, value)] = step.items()
    new = dataclasses.replace(layer, note=f"no fault found on {where}", **{name: value})  # type: ignore[arg-type]
    put_device_override(repo, catalog, device, metric, new, actor, now)
    return f"{device.serial} {metric} {detector}: {step} after no fault found"
