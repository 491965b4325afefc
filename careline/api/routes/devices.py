"""``/api/v1/devices``: the registry with live status, readings per metric, and registering
and editing devices (agents and admins; ingest accepts a new device at once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from careline.api.deps import (
    MAX_BIGINT,
    Conn,
    Context,
    Now,
    Paging,
    RequireAgent,
    Scope,
    require_unscoped,
)
from careline.api.errors import responses
from careline.api.scopes import device_in_scope
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Listing
from devices.queries import (
    DeviceDetail,
    DeviceSummary,
    device_readings,
    get_device,
    list_devices,
)
from devices.readings import DEFAULT_POINTS, MAX_POINTS, MetricSeries
from devices.records import DeviceFields, DevicePatch, device_id_of, save_device, update_device

router = APIRouter(prefix="/devices", tags=["devices"])

Points = Annotated[
    int, Query(ge=1, le=MAX_POINTS, description="Most readings per metric (the newest).")
]


@router.get("", summary="List devices with their online/offline status")
def devices_list(
    *,
    conn: Conn,
    context: Context,
    now: Now,
    page: Paging,
    scope: Scope,
    customer_id: Annotated[
        int | None, Query(ge=1, le=MAX_BIGINT, description="Only this customer's.")
    ] = None,
    device_type: Annotated[str | None, Query(description="Only this type's.")] = None,
) -> Listing[DeviceSummary]:
    items = list_devices(
        conn,
        context.catalog,
        now,
        customer_id=customer_id,
        device_type=device_type,
        page=page,
        customers=scope.sql_ids,
    )
    return Listing.of(items, page)


@router.get(
    "/{serial}",
    summary="One device with recent readings and faults",
    responses=responses(404),
    dependencies=[Depends(device_in_scope)],
)
def device_detail(
    serial: str, conn: Conn, context: Context, now: Now, points: Points = DEFAULT_POINTS
) -> DeviceDetail:
    return get_device(conn, context.catalog, serial, now, points=points)


@router.get(
    "/{serial}/readings",
    summary="A device's readings per metric, newest `limit` in [since, until]",
    responses=responses(404),
    dependencies=[Depends(device_in_scope)],
)
def device_readings_list(
    serial: str,
    *,
    conn: Conn,
    context: Context,
    metric: Annotated[str | None, Query(description="One metric key; all when absent.")] = None,
    since: Annotated[AwareDatetime | None, Query(description="From (inclusive).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Until (inclusive).")] = None,
    limit: Points = DEFAULT_POINTS,
) -> list[MetricSeries]:
    return device_readings(
        conn, context.catalog, serial, metric=metric, since=since, until=until, limit=limit
    )


@router.post(
    "",
    status_code=201,
    summary="Register a device (agent or admin); its messages are accepted from then on",
    responses=responses(422),
    dependencies=[Depends(require_unscoped)],
)
def device_create(
    body: DeviceFields, conn: Conn, context: Context, now: Now, principal: RequireAgent
) -> DeviceDetail:
    save_device(conn, None, body, context.catalog, actor=principal.name, now=now)
    return get_device(conn, context.catalog, body.serial, now, points=1)


@router.patch(
    "/{serial}",
    summary="Change a device's model, firmware, owner, site or dates (agent or admin)",
    responses=responses(404, 422),
    dependencies=[Depends(device_in_scope), Depends(require_unscoped)],
)
def device_update(
    serial: str,
    body: DevicePatch,
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> DeviceDetail:
    device_id = device_id_of(conn, serial)
    if device_id is None:
        raise NotFound(f"device {serial!r} does not exist")
    update_device(conn, device_id, body, context.catalog, actor=principal.name, now=now)
    return get_device(conn, context.catalog, serial, now, points=1)
