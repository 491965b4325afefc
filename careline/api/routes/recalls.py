"""``/api/v1/recalls``: review a proposed recall's scope, approve it (quality role), track
acknowledgements and returns, close it with its report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from careline.api.deps import Conn, Now, RequireAgent, RequireQuality, require_unscoped
from careline.api.errors import responses
from careline.api.scopes import PathId
from crm_core.recalls import proposal, service
from crm_core.recalls.complaints import file_complaint
from crm_core.recalls.model import Level, RecallClass
from crm_core.recalls.postgres import RecallDetail, RecallSummary, list_recalls, recall_detail
from crm_core.traceability import gs1
from crm_core.traceability.model import TraceabilityError
from crm_core.traceability.queries import find_lot, lots_of_receipt

router = APIRouter(prefix="/recalls", tags=["recalls"], dependencies=[Depends(require_unscoped)])


class LotChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    included: bool
    why: Annotated[str, Field(min_length=1, max_length=2000)]


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recall_class: RecallClass
    contact: Annotated[str, Field(min_length=3, max_length=200)] = "our customer line"


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Level
    consignee: Annotated[str, Field(min_length=1, max_length=100)]
    returned_qty: Annotated[int, Field(ge=0, le=10_000_000)] = 0


@router.get("", summary="Recalls, newest first")
def recalls_list(conn: Conn) -> list[RecallSummary]:
    return list_recalls(conn)


@router.get(
    "/{recall_id}", summary="One recall: scope, evidence, notices", responses=responses(404)
)
def recall_get(recall_id: PathId, conn: Conn) -> RecallDetail:
    return recall_detail(conn, recall_id)


@router.put(
    "/{recall_id}/lots/{lot_id}",
    summary="Put a lot in or out of a proposed recall's scope (quality role)",
    responses=responses(404, 409),
)
def recall_lot(
    recall_id: PathId, lot_id: PathId, change: LotChange, conn: Conn, now: Now, who: RequireQuality
) -> RecallDetail:
    with conn.transaction():  # committed before the answer goes out
        proposal.change_lot(conn, recall_id, lot_id, change.included, change.why, who.name, now)
    return recall_detail(conn, recall_id)


@router.post(
    "/{recall_id}/approve",
    summary="Approve the scope (quality role): notices go to stores and customers",
    responses=responses(404, 409),
)
def recall_approve(
    recall_id: PathId, body: Approval, conn: Conn, now: Now, who: RequireQuality
) -> RecallDetail:
    with conn.transaction():  # committed before the answer goes out
        service.approve(conn, recall_id, body.recall_class, who.name, now, contact=body.contact)
    return recall_detail(conn, recall_id)


@router.post(
    "/{recall_id}/acknowledgements",
    summary="A consignee confirmed the notice (and returned units)",
    responses=responses(404, 409),
)
def recall_ack(
    recall_id: PathId, body: Acknowledgement, conn: Conn, now: Now, who: RequireAgent
) -> dict[str, Any]:
    with conn.transaction():  # committed before the answer goes out
        service.acknowledge(
            conn, recall_id, body.level, body.consignee, body.returned_qty, who.name, now
        )
    return service.effectiveness_report(conn, recall_id)


@router.post(
    "/{recall_id}/close",
    summary="Close with the report (quality role)",
    responses=responses(404, 409),
)
def recall_close(recall_id: PathId, conn: Conn, now: Now, who: RequireQuality) -> dict[str, Any]:
    with conn.transaction():  # committed before the answer goes out
        return service.close(conn, recall_id, who.name, now)


complaints_router = APIRouter(tags=["recalls"], dependencies=[Depends(require_unscoped)])


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[str, Field(min_length=1, max_length=4000)]
    customer_id: Annotated[int, Field(ge=1, le=2**62)] | None = None
    receipt: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    code: Annotated[str, Field(min_length=4, max_length=200, description="(01)…(10)…")] | None = (
        None
    )


@complaints_router.post(
    "/complaints",
    summary="File a complaint about a lot (by its GS1 code or the receipt); several about one "
    "lot within 7 days open an investigation",
    responses=responses(404),
)
def complaint_file(body: ComplaintIn, conn: Conn, now: Now, who: RequireAgent) -> dict[str, Any]:
    if body.code is not None:
        parsed = gs1.parse_element_string(body.code)
        if parsed.lot is None:
            raise TraceabilityError("the code names no lot (10)")
        lot_id = find_lot(conn, parsed.gtin, parsed.lot)
    elif body.receipt is not None:
        lot_id = lots_of_receipt(conn, body.receipt)[0]
    else:
        raise TraceabilityError("give the pack's GS1 code or the receipt")
    with conn.transaction():  # committed before the answer goes out
        filed = file_complaint(
            conn,
            lot_id=lot_id,
            customer_id=body.customer_id,
            receipt=body.receipt,
            description=body.description,
            actor=who.name,
            now=now,
        )
    return {
        "complaint_id": filed.complaint_id,
        "lot_id": lot_id,
        "investigation_id": filed.investigation_id,
        "investigation_opened": filed.opened,
    }
