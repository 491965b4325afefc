"""The consent ledger on PostgreSQL: append-only (a trigger refuses updates), audited."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from crm_core.consent.model import ConsentRecord
from crm_core.consent.ports import ConsentLedger
from crm_core.kernel.audit import record_audit
from crm_core.kernel.uow import PostgresUnitOfWork

_COLUMNS = "id, customer_id, action, purpose, channel, source, policy_version, actor, at, note"


def consent_record(row: tuple[Any, ...]) -> ConsentRecord:
    return ConsentRecord(
        id=int(row[0]),
        customer_id=int(row[1]),
        action=row[2],
        purpose=row[3],
        channel=row[4],
        source=row[5],
        policy_version=str(row[6]),
        actor=str(row[7]),
        at=row[8],
        note=str(row[9]),
    )


class PostgresConsentLedger:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def customer_exists(self, customer_id: int, *, lock: bool = False) -> bool:
        suffix = " FOR UPDATE" if lock else ""
        row = self._conn.execute(
            f"SELECT 1 FROM customers WHERE id = %s{suffix}", (customer_id,)
        ).fetchone()
        return row is not None

    def history(self, customer_id: int) -> list[ConsentRecord]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM consent_records WHERE customer_id = %s ORDER BY at, id",
            (customer_id,),
        ).fetchall()
        return [consent_record(row) for row in rows]

    def histories(self, customer_ids: list[int]) -> dict[int, list[ConsentRecord]]:
        """Many customers' ledgers in one query (each in order, as :meth:`history`)."""
        out: dict[int, list[ConsentRecord]] = {c: [] for c in customer_ids}
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM consent_records WHERE customer_id = ANY(%s) "
            "ORDER BY customer_id, at, id",
            (customer_ids,),
        ).fetchall()
        for row in rows:
            out[int(row[1])].append(consent_record(row))
        return out

    def append(self, record: ConsentRecord) -> ConsentRecord:
        row = self._conn.execute(
            "INSERT INTO consent_records (customer_id, action, purpose, channel, source, "
            "policy_version, actor, at, note) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id",
            (
                record.customer_id,
                record.action,
                record.purpose,
                record.channel,
                record.source,
                record.policy_version,
                record.actor,
                record.at,
                record.note,
            ),
        ).fetchone()
        assert row is not None
        stored = replace(record, id=int(row[0]))
        record_audit(
            self._conn,
            at=record.at,
            actor=record.actor,
            entity="customer_consent",
            entity_id=record.customer_id,
            action=f"consent.{record.action}",
            detail={
                "record_id": stored.id,
                "purpose": record.purpose,
                "channel": record.channel,
                "source": record.source,
                "policy_version": record.policy_version,
                "note": record.note,
            },
        )
        return stored


class PostgresConsentUnitOfWork(PostgresUnitOfWork):
    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        super().__init__(connection)
        self.consents: ConsentLedger = PostgresConsentLedger(connection)
