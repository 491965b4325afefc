"""The audit log: every change to a ticket, threshold, consent or CRM record, with who and when.

Written in the same transaction as the change it describes, so the log and the data agree.
For edited records, ``changes`` compares two snapshots and keeps the fields that differ,
as ``{"field": [old, new]}``.

>>> changes({"name": "Ann", "phone": None}, {"name": "Ann", "phone": "+33472102031"})
{'phone': [None, '+33472102031']}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb


def record_audit(
    conn: psycopg.Connection[TupleRow],
    *,
    at: datetime,
    actor: str,
    entity: str,
    entity_id: object,
    action: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one line to ``audit_log`` inside the caller's transaction."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (at, actor, entity, str(entity_id), action, Jsonb(dict(detail or {}))),
    )


record = record_audit
"""The same, by the shorter name the CRM record writers use (``audit.record``)."""


def _plain(value: object) -> object:
    """A JSON-friendly value: dates and times as ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[object]]:
    """The fields of ``after`` whose value differs from ``before``: ``[old, new]``."""
    return {
        key: [_plain(before.get(key)), _plain(value)]
        for key, value in after.items()
        if before.get(key) != value
    }


def snapshot(fields: Mapping[str, Any]) -> dict[str, object]:
    """A record's fields as the audit log keeps them (for a creation or a deletion)."""
    return {key: _plain(value) for key, value in fields.items()}
