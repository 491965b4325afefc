"""The product-issue repository on PostgreSQL.

The database keeps the promises: one live issue per group and signature (a partial unique
index, met by ``INSERT ... ON CONFLICT DO NOTHING``: of two workers racing, one inserts
and the other finds its issue), and a fault in one issue at most (a unique ``fault_id``).
Every note also lands in ``audit_log``.

A fault's signature is read with ``to_jsonb(f) ->> 'cause'``: when the faults table has a
diagnosed ``cause`` column it is used, and until then the expression is simply NULL, so
grouping needs no change when diagnosis lands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString

import orjson
import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.uow import PostgresUnitOfWork
from devices.product_issues.model import (
    DeviceFacts,
    GroupKey,
    IssueStatus,
    ProductIssue,
)
from devices.product_issues.ports import (
    Candidate,
    FaultFacts,
    GroupCounts,
    ProductIssueRepository,
)

SIGNATURE_SQL: LiteralString = (
    "coalesce('cause:' || nullif(to_jsonb(f) ->> 'cause', ''), f.metric || '/' || f.detector)"
)
"""A fault's signature in SQL, as :func:`devices.product_issues.model.signature` makes it."""

IN_GROUP_SQL: LiteralString = (
    "(d.device_type = %(device_type)s AND (CASE %(dimension)s "
    "WHEN 'batch' THEN d.production_batch WHEN 'firmware' THEN d.firmware "
    "ELSE d.model END) = %(value)s)"
)
"""Whether device ``d`` is in the group the parameters name."""

_ISSUE_COLUMNS: LiteralString = (
    "id, dimension, device_type, group_value, signature, title, status, first_fault_at, "
    "last_fault_at, opened_at, updated_at, resolved_at"
)


def group_params(key: GroupKey) -> dict[str, object]:
    return {"dimension": key.dimension, "device_type": key.device_type, "value": key.value}


def _issue(row: tuple[Any, ...]) -> ProductIssue:
    return ProductIssue(
        id=int(row[0]),
        key=GroupKey(row[1], row[2], row[3]),
        signature=row[4],
        title=row[5],
        status=row[6],
        first_fault_at=row[7],
        last_fault_at=row[8],
        opened_at=row[9],
        updated_at=row[10],
        resolved_at=row[11],
    )


