"""Tuning use cases: set or remove an override, and reset a device's learned baseline.

Each change lands in ``audit_log`` (who, when, old -> new) and bumps the tuning version
that running ingest workers poll (:mod:`devices.tuning.feed`), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_core.kernel.errors import NotFound
from devices.catalog import Catalog, DeviceType
from devices.errors import FaultError, TuningError
from devices.faults.no_data import TELEMETRY
from devices.faults.ports import FaultRepository
from devices.tuning.model import (
    Override,
    check_layer,
    effective,
    model_defaults,
    validate,
)
from devices.tuning.ports import DeviceRow, Scope, TuningRepository, TuningUnitOfWork


def _device(repo: TuningRepository, serial: str) -> DeviceRow:
    device = repo.device(serial)
    if device is None:
        raise NotFound(f"device {serial!r} does not exist")
    return device


def device_kind(catalog: Catalog, device: DeviceRow) -> DeviceType:
    kind = catalog.device_types.get(device.device_type)
    if kind is None:
        raise TuningError(f"device type {device.device_type!r} is not in the catalog")
    return kind


def _audit_detail(
    scope: Scope, scope_id: int, metric: str, old: Override | None, new: Override | None
) -> dict[str, Any]:
    return {
        "scope": scope,
        "scope_id": scope_id,
        "metric": metric,
        "old": None if old is None else old.values(),
        "new": None if new is None else new.values(),
        "note": "" if new is None else new.note,
    }


def put_device_override(
    repo: TuningRepository,
    catalog: Catalog,
    device: DeviceRow,
    metric: str,
    override: Override,
    by: str,
    now: datetime,
) -> None:
    """Replace the device's override in the caller's transaction, validated and audited."""
    kind = device_kind(catalog, device)
    check_layer(kind, metric, override)
    defaults = model_defaults(kind, metric)
    customer = (
        None
        if device.customer_id is None
        else repo.override("customer", device.customer_id, metric)
    )
    validate(kind, metric, effective(defaults, customer, override))
    old = repo.override("device", device.id, metric)
    repo.put("device", device.id, metric, override, now, by)
    repo.changed()
    repo.audit(
        now,
        by,
        "detector_override",
        f"device:{device.serial}:{metric}",
        "set",
        _audit_detail("device", device.id, metric, old, override),
    )


def set_device_override(
    uow: TuningUnitOfWork,
    catalog: Catalog,
    serial: str,
    metric: str,
    override: Override,
    by: str,
    now: datetime,
) -> None:
    """Replace the device's override of ``metric`` (NotFound, TuningError)."""
    if override.empty:
        raise TuningError(f"{metric}: nothing to set (to go back to the defaults, delete it)")
    with uow:
        put_device_override(
            uow.tuning, catalog, _device(uow.tuning, serial), metric, override, by, now
        )
        uow.commit()


def set_customer_override(
    uow: TuningUnitOfWork,
    catalog: Catalog,
    customer_id: int,
    metric: str,
    override: Override,
    by: str,
    now: datetime,
) -> None:
    """Replace the customer's override of ``metric``, for all their devices.

    Checked against every device type that has the metric, and against the device overrides
    of the customer's devices, so no device ends up with settings that cannot work.
    """
    if override.empty:
        raise TuningError(f"{metric}: nothing to set (to go back to the defaults, delete it)")
    kinds = [k for k in catalog.device_types.values() if _tunable(k, metric)]
    if not kinds:
        raise TuningError(f"no device type has a detector on {metric!r}")
    with uow:
        repo = uow.tuning
        if not repo.customer_exists(customer_id):
            raise NotFound(f"customer {customer_id} does not exist")
        for kind in kinds:
            check_layer(kind, metric, override)
            validate(kind, metric, effective(model_defaults(kind, metric), override, None))
        for device, layer in repo.device_overrides_of(customer_id, metric):
            kind = device_kind(catalog, device)
            try:
                validate(kind, metric, effective(model_defaults(kind, metric), override, layer))
            except TuningError as exc:
                raise TuningError(f"{exc} on device {device.serial} (its own override)") from None
        old = repo.override("customer", customer_id, metric)
        repo.put("customer", customer_id, metric, override, now, by)
        repo.changed()
        repo.audit(
            now,
            by,
            "detector_override",
            f"customer:{customer_id}:{metric}",
            "set",
            _audit_detail("customer", customer_id, metric, old, override),
        )
        uow.commit()


