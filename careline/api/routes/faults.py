"""``/api/v1/faults``: what the detectors found, with the evidence behind each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from careline.api.deps import Conn, Context, Now, Paging, RequireAgent, Scope
from careline.api.errors import responses
from careline.api.scopes import PathId, fault_in_scope
from crm_core.kernel.read_models import Listing
from devices.faults.postgres import PostgresFaultsUnitOfWork
from devices.faults.queries import (
    FaultDetail,
    FaultStatus,
    FaultSummary,
    get_fault,
    list_faults,
)
from devices.faults.service import acknowledge

router = APIRouter(prefix="/faults", tags=["faults"])


@router.get("", summary="List faults, newest onset first")
def faults_list(
    conn: Conn,
    page: Paging,
    scope: Scope,
    status: Annotated[
        FaultStatus | None, Query(description="open, acknowledged or cleared")
    ] = None,
    device: Annotated[str | None, Query(description="A device serial.")] = None,
) -> Listing[FaultSummary]:
    items = list_faults(
        conn, status=status, device_serial=device, page=page, customers=scope.sql_ids
    )
    return Listing.of(items, page)


@router.get(
    "/{fault_id}",
    summary="One fault with evidence and the readings 2 h either side of its onset",
    responses=responses(404),
    dependencies=[Depends(fault_in_scope)],
)
def fault_detail(fault_id: PathId, conn: Conn, context: Context) -> FaultDetail:
    return get_fault(conn, context.catalog, fault_id)


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=2000, description="What is being done.")] = ""


@router.post(
    "/{fault_id}/acknowledge",
    summary="Take a fault in hand (agent or admin); recorded in its history",
    responses=responses(404, 409),
    dependencies=[Depends(fault_in_scope)],
)
def fault_acknowledge(
    fault_id: PathId,
    body: Acknowledgement,
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> FaultDetail:
    acknowledge(PostgresFaultsUnitOfWork(conn), fault_id, principal.name, body.comment, now)
    return get_fault(conn, context.catalog, fault_id)