class PostgresProductIssueRepository:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def fault(self, fault_id: int) -> FaultFacts | None:
        row = self._conn.execute(
            f"SELECT f.id, d.id, d.device_type, d.model, d.firmware, d.production_batch, "
            f"f.opened_at, {SIGNATURE_SQL} FROM faults f JOIN devices d ON d.id = f.device_id "
            "WHERE f.id = %s",
            (fault_id,),
        ).fetchone()
        if row is None:
            return None
        device = DeviceFacts(int(row[1]), row[2], row[3], row[4], row[5])
        return FaultFacts(int(row[0]), device, row[6], row[7])

    def unlinked_faults(self, since: datetime) -> list[int]:
        rows = self._conn.execute(
            "SELECT f.id FROM faults f WHERE f.opened_at >= %s AND NOT EXISTS "
            "(SELECT 1 FROM product_issue_faults l WHERE l.fault_id = f.id) "
            "ORDER BY f.opened_at, f.id",
            (since,),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def live_issue(self, key: GroupKey, signature: str) -> ProductIssue | None:
        row = self._conn.execute(
            f"SELECT {_ISSUE_COLUMNS} FROM product_issues p WHERE dimension = %(dimension)s "
            "AND device_type = %(device_type)s AND group_value = %(value)s "
            "AND status <> 'resolved' AND (signature = %(signature)s OR EXISTS ("
            "SELECT 1 FROM product_issue_faults l JOIN faults f ON f.id = l.fault_id "
            f"WHERE l.issue_id = p.id AND {SIGNATURE_SQL} = %(signature)s)) "
            "ORDER BY (signature = %(signature)s) DESC, id LIMIT 1 FOR UPDATE",
            {**group_params(key), "signature": signature},
        ).fetchone()
        return None if row is None else _issue(row)

    def issue_of_device(self, device_id: int, fault_id: int) -> ProductIssue | None:
        row = self._conn.execute(
            f"SELECT {_ISSUE_COLUMNS} FROM product_issues p WHERE status <> 'resolved' "
            "AND EXISTS (SELECT 1 FROM product_issue_faults l JOIN faults f ON f.id = l.fault_id "
            "WHERE l.issue_id = p.id AND l.device_id = %s AND f.id <> %s "
            "AND f.status <> 'cleared') ORDER BY p.id LIMIT 1 FOR UPDATE",
            (device_id, fault_id),
        ).fetchone()
        return None if row is None else _issue(row)

    def rename(self, issue: ProductIssue, signature: str, title: str) -> bool:
        try:
            # a savepoint: a clash with another live issue must not abort the batch
            with self._conn.transaction():
                self._conn.execute(
                    "UPDATE product_issues SET signature = %s, title = %s WHERE id = %s",
                    (signature, title, issue.id),
                )
        except psycopg.errors.UniqueViolation:
            return False
        issue.signature, issue.title = signature, title
        return True

    def candidates(
        self, key: GroupKey, signature: str, since: datetime, until: datetime
    ) -> list[Candidate]:
        rows = self._conn.execute(
            f"SELECT f.id, f.device_id, f.opened_at FROM faults f "
            f"JOIN devices d ON d.id = f.device_id "
            f"WHERE {IN_GROUP_SQL} AND f.opened_at BETWEEN %(since)s AND %(until)s "
            f"AND {SIGNATURE_SQL} = %(signature)s "
            "AND NOT EXISTS (SELECT 1 FROM product_issue_faults l WHERE l.fault_id = f.id) "
            "ORDER BY f.opened_at, f.id",
            {**group_params(key), "signature": signature, "since": since, "until": until},
        ).fetchall()
        return [Candidate(int(r[0]), int(r[1]), r[2]) for r in rows]

    def counts(
        self, key: GroupKey, signature: str, since: datetime, until: datetime
    ) -> GroupCounts:
        row = self._conn.execute(
            f"""
            SELECT count(*) FILTER (WHERE g.in_group),
                   count(*) FILTER (WHERE g.in_group AND g.faulty),
                   count(*) FILTER (WHERE NOT g.in_group),
                   count(*) FILTER (WHERE NOT g.in_group AND g.faulty)
              FROM (SELECT coalesce({IN_GROUP_SQL}, false) AS in_group,
                           EXISTS (SELECT 1 FROM faults f WHERE f.device_id = d.id
                                     AND f.opened_at BETWEEN %(since)s AND %(until)s
                                     AND {SIGNATURE_SQL} = %(signature)s) AS faulty
                      FROM devices d WHERE d.device_type = %(device_type)s) g
            """,
            {**group_params(key), "signature": signature, "since": since, "until": until},
        ).fetchone()
        assert row is not None
        return GroupCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    def add(self, issue: ProductIssue) -> ProductIssue | None:
        row = self._conn.execute(
            """
            INSERT INTO product_issues (dimension, device_type, group_value, signature, title,
                                        status, first_fault_at, last_fault_at, opened_at,
                                        updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (dimension, device_type, group_value, signature)
                WHERE status <> 'resolved' DO NOTHING
            RETURNING id
            """,
            (
                issue.key.dimension,
                issue.key.device_type,
                issue.key.value,
                issue.signature,
                issue.title,
                issue.status,
                issue.first_fault_at,
                issue.last_fault_at,
                issue.opened_at,
                issue.updated_at,
            ),
        ).fetchone()
        if row is None:
            return None
        issue.id = int(row[0])
        return issue

    def get(self, issue_id: int, *, for_update: bool = False) -> ProductIssue | None:
        lock: LiteralString = " FOR UPDATE" if for_update else ""
        row = self._conn.execute(
            f"SELECT {_ISSUE_COLUMNS} FROM product_issues WHERE id = %s{lock}", (issue_id,)
        ).fetchone()
        return None if row is None else _issue(row)

    def save(self, issue: ProductIssue) -> None:
        self._conn.execute(
            "UPDATE product_issues SET status = %s, resolved_at = %s, first_fault_at = %s, "
            "last_fault_at = %s, updated_at = %s WHERE id = %s",
            (
                issue.status,
                issue.resolved_at,
                issue.first_fault_at,
                issue.last_fault_at,
                issue.updated_at,
                issue.id,
            ),
        )

    def link(self, issue_id: int, fault_id: int, device_id: int, now: datetime) -> bool:
        cur = self._conn.execute(
            "INSERT INTO product_issue_faults (issue_id, fault_id, device_id, linked_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (issue_id, fault_id, device_id, now),
        )
        return cur.rowcount == 1

    def note(
        self,
        issue_id: int,
        at: datetime,
        author: str,
        action: str,
        comment: str = "",
        old: IssueStatus | None = None,
        new: IssueStatus | None = None,
    ) -> None:
        self._conn.execute(
            "INSERT INTO product_issue_notes (issue_id, at, author, action, old_status, "
            "new_status, comment) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (issue_id, at, author, action, old, new, comment),
        )
        detail = {"old_status": old, "new_status": new, "comment": comment}
        self._conn.execute(
            "INSERT INTO audit_log (at, actor, entity, entity_id, action, detail) "
            "VALUES (%s, %s, 'product_issue', %s, %s, %s::jsonb)",
            (at, author, str(issue_id), action, orjson.dumps(detail).decode()),
        )


class PostgresProductIssuesUnitOfWork(PostgresUnitOfWork):
    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        super().__init__(connection)
        self.product_issues: ProductIssueRepository = PostgresProductIssueRepository(connection)