def _tunable(kind: DeviceType, metric: str) -> bool:
    if metric == TELEMETRY:
        return True
    spec = kind.metrics.get(metric)
    return spec is not None and (spec.detector is not None or bool(spec.limits))


def remove_override(
    uow: TuningUnitOfWork,
    catalog: Catalog,
    scope: Scope,
    key: str | int,
    metric: str,
    by: str,
    now: datetime,
) -> None:
    """Delete a device's (``key`` a serial) or a customer's (``key`` an id) override;
    NotFound when there is none, TuningError when a device's own override needs the
    customer's to stay valid (a floor above the model's ceiling, say)."""
    with uow:
        repo = uow.tuning
        if scope == "device":
            device = _device(repo, str(key))
            scope_id, name = device.id, f"device:{device.serial}:{metric}"
        else:
            scope_id, name = int(key), f"customer:{key}:{metric}"
            for device, layer in repo.device_overrides_of(scope_id, metric):
                kind = device_kind(catalog, device)
                try:
                    validate(kind, metric, effective(model_defaults(kind, metric), None, layer))
                except TuningError as exc:
                    raise TuningError(
                        f"{exc} on device {device.serial} without the customer's override: "
                        "change that device's first"
                    ) from None
        old = repo.override(scope, scope_id, metric)
        if old is None or not repo.delete(scope, scope_id, metric):
            raise NotFound(f"{scope} {key} has no override of {metric}")
        repo.changed()
        repo.audit(
            now,
            by,
            "detector_override",
            name,
            "removed",
            _audit_detail(scope, scope_id, metric, old, None),
        )
        uow.commit()


@dataclass(frozen=True, slots=True)
class ResetDone:
    reset_id: int
    device: str
    metric: str | None
    faults_cleared: list[int]


def record_reset(
    repo: TuningRepository,
    faults: FaultRepository,
    catalog: Catalog,
    device: DeviceRow,
    metric: str | None,
    reason: str,
    by: str,
    now: datetime,
) -> ResetDone:
    """Record a baseline reset in the caller's transaction: clear the open faults it
    concerns (noted) and audit it; the workers apply it (:mod:`devices.tuning.feed`)."""
    reason = reason.strip()
    if not reason:
        raise TuningError("a baseline reset needs a reason (the repair, the part)")
    if metric is not None:
        spec = device_kind(catalog, device).metrics.get(metric)
        if spec is None or spec.detector is None:
            raise TuningError(f"{metric!r} is not a metric with a detector on {device.serial}")
    reset_id = repo.add_reset(device.id, metric, reason, by, now)
    cleared: list[int] = []
    for fault_id in repo.open_fault_ids(device.id, metric):
        fault = faults.get(fault_id, for_update=True)
        if fault is None:
            continue
        try:
            fault.clear(max(now, fault.opened_at))
        except FaultError:
            continue
        faults.save(fault)
        faults.note(fault_id, now, by, "commented", f"cleared by a baseline reset: {reason}")
        cleared.append(fault_id)
    repo.audit(
        now,
        by,
        "device",
        device.serial,
        "baseline_reset",
        {"metric": metric, "reason": reason, "reset_id": reset_id, "faults_cleared": cleared},
    )
    return ResetDone(reset_id, device.serial, metric, cleared)


def reset_baseline(
    uow: TuningUnitOfWork,
    catalog: Catalog,
    serial: str,
    metric: str | None,
    reason: str,
    by: str,
    now: datetime,
) -> ResetDone:
    """Forget what the device's detectors learned (one metric, or all): the running ingest
    worker drops those monitors and warms up again; open faults on them clear, noted."""
    with uow:
        done = record_reset(
            uow.tuning, uow.faults, catalog, _device(uow.tuning, serial), metric, reason, by, now
        )
        uow.commit()
    return done
