"""``/api/v1/devices/{serial}/thresholds`` and ``/api/v1/customers/{id}/thresholds``:
detector settings per device and per customer over the model's defaults, and
``/api/v1/devices/{serial}/baseline-reset``.

Reading needs the viewer role, changing the agent role; every change is in ``audit_log``
and is in force in the running ingest workers within ``CARELINE_INGEST__TUNING_POLL_S``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from careline.api.deps import Conn, Context, Now, RequireAgent
from careline.api.errors import responses
from careline.api.scopes import PathId, customer_in_scope, device_in_scope
from devices.tuning.model import Override
from devices.tuning.postgres import PostgresTuningUnitOfWork
from devices.tuning.queries import (
    CustomerThresholds,
    DeviceThresholds,
    customer_thresholds,
    device_thresholds,
)
from devices.tuning.service import (
    remove_override,
    reset_baseline,
    set_customer_override,
    set_device_override,
)

# Scopes: a caller limited to some customers reaches only their devices and customers (404).
router = APIRouter(tags=["thresholds"])

Finite = Annotated[float | None, Field(allow_inf_nan=False)]
Duration = Annotated[float | None, Field(ge=0, allow_inf_nan=False, description="Seconds.")]
Metric = Annotated[
    str,
    Path(
        max_length=64,
        description="A metric with a detector (cabinet_temp, ...), or telemetry for the "
        "no-data interval.",
    ),
]


class OverrideBody(BaseModel):
    """A layer's settings for one metric; an omitted (or null) setting inherits."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = Field(None, description="False turns the metric's detection off.")
    threshold: Annotated[
        float | None,
        Field(gt=0, le=100, allow_inf_nan=False, description="Standard scores that flag."),
    ] = None
    limit_high: Finite = None
    limit_high_for_s: Duration = None
    limit_low: Finite = None
    limit_low_for_s: Duration = None
    no_data_after_s: Annotated[
        float | None,
        Field(gt=0, allow_inf_nan=False, description="telemetry only: silence that faults."),
    ] = None

    def override(self) -> Override:
        return Override(**self.model_dump())


class ResetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str,
        Field(min_length=1, max_length=2000, description="The repair or part: for the record."),
    ]
    metric: Annotated[
        str | None, Field(max_length=64, description="One metric; omitted: every metric.")
    ] = None


class ResetAnswer(BaseModel):
    reset_id: int
    device: str
    metric: str | None
    faults_cleared: list[int]


@router.get(
    "/devices/{serial}/thresholds",
    dependencies=[Depends(device_in_scope)],
    summary="A device's detector settings in force, each with where it comes from",
    responses=responses(404),
)
def device_thresholds_get(serial: str, conn: Conn, context: Context) -> DeviceThresholds:
    return device_thresholds(conn, context.catalog, serial)


@router.put(
    "/devices/{serial}/thresholds/{metric}",
    dependencies=[Depends(device_in_scope)],
    summary="Set the device's override of a metric (agent); replaces the previous one",
    responses=responses(404, 422),
)
def device_thresholds_put(
    serial: str,
    metric: Metric,
    body: OverrideBody,
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> DeviceThresholds:
    uow = PostgresTuningUnitOfWork(conn)
    set_device_override(uow, context.catalog, serial, metric, body.override(), principal.name, now)
    return device_thresholds(conn, context.catalog, serial)


@router.delete(
    "/devices/{serial}/thresholds/{metric}",
    dependencies=[Depends(device_in_scope)],
    summary="Remove the device's override of a metric (agent): back to customer or model",
    responses=responses(404),
)
def device_thresholds_delete(
    serial: str, metric: Metric, conn: Conn, context: Context, now: Now, principal: RequireAgent
) -> DeviceThresholds:
    remove_override(
        PostgresTuningUnitOfWork(conn),
        context.catalog,
        "device",
        serial,
        metric,
        principal.name,
        now,
    )
    return device_thresholds(conn, context.catalog, serial)


@router.post(
    "/devices/{serial}/baseline-reset",
    dependencies=[Depends(device_in_scope)],
    summary="Reset what the device's detectors learned (agent): after a repair",
    responses=responses(404, 422),
)
def device_baseline_reset(
    serial: str, body: ResetBody, conn: Conn, context: Context, now: Now, principal: RequireAgent
) -> ResetAnswer:
    done = reset_baseline(
        PostgresTuningUnitOfWork(conn),
        context.catalog,
        serial,
        body.metric,
        body.reason,
        principal.name,
        now,
    )
    return ResetAnswer(
        reset_id=done.reset_id,
        device=done.device,
        metric=done.metric,
        faults_cleared=done.faults_cleared,
    )


@router.get(
    "/customers/{customer_id}/thresholds",
    dependencies=[Depends(customer_in_scope)],
    summary="A customer's overrides, which apply to all their devices",
    responses=responses(404),
)
def customer_thresholds_get(
    customer_id: PathId, conn: Conn, context: Context
) -> CustomerThresholds:
    return customer_thresholds(conn, context.catalog, customer_id)


@router.put(
    "/customers/{customer_id}/thresholds/{metric}",
    dependencies=[Depends(customer_in_scope)],
    summary="Set the customer's override of a metric for all their devices (agent)",
    responses=responses(404, 422),
)
def customer_thresholds_put(
    customer_id: PathId,
    metric: Metric,
    body: OverrideBody,
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> CustomerThresholds:
    uow = PostgresTuningUnitOfWork(conn)
    set_customer_override(
        uow, context.catalog, customer_id, metric, body.override(), principal.name, now
    )
    return customer_thresholds(conn, context.catalog, customer_id)


@router.delete(
    "/customers/{customer_id}/thresholds/{metric}",
    dependencies=[Depends(customer_in_scope)],
    summary="Remove the customer's override of a metric (agent)",
    responses=responses(404),
)
def customer_thresholds_delete(
    customer_id: PathId,
    metric: Metric,
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> CustomerThresholds:
    uow = PostgresTuningUnitOfWork(conn)
    remove_override(uow, context.catalog, "customer", customer_id, metric, principal.name, now)
    return customer_thresholds(conn, context.catalog, customer_id)
