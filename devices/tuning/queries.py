"""Thresholds as the API and console show them: each setting in force and where it came from.

A device's page lists every metric it has a detector on, plus ``telemetry`` (the no-data
interval), with the effective value of each setting and its source (``model``,
``customer`` or ``device``, and the note of an automatic change such as "no fault found on
ticket 12"); the overrides of each layer as stored; and the device's recent baseline
resets. A customer's page lists that customer's overrides.
"""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import ReadModel, UtcDateTime
from devices.catalog import Catalog, DeviceType
from devices.faults.no_data import TELEMETRY
from devices.tuning.model import SETTINGS, Override, SettingValue, effective, model_defaults
from devices.tuning.postgres import OVERRIDE_COLUMNS, override_from_row

RECENT_RESETS = 10


class SettingView(ReadModel):
    value: float | bool | None
    source: Literal["model", "customer", "device"]
    note: str = ""


class MetricThresholds(ReadModel):
    metric: str
    label: str
    unit: str
    effective: dict[str, SettingView]
    """Every setting of the metric, with its value in force and where it comes from."""
    customer_override: dict[str, SettingValue] | None
    device_override: dict[str, SettingValue] | None
    device_note: str = ""


class ResetView(ReadModel):
    id: int
    metric: str | None
    reason: str
    actor: str
    at: UtcDateTime


class DeviceThresholds(ReadModel):
    serial: str
    device_type: str
    device_type_label: str
    customer_id: int | None
    customer_name: str | None
    metrics: list[MetricThresholds]
    resets: list[ResetView]


class CustomerOverride(ReadModel):
    metric: str
    settings: dict[str, SettingValue]
    note: str
    updated_at: UtcDateTime
    updated_by: str


class CustomerThresholds(ReadModel):
    customer_id: int
    customer_name: str
    metrics: list[str]
    """Metrics an override may name: those with a detector on any device type, and
    telemetry."""
    overrides: list[CustomerOverride]


def tunable_metrics(kind: DeviceType) -> list[tuple[str, str, str]]:
    """(key, label, unit) of the metrics of ``kind`` with a detector, then telemetry."""
    found = [
        (m.key, m.label, m.unit)
        for m in kind.metrics.values()
        if m.detector is not None or m.limits
    ]
    return [*found, (TELEMETRY, "No data (reporting)", "s")]


def _overrides(
    conn: psycopg.Connection[TupleRow], scope: str, scope_id: int | None
) -> dict[str, Override]:
    if scope_id is None:
        return {}
    rows = conn.execute(
        f"SELECT metric, {OVERRIDE_COLUMNS} FROM detector_overrides "
        "WHERE scope = %s AND scope_id = %s",
        (scope, scope_id),
    ).fetchall()
    return {str(r[0]): override_from_row(r[1:]) for r in rows}


def device_thresholds(
    conn: psycopg.Connection[TupleRow], catalog: Catalog, serial: str
) -> DeviceThresholds:
    row = conn.execute(
        "SELECT d.id, d.device_type, d.customer_id, c.name FROM devices d "
        "LEFT JOIN customers c ON c.id = d.customer_id WHERE d.serial = %s",
        (serial,),
    ).fetchone()
    if row is None:
        raise NotFound(f"device {serial!r} does not exist")
    device_id, device_type, customer_id, customer_name = row
    kind = catalog.device_type(str(device_type))
    mine = _overrides(conn, "device", int(device_id))
    theirs = _overrides(conn, "customer", customer_id)
    metrics = []
    for key, label, unit in tunable_metrics(kind):
        device, customer = mine.get(key), theirs.get(key)
        settings = effective(model_defaults(kind, key), customer, device)
        metrics.append(
            MetricThresholds(
                metric=key,
                label=label,
                unit=unit,
                effective={
                    name: SettingView(value=e.value, source=e.source, note=e.note)
                    for name, e in settings.items()
                },
                customer_override=None if customer is None else customer.values(),
                device_override=None if device is None else device.values(),
                device_note="" if device is None else device.note,
            )
        )
    resets = conn.execute(
        "SELECT id, metric, reason, actor, at FROM baseline_resets WHERE device_id = %s "
        "ORDER BY id DESC LIMIT %s",
        (device_id, RECENT_RESETS),
    ).fetchall()
    return DeviceThresholds(
        serial=serial,
        device_type=kind.key,
        device_type_label=kind.label,
        customer_id=customer_id,
        customer_name=customer_name,
        metrics=metrics,
        resets=[ResetView(id=r[0], metric=r[1], reason=r[2], actor=r[3], at=r[4]) for r in resets],
    )


def customer_thresholds(
    conn: psycopg.Connection[TupleRow], catalog: Catalog, customer_id: int
) -> CustomerThresholds:
    row = conn.execute("SELECT name FROM customers WHERE id = %s", (customer_id,)).fetchone()
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist")
    rows = conn.execute(
        f"SELECT metric, {OVERRIDE_COLUMNS}, updated_at, updated_by FROM detector_overrides "
        "WHERE scope = 'customer' AND scope_id = %s ORDER BY metric",
        (customer_id,),
    ).fetchall()
    n = len(SETTINGS) + 1
    metrics = sorted(
        {key for kind in catalog.device_types.values() for key, _, _ in tunable_metrics(kind)}
    )
    return CustomerThresholds(
        customer_id=customer_id,
        customer_name=str(row[0]),
        metrics=metrics,
        overrides=[
            CustomerOverride(
                metric=str(r[0]),
                settings=override_from_row(r[1 : n + 1]).values(),
                note=str(r[n]),
                updated_at=r[n + 1],
                updated_by=str(r[n + 2]),
            )
            for r in rows
        ],
    )
