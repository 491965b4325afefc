"""The fault repository on PostgreSQL.

The database enforces the lifecycle too: one record per (device, metric, onset) and at most
one open fault per device and metric, so a redelivered batch adds nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.uow import PostgresUnitOfWork
from devices.faults.findings import Diagnosis
from devices.faults.model import Fault, FaultStatus, WindowSummary
from devices.faults.no_data import NO_DATA, TELEMETRY, Silence
from devices.faults.ports import FaultRepository


def evidence_json(fault: Fault) -> bytes:
    """The windows around the onset, and the threshold they were judged against."""
    windows = [dataclasses.asdict(w) for w in fault.evidence]
    return orjson.dumps({"windows": windows, "threshold": fault.threshold})


_COLUMNS = (
    "id, device_id, metric, detector, score, threshold, status, opened_at, cleared_at, "
    "evidence, acknowledged_at, acknowledged_by, diagnosis"
)


def _fault(row: tuple[Any, ...]) -> Fault:
    evidence = row[9] if isinstance(row[9], dict) else {}
    return Fault(
        id=int(row[0]),
        device_id=int(row[1]),
        metric=str(row[2]),
        detector=str(row[3]),
        score=float(row[4]),
        threshold=float(row[5]),
        status=FaultStatus(row[6]),
        opened_at=row[7],
        cleared_at=row[8],
        evidence=tuple(WindowSummary(**w) for w in evidence.get("windows", ())),
        acknowledged_at=row[10],
        acknowledged_by=row[11],
        diagnosis=Diagnosis.from_json(row[12]) if isinstance(row[12], dict) else None,
    )


class PostgresFaultRepository:
    def __init__(self, conn: psycopg.Connection[TupleRow]) -> None:
        self._conn = conn

    def add(self, fault: Fault) -> Fault | None:
        row = self._conn.execute(
            """
            INSERT INTO faults (device_id, metric, detector, score, threshold, status,
                                opened_at, evidence)
            VALUES (%s, %s, %s, %s, %s, 'open', %s, %s::jsonb)
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            (
                fault.device_id,
                fault.metric,
                fault.detector,
                fault.score,
                fault.threshold,
                fault.opened_at,
                evidence_json(fault).decode(),
            ),
        ).fetchone()
        if row is None:
            return None
        fault.id = int(row[0])
        return fault

    def get(self, fault_id: int, *, for_update: bool = False) -> Fault | None:
        lock = " FOR UPDATE" if for_update else ""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM faults WHERE id = %s{lock}", (fault_id,)
        ).fetchone()
        return None if row is None else _fault(row)

    def open_fault(self, device_id: int, metric: str, detector: str) -> Fault | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM faults WHERE device_id = %s AND metric = %s "
            "AND detector = %s AND status <> 'cleared' FOR UPDATE",
            (device_id, metric, detector),
        ).fetchone()
        return None if row is None else _fault(row)

    def live(self, device_id: int) -> list[Fault]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM faults WHERE device_id = %s AND status <> 'cleared' "
            "ORDER BY opened_at, id",
            (device_id,),
        ).fetchall()
        return [_fault(row) for row in rows]

    def set_diagnosis(self, fault_id: int, diagnosis: Diagnosis) -> None:
        self._conn.execute(
            "UPDATE faults SET diagnosis = %s::jsonb, hours_to_failure = %s WHERE id = %s",
            (
                orjson.dumps(diagnosis.as_json()).decode(),
                diagnosis.urgency.hours_to_failure,
                fault_id,
            ),
        )

    def save(self, fault: Fault) -> None:
        self._conn.execute(
            "UPDATE faults SET status = %s, cleared_at = %s, acknowledged_at = %s, "
            "acknowledged_by = %s WHERE id = %s",
            (
                fault.status.value,
                fault.cleared_at,
                fault.acknowledged_at,
                fault.acknowledged_by,
                fault.id,
            ),
        )

    def note(self, fault_id: int, at: datetime, author: str, action: str, comment: str) -> None:
        self._conn.execute(
            "INSERT INTO fault_notes (fault_id, at, author, action, comment) "
            "VALUES (%s, %s, %s, %s, %s)",
            (fault_id, at, author, action, comment),
        )


class PostgresFaultsUnitOfWork(PostgresUnitOfWork):
    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        super().__init__(connection)
        self.faults: FaultRepository = PostgresFaultRepository(connection)


def silences(conn: psycopg.Connection[TupleRow]) -> list[Silence]:
    """Every device that has reported: its last receive time, and its open no-data fault."""
    rows = conn.execute(
        """
        SELECT d.id, d.device_type, extract(epoch FROM s.last_received_at), f.id IS NOT NULL,
               coalesce(od.no_data_after_s, oc.no_data_after_s)
          FROM devices d
          JOIN device_status s ON s.device_id = d.id
          LEFT JOIN faults f ON f.device_id = d.id AND f.metric = %(metric)s
                            AND f.detector = %(detector)s AND f.status <> 'cleared'
          LEFT JOIN detector_overrides od ON od.scope = 'device' AND od.scope_id = d.id
                                         AND od.metric = %(metric)s
          LEFT JOIN detector_overrides oc ON oc.scope = 'customer'
                                         AND oc.scope_id = d.customer_id AND oc.metric = %(metric)s
        """,
        {"metric": TELEMETRY, "detector": NO_DATA},
    ).fetchall()
    return [
        Silence(
            int(r[0]), str(r[1]), float(r[2]), bool(r[3]), None if r[4] is None else float(r[4])
        )
        for r in rows
    ]
