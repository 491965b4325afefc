"""Devices as the API and console show them: registry data, owner, site and live status.

Status is computed, not stored: ``online`` when the last message arrived within the device
type's ``offline_after_s`` (from the catalog), ``offline`` after that, ``never`` when no
message ever arrived.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from devices.catalog import Catalog
from devices.faults.queries import FaultSummary, device_faults
from devices.readings import DEFAULT_POINTS, MetricSeries, metric_series

DeviceStatus = Literal["online", "offline", "never"]
DEFAULT_OFFLINE_AFTER_S = 600.0  # the catalog's own default for a type that names none


class DeviceSummary(ReadModel):
    id: int
    serial: str
    device_type: str
    device_type_label: str
    model: str
    firmware: str | None
    customer_id: int | None
    customer_name: str | None
    site_id: int | None
    site_label: str | None
    status: DeviceStatus
    last_seen_at: UtcDateTime | None
    """Device time of the newest reading."""
    last_received_at: UtcDateTime | None
    """Our time when the newest message arrived: what online/offline is judged by."""


class DeviceDetail(DeviceSummary):
    installed_on: date | None
    warranty_end: date | None
    site_address: str | None
    created_at: UtcDateTime
    series: list[MetricSeries]
    faults: list[FaultSummary]


class _DeviceRow(ReadModel):
    id: int
    serial: str
    device_type: str
    model: str
    firmware: str | None
    customer_id: int | None
    customer_name: str | None
    site_id: int | None
    site_label: str | None
    site_address: str | None
    installed_on: date | None
    warranty_end: date | None
    created_at: UtcDateTime
    last_seen_at: UtcDateTime | None
    last_received_at: UtcDateTime | None


_SELECT: LiteralString = """
    SELECT d.id, d.serial, d.device_type, d.model, d.firmware, d.customer_id,
           c.name AS customer_name, d.site_id, s.label AS site_label, s.address AS site_address,
           d.installed_on, d.warranty_end, d.created_at, ds.last_seen_at, ds.last_received_at
    FROM devices d
    LEFT JOIN customers c ON c.id = d.customer_id
    LEFT JOIN sites s ON s.id = d.site_id
    LEFT JOIN device_status ds ON ds.device_id = d.id
"""


def device_status(
    catalog: Catalog, device_type: str, last_received_at: datetime | None, now: datetime
) -> DeviceStatus:
    """online / offline / never, from the last receive time and the type's offline_after_s."""
    if last_received_at is None:
        return "never"
    kind = catalog.device_types.get(device_type)
    limit = kind.offline_after_s if kind is not None else DEFAULT_OFFLINE_AFTER_S
    return "online" if (now - last_received_at).total_seconds() <= limit else "offline"


def _summary(row: _DeviceRow, catalog: Catalog, now: datetime) -> DeviceSummary:
    kind = catalog.device_types.get(row.device_type)
    fields = row.model_dump(include=set(DeviceSummary.model_fields))
    return DeviceSummary(
        **fields,
        device_type_label=kind.label if kind is not None else row.device_type,
        status=device_status(catalog, row.device_type, row.last_received_at, now),
    )


def list_devices(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    now: datetime,
    *,
    customer_id: int | None = None,
    device_type: str | None = None,
    page: Page = FIRST_PAGE,
    customers: list[int] | None = None,
) -> list[DeviceSummary]:
    """Devices by serial, optionally one customer's or one type's (and in ``customers``)."""
    query = _SELECT + " WHERE (%(customer)s::bigint IS NULL OR d.customer_id = %(customer)s)"
    query += " AND (%(type)s::text IS NULL OR d.device_type = %(type)s)"
    query += " AND (%(scope)s::bigint[] IS NULL OR d.customer_id = ANY(%(scope)s))"
    query += " ORDER BY d.serial LIMIT %(limit)s OFFSET %(offset)s"
    params = {
        "customer": customer_id,
        "type": device_type,
        "scope": customers,
        "limit": page.limit,
        "offset": page.offset,
    }
    return [_summary(row, catalog, now) for row in fetch_models(conn, _DeviceRow, query, params)]


def find_device(conn: psycopg.Connection[TupleRow], serial: str) -> tuple[int, str]:
    """(id, device_type) of the device ``serial``; NotFound when there is none."""
    row = conn.execute(
        "SELECT id, device_type FROM devices WHERE serial = %s", (serial,)
    ).fetchone()
    if row is None:
        raise NotFound(f"device {serial!r} does not exist")
    return int(row[0]), str(row[1])


def get_device(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    serial: str,
    now: datetime,
    *,
    points: int = DEFAULT_POINTS,
) -> DeviceDetail:
    """One device with its last ``points`` readings per metric and its faults."""
    row = fetch_model(conn, _DeviceRow, _SELECT + " WHERE d.serial = %s", (serial,))
    if row is None:
        raise NotFound(f"device {serial!r} does not exist")
    summary = _summary(row, catalog, now)
    return DeviceDetail(
        **summary.model_dump(),
        installed_on=row.installed_on,
        warranty_end=row.warranty_end,
        site_address=row.site_address,
        created_at=row.created_at,
        series=metric_series(conn, catalog, row.id, row.device_type, limit=points),
        faults=device_faults(conn, row.id),
    )


def device_readings(
    conn: psycopg.Connection[TupleRow],
    catalog: Catalog,
    serial: str,
    *,
    metric: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_POINTS,
) -> list[MetricSeries]:
    """A device's readings per metric (one metric when given), newest ``limit`` in range."""
    device_id, device_type = find_device(conn, serial)
    metrics = None
    if metric is not None:
        kind = catalog.device_types.get(device_type)
        if kind is None or metric not in kind.metrics:
            raise NotFound(f"device {serial!r} does not measure {metric!r}")
        metrics = [metric]
    return metric_series(
        conn,
        catalog,
        device_id,
        device_type,
        metrics=metrics,
        since=since,
        until=until,
        limit=limit,
    )
