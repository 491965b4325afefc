"""EPCIS import and export as use cases: check against GS1's schema, then read or write.

An import is all or nothing: the document is checked against the schema and read whole
into the chain's import document before anything is written, and the writing happens in
the caller's one transaction (:func:`~crm_core.traceability.postgres.import_network`,
keyed on natural keys, so a replayed document changes nothing).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crm_core.traceability.epcis.export import export_document
from crm_core.traceability.epcis.reader import read_document
from crm_core.traceability.epcis.schema import InvalidEpcis, validate
from crm_core.traceability.model import ImportResult, Network
from crm_core.traceability.postgres import import_network
from crm_core.traceability.queries import Conn


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def parse_epcis(document: Any, schema_file: Path) -> Network:
    """Check and read a document, writing nothing; raise :class:`InvalidEpcis` naming why."""
    if not isinstance(document, dict):
        raise InvalidEpcis(["(document): an EPCISDocument is a JSON object"])
    if _has_nul(document):  # PostgreSQL text cannot hold it
        raise InvalidEpcis(["(document): a NUL character (\\u0000) in a name or value"])
    validate(document, schema_file)
    try:
        return read_document(document)
    except ValidationError as exc:
        raise InvalidEpcis(
            [f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10]]
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidEpcis([str(exc)[:500]]) from exc


def import_epcis(
    conn: Conn, document: Any, *, schema_file: Path, actor: str, now: datetime
) -> ImportResult:
    """Upsert what ``document`` holds, in the caller's transaction."""
    return import_network(conn, parse_epcis(document, schema_file), actor=actor, now=now)


def export_epcis(
    conn: Conn,
    *,
    schema_file: Path,
    now: datetime,
    temperature_metric: str,
    lot_id: int | None = None,
    shipment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The document for a lot, a shipment or a period, checked against the schema too: we
    never hand out a document our partners' systems would refuse."""
    document = export_document(
        conn,
        now=now,
        temperature_metric=temperature_metric,
        lot_id=lot_id,
        shipment=shipment,
        since=since,
        until=until,
    )
    validate(document, schema_file)
    return document
