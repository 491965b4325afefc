"""``/api/v1/devices``: the registry with live status, and readings per metric."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from careline.api.deps import MAX_BIGINT, Conn, Context, Now, Paging, Scope
from careline.api.errors import responses
from careline.api.scopes import device_in_scope
from crm_core.kernel.read_models import Listing
from devices.queries import (
    DeviceDetail,
    DeviceSummary,
    device_readings,
    get_device,
    list_devices,
)
from devices.readings import DEFAULT_POINTS, MAX_POINTS, MetricSeries

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
