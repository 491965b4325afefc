"""``/api/v1/devices/{serial}/thresholds`` and ``/api/v1/customers/{id}/thresholds``:
detector settings per device and per customer over the model's defaults, and
``/api/v1/devices/{serial}/baseline-reset``.

Reading needs the viewer role, changing the agent role; every change is in ``audit_log``
and is in force in the running ingest workers within ``CARELINE_INGEST__TUNING_POLL_S``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from careline.api.deps import Conn, Context, Now, RequireAgent
from careline.api.errors import responses
from careline.api.scopes import customer_in_scope, device_in_scope
from devices.catalog import Catalog
from devices.tuning.model import Override
from devices.tuning.ports import Scope
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


Thresholds = DeviceThresholds | CustomerThresholds


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose overrides a route reads and sets: a device's (keyed by serial) or a customer's
    (keyed by id). One set of routes (GET, PUT, DELETE) serves both; the path parameter is
    declared, validated and scope-checked by ``in_scope``."""

    kind: Scope
    path: str
    param: str
    key: Callable[[str], str | int]
    in_scope: Callable[..., None]
    read: Callable[[Conn, Catalog, Any], Thresholds]
    put: Callable[[PostgresTuningUnitOfWork, Catalog, Any, str, Override, str, datetime], None]
    model: type[Thresholds]
    summaries: tuple[str, str, str]  # GET, PUT, DELETE


DEVICE = Owner(
    "device",
    "/devices/{serial}/thresholds",
    "serial",
    str,
    device_in_scope,
    device_thresholds,
    set_device_override,
    DeviceThresholds,
    (
        "A device's detector settings in force, each with where it comes from",
        "Set the device's override of a metric (agent); replaces the previous one",
        "Remove the device's override of a metric (agent): back to customer or model",
    ),
)
CUSTOMER = Owner(
    "customer",
    "/customers/{customer_id}/thresholds",
    "customer_id",
    int,
    customer_in_scope,
    customer_thresholds,
    set_customer_override,
    CustomerThresholds,
    (
        "A customer's overrides, which apply to all their devices",
        "Set the customer's override of a metric for all their devices (agent)",
        "Remove the customer's override of a metric (agent)",
    ),
)


def _routes(owner: Owner) -> None:
    def get(request: Request, conn: Conn, context: Context) -> Thresholds:
        return owner.read(conn, context.catalog, owner.key(request.path_params[owner.param]))

    def put(
        request: Request,
        metric: Metric,
        body: OverrideBody,
        conn: Conn,
        context: Context,
        now: Now,
        principal: RequireAgent,
    ) -> Thresholds:
        key = owner.key(request.path_params[owner.param])
        uow = PostgresTuningUnitOfWork(conn)
        owner.put(uow, context.catalog, key, metric, body.override(), principal.name, now)
        return owner.read(conn, context.catalog, key)

    def delete(
        request: Request,
        metric: Metric,
        conn: Conn,
        context: Context,
        now: Now,
        principal: RequireAgent,
    ) -> Thresholds:
        key = owner.key(request.path_params[owner.param])
        uow = PostgresTuningUnitOfWork(conn)
        remove_override(uow, context.catalog, owner.kind, key, metric, principal.name, now)
        return owner.read(conn, context.catalog, key)

    scoped = [Depends(owner.in_scope)]
    for path, endpoint, method, summary, codes in (
        (owner.path, get, "GET", owner.summaries[0], (404,)),
        (f"{owner.path}/{{metric}}", put, "PUT", owner.summaries[1], (404, 422)),
        (f"{owner.path}/{{metric}}", delete, "DELETE", owner.summaries[2], (404,)),
    ):
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=scoped,
            summary=summary,
            responses=responses(*codes),
            response_model=owner.model,
            name=f"{owner.kind}_thresholds_{method.lower()}",
        )


_routes(DEVICE)
_routes(CUSTOMER)


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
