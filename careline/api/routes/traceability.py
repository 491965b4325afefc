"""``/api/v1/supply-chain`` and ``/api/v1/trace``: import the chain, trace it both ways.

Traces name customers across the whole network, so they are for callers not limited to
some customers (:data:`RequireUnscoped`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from careline.api.deps import MAX_BIGINT, Conn, Context, Now, RequireAgent, require_unscoped
from careline.api.errors import responses
from careline.api.scopes import PathId
from careline.reports.shipment_pdf import shipment_pdf
from crm_core.traceability import gs1
from crm_core.traceability.epcis.service import export_epcis, import_epcis
from crm_core.traceability.fsma import fsma_csv
from crm_core.traceability.model import ImportResult, Network, TraceabilityError
from crm_core.traceability.postgres import import_network
from crm_core.traceability.queries import (
    BackwardTrace,
    ForwardTrace,
    backward_from_lot,
    find_lot,
    forward_from_lots,
    forward_from_shipment,
    lots_of_leg,
    lots_of_receipt,
)
from devices.coldchain.online import TEMPERATURE

router = APIRouter(tags=["traceability"], dependencies=[Depends(require_unscoped)])


@router.post(
    "/supply-chain/import",
    summary="Import products, sites, lots, shipments, deliveries and purchases (idempotent)",
    responses=responses(422),
)
def supply_chain_import(
    doc: Network, conn: Conn, now: Now, principal: RequireAgent
) -> ImportResult:
    with conn.transaction():  # committed before the answer goes out
        return import_network(conn, doc, actor=principal.name, now=now)


@router.get(
    "/trace/forward",
    summary="Forward trace: the lots of a shipment (or leg), their other legs, stores, buyers",
    responses=responses(404),
)
def trace_forward(
    conn: Conn,
    shipment: Annotated[str | None, Query(max_length=100)] = None,
    leg_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
) -> ForwardTrace:
    if shipment is not None:
        return forward_from_shipment(conn, shipment)
    if leg_id is not None:
        return forward_from_lots(conn, lots_of_leg(conn, leg_id))
    raise TraceabilityError("give a shipment reference or a leg_id")


@router.get(
    "/trace/backward",
    summary="Backward trace from a lot (GTIN + lot, a GS1 element string) or a receipt",
    responses=responses(404),
)
def trace_backward(
    conn: Conn,
    gtin: Annotated[str | None, Query(max_length=14)] = None,
    lot: Annotated[str | None, Query(max_length=20)] = None,
    element_string: Annotated[str | None, Query(max_length=200)] = None,
    receipt: Annotated[str | None, Query(max_length=100)] = None,
) -> list[BackwardTrace]:
    if receipt is not None:
        return [backward_from_lot(conn, lot_id) for lot_id in lots_of_receipt(conn, receipt)]
    if element_string is not None:
        parsed = gs1.parse_element_string(element_string)
        if parsed.lot is None:
            raise TraceabilityError("the element string names no lot (10)")
        gtin, lot = parsed.gtin, parsed.lot
    if gtin is None or lot is None:
        raise TraceabilityError("give gtin and lot, an element_string, or a receipt")
    return [backward_from_lot(conn, find_lot(conn, gs1.gtin(gtin), lot))]


@router.get(
    "/lots/{lot_id}", summary="One lot's journey and budget ledger", responses=responses(404)
)
def lot_get(lot_id: PathId, conn: Conn) -> BackwardTrace:
    return backward_from_lot(conn, lot_id)


@router.get(
    "/fsma204.csv",
    summary="FSMA 204 sortable spreadsheet: shipping and receiving KDEs for a lot or a period",
    response_class=PlainTextResponse,
    responses=responses(404),
)
def fsma204(
    conn: Conn,
    gtin: Annotated[str | None, Query(max_length=14)] = None,
    lot: Annotated[str | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PlainTextResponse:
    lot_id = find_lot(conn, gs1.gtin(gtin), lot) if gtin and lot else None
    if lot_id is None and since is None and until is None:
        raise TraceabilityError("give gtin and lot, or a period (since, until)")
    return PlainTextResponse(
        fsma_csv(conn, lot_id=lot_id, since=since, until=until),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="fsma204.csv"'},
    )


@router.get(
    "/shipments/{reference}/report.pdf",
    summary="A printable temperature report of a shipment (PDF with each leg's chart)",
    response_class=Response,
    responses=responses(404),
)
def shipment_report(reference: str, conn: Conn, now: Now) -> Response:
    return Response(
        shipment_pdf(conn, reference[:100], now),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="shipment-{reference[:100]}.pdf"'},
    )


@router.get(
    "/epcis/events",
    summary="GS1 EPCIS 2.0 JSON-LD document for a lot, a shipment or a period",
    description="Shipping and receiving ObjectEvents, AggregationEvents for pallets, "
    "TransformationEvents for repacking and sensor reports, with sites, products and lots "
    "as master data; valid against GS1's EPCIS JSON schema. `download=true` names a file.",
    response_class=JSONResponse,
    responses=responses(404),
)
def epcis_export(
    conn: Conn,
    context: Context,
    now: Now,
    gtin: Annotated[str | None, Query(max_length=14)] = None,
    lot: Annotated[str | None, Query(max_length=20)] = None,
    shipment: Annotated[str | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    download: bool = False,
) -> JSONResponse:
    lot_id = find_lot(conn, gs1.gtin(gtin), lot) if gtin and lot else None
    document = export_epcis(
        conn,
        schema_file=context.settings.epcis.schema_file,
        now=now,
        temperature_metric=TEMPERATURE,
        lot_id=lot_id,
        shipment=shipment if lot_id is None else None,
        since=since,
        until=until,
    )
    name = f"lot-{lot}" if lot_id else f"shipment-{shipment}" if shipment else "period"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    headers = {"Content-Disposition": f'attachment; filename="epcis-{safe}.jsonld"'}
    return JSONResponse(
        document, media_type="application/ld+json", headers=headers if download else None
    )


@router.post(
    "/epcis/import",
    summary="Import a GS1 EPCIS 2.0 document (checked against GS1's schema; all or nothing)",
    description="Replaying a document changes nothing. An invalid one (schema, unknown "
    "logger, an event this system cannot place) is refused with where and why, and nothing "
    "of it is written.",
    responses=responses(422),
)
def epcis_import(
    document: Annotated[dict[str, Any], Body()],
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAgent,
) -> ImportResult:
    with conn.transaction():  # committed before the answer goes out
        return import_epcis(
            conn,
            document,
            schema_file=context.settings.epcis.schema_file,
            actor=principal.name,
            now=now,
        )
