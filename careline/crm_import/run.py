"""One CSV import: every row checked and stored on its own, the rejected ones reported.

Good rows go in, bad rows are reported (not all-or-nothing): in a file of 5,000 customers
exported from another system, three malformed phone numbers should not hold back the
other 4,997, and because every kind is keyed on a natural key, importing the corrected
file again (or the same file twice) updates rather than duplicates. Each row runs in its
own savepoint, so a refused row leaves no trace; the run as a whole is one transaction
with its record in ``crm_imports``, so a crash half-way stores nothing and the run can
simply be repeated. Rows that repeat a key seen earlier in the same file are refused:
which of the two was meant is the sender's call.
"""

from __future__ import annotations

from datetime import datetime

from psycopg.types.json import Jsonb
from pydantic import ValidationError

from careline.crm_import.kinds import SPECS, Kind, RowContext
from careline.crm_import.reading import read_table
from careline.crm_import.report import Rejection
from careline.crm_import.settings import ImportSettings
from crm_core.customers.records import RecordError, field_errors
from crm_core.customers.store import Conn
from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import Page, ReadModel, UtcDateTime, fetch_model, fetch_models
from devices.catalog import Catalog

HEADER_LINES = 1
MAX_FILENAME = 200


class ImportSummary(ReadModel):
    id: int
    kind: Kind
    at: UtcDateTime
    actor: str
    filename: str
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int


class ImportRun(ImportSummary):
    rejections: list[Rejection]


def run_import(
    conn: Conn,
    catalog: Catalog,
    kind: Kind,
    filename: str,
    data: bytes,
    limits: ImportSettings,
    *,
    actor: str,
    now: datetime,
) -> ImportRun:
    """Import ``data`` (a CSV file) as records of ``kind``; :class:`ImportFileError` when
    the file as a whole cannot be read."""
    spec = SPECS[kind]
    table = read_table(data, spec.columns, max_bytes=limits.max_bytes, max_rows=limits.max_rows)
    ctx = RowContext(conn, catalog, actor, now)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    rejections: list[Rejection] = []
    seen: dict[str, int] = {}
    with conn.transaction():
        for index, record in enumerate(table.to_dict(orient="records")):
            row = {str(k): str(v) for k, v in record.items()}
            line = index + 1 + HEADER_LINES
            key = spec.key(row)
            if key and key in seen:
                rejections.append(
                    Rejection(row=line, column="", reason=f"same key as row {seen[key]}", key=key)
                )
                continue
            if key:
                seen[key] = line
            try:
                written = spec.store(ctx, row)
            except ValidationError as exc:
                problems = field_errors(exc)
            except RecordError as exc:
                problems = exc.fields
            else:
                counts[written.outcome] += 1
                continue
            for field, reason in problems.items():
                column = spec.field_columns.get(field, field if field in row else "")
                rejections.append(Rejection(row=line, column=column, reason=reason, key=key))
        rejected_rows = len({r.row for r in rejections})
        found = conn.execute(
            "INSERT INTO crm_imports (kind, at, actor, filename, total, created, updated, "
            "unchanged, rejected, report) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (
                kind,
                now,
                actor,
                filename[:MAX_FILENAME],
                len(table),
                counts["created"],
                counts["updated"],
                counts["unchanged"],
                rejected_rows,
                Jsonb([r.model_dump() for r in rejections]),
            ),
        ).fetchone()
    assert found is not None
    return get_import(conn, int(found[0]))


_SELECT = (
    "SELECT id, kind, at, actor, filename, total, created, updated, unchanged, rejected "
    "FROM crm_imports"
)


def list_imports(conn: Conn, page: Page) -> list[ImportSummary]:
    return fetch_models(
        conn,
        ImportSummary,
        _SELECT + " ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",
        (page.limit, page.offset),
    )


def get_import(conn: Conn, import_id: int) -> ImportRun:
    summary = fetch_model(conn, ImportSummary, _SELECT + " WHERE id = %s", (import_id,))
    if summary is None:
        raise NotFound(f"import {import_id} does not exist")
    row = conn.execute("SELECT report FROM crm_imports WHERE id = %s", (import_id,)).fetchone()
    assert row is not None
    rejections = [Rejection.model_validate(item) for item in row[0]]
    return ImportRun(**summary.model_dump(), rejections=rejections)
