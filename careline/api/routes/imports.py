"""``/api/v1/imports``: CSV import of customers, sites, devices and contracts (admin), and
the report of rejected rows as a CSV download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import Response

from careline.api.deps import Conn, Context, Now, Paging, RequireAdmin, require_unscoped
from careline.api.errors import responses
from careline.crm_import.kinds import SPECS, Kind
from careline.crm_import.report import report_csv
from careline.crm_import.run import ImportRun, ImportSummary, get_import, list_imports, run_import
from crm_core.kernel.read_models import Listing

# Callers limited to some customers use the customer routes; these are for full access.
router = APIRouter(prefix="/imports", tags=["imports"], dependencies=[Depends(require_unscoped)])

CSV = "text/csv; charset=utf-8"


def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, at most ``max_bytes`` + 1 (enough to tell it is too large)."""
    return upload.file.read(max_bytes + 1)


@router.post(
    "/{kind}",
    summary="Import a CSV file of one kind of record (admin); good rows in, bad rows reported",
    responses=responses(400, 413),
)
def import_create(
    kind: Kind,
    file: Annotated[UploadFile, File(description="A CSV file, UTF-8, header in row 1.")],
    conn: Conn,
    context: Context,
    now: Now,
    principal: RequireAdmin,
) -> ImportRun:
    limits = context.settings.imports
    data = read_upload(file, limits.max_bytes)
    return run_import(
        conn,
        context.catalog,
        kind,
        file.filename or "upload.csv",
        data,
        limits,
        actor=principal.name,
        now=now,
    )


@router.get("", summary="Past imports, newest first")
def imports_list(conn: Conn, page: Paging) -> Listing[ImportSummary]:
    return Listing.of(list_imports(conn, page), page)


@router.get("/templates/{kind}.csv", summary="An empty CSV file with the kind's columns")
def import_template(kind: Kind) -> Response:
    columns = SPECS[kind].columns.all
    return Response(
        ",".join(columns) + "\r\n",
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


@router.get("/{import_id}", summary="One import with its rejected rows", responses=responses(404))
def import_get(import_id: int, conn: Conn) -> ImportRun:
    return get_import(conn, import_id)


@router.get(
    "/{import_id}/rejected.csv",
    summary="The rejected rows as CSV (row, column, reason, key)",
    responses=responses(404),
)
def import_report(import_id: int, conn: Conn) -> Response:
    run = get_import(conn, import_id)
    return Response(
        report_csv(run.rejections),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-rejected.csv"'},
    )
