"""Product issues as the API and console show them: the list, and one issue with the
devices, faults, tickets and customers behind it and its fault rate against the fleet's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import LiteralString

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.errors import NotFound
from crm_core.kernel.read_models import (
    FIRST_PAGE,
    Page,
    ReadModel,
    UtcDateTime,
    fetch_model,
    fetch_models,
)
from devices.product_issues.model import Dimension, GroupKey, IssueStatus
from devices.product_issues.postgres import IN_GROUP_SQL, SIGNATURE_SQL, group_params
from devices.product_issues.rates import FaultRate, RateComparison


class ProductIssueSummary(ReadModel):
    id: int
    title: str
    status: IssueStatus
    dimension: Dimension
    device_type: str
    group_value: str
    signature: str
    first_fault_at: UtcDateTime
    last_fault_at: UtcDateTime
    opened_at: UtcDateTime
    updated_at: UtcDateTime
    resolved_at: UtcDateTime | None
    devices: int
    faults: int
    tickets: int
    customers: int


class IssueDevice(ReadModel):
    id: int
    serial: str
    model: str
    firmware: str | None
    production_batch: str | None
    customer_id: int | None
    customer_name: str | None
    faults: int
    first_onset: UtcDateTime


class IssueFault(ReadModel):
    id: int
    device_serial: str
    metric: str
    detector: str
    status: str
    score: float
    opened_at: UtcDateTime
    cleared_at: UtcDateTime | None
    ticket_id: int | None


class IssueTicket(ReadModel):
    id: int
    subject: str
    status: str
    priority: int
    customer_id: int
    customer_name: str
    device_serial: str | None


class IssueCustomer(ReadModel):
    id: int
    name: str
    email: str | None
    phone: str | None
    devices: int


class IssueNote(ReadModel):
    at: UtcDateTime
    author: str
    action: str
    old_status: IssueStatus | None
    new_status: IssueStatus | None
    comment: str


class GroupRate(ReadModel):
    devices: int
    faults: int
    device_days: float
    per_100_device_days: float | None


class RateReport(ReadModel):
    """Faults of the issue's signature per 100 device-days, its group against the rest of
    the fleet (the other devices of its type), over ``period_start`` .. ``period_end``."""

    period_start: UtcDateTime
    period_end: UtcDateTime
    group: GroupRate
    rest: GroupRate
    ratio: float | None


class ProductIssueDetail(ProductIssueSummary):
    rates: RateReport
    affected_devices: list[IssueDevice]
    linked_faults: list[IssueFault]
    linked_tickets: list[IssueTicket]
    affected_customers: list[IssueCustomer]
    notes: list[IssueNote]


_SELECT: LiteralString = """
    SELECT p.id, p.title, p.status, p.dimension, p.device_type, p.group_value, p.signature,
           p.first_fault_at, p.last_fault_at, p.opened_at, p.updated_at, p.resolved_at,
           count(DISTINCT l.device_id) AS devices, count(DISTINCT l.fault_id) AS faults,
           count(DISTINCT tf.ticket_id) AS tickets, count(DISTINCT d.customer_id) AS customers
      FROM product_issues p
      LEFT JOIN product_issue_faults l ON l.issue_id = p.id
      LEFT JOIN ticket_faults tf ON tf.fault_id = l.fault_id
      LEFT JOIN devices d ON d.id = l.device_id
"""
_GROUP: LiteralString = " GROUP BY p.id"


def list_product_issues(
    conn: psycopg.Connection[TupleRow],
    *,
    status: IssueStatus | None = None,
    page: Page = FIRST_PAGE,
) -> list[ProductIssueSummary]:
    """Product issues, the most recently updated first."""
    query = _SELECT + " WHERE (%(status)s::text IS NULL OR p.status = %(status)s)" + _GROUP
    query += " ORDER BY p.updated_at DESC, p.id DESC LIMIT %(limit)s OFFSET %(offset)s"
    params = {"status": status, "limit": page.limit, "offset": page.offset}
    return fetch_models(conn, ProductIssueSummary, query, params)


def fault_rates(
    conn: psycopg.Connection[TupleRow],
    key: GroupKey,
    signature: str,
    start: datetime,
    end: datetime,
) -> RateComparison:
    """Faults of ``signature`` opened in [start, end) per device-days in service then, for
    the group and for the other devices of its type.

    A device is in service from its installation day (its registration when that is not
    known); its device-days are the part of the period after that.
    """
    rows = conn.execute(
        f"""
        SELECT g.in_group, count(*), coalesce(sum(g.days), 0), coalesce(sum(g.faults), 0)
          FROM (SELECT coalesce({IN_GROUP_SQL}, false) AS in_group,
                       greatest(0, extract(epoch FROM (%(end)s - greatest(%(start)s,
                           coalesce(d.installed_on::timestamp AT TIME ZONE 'UTC',
                                    d.created_at)))) / 86400.0) AS days,
                       (SELECT count(*) FROM faults f WHERE f.device_id = d.id
                          AND f.opened_at >= %(start)s AND f.opened_at < %(end)s
                          AND {SIGNATURE_SQL} = %(signature)s) AS faults
                  FROM devices d WHERE d.device_type = %(device_type)s) g
         GROUP BY g.in_group
        """,
        {**group_params(key), "signature": signature, "start": start, "end": end},
    ).fetchall()
    rates = {bool(r[0]): FaultRate(int(r[3]), int(r[1]), float(r[2])) for r in rows}
    empty = FaultRate(0, 0, 0.0)
    return RateComparison(rates.get(True, empty), rates.get(False, empty))


def _group_rate(rate: FaultRate) -> GroupRate:
    return GroupRate(
        devices=rate.devices,
        faults=rate.faults,
        device_days=round(rate.device_days, 2),
        per_100_device_days=rate.per_100_device_days,
    )


def get_product_issue(
    conn: psycopg.Connection[TupleRow], issue_id: int, now: datetime, rate_days: int
) -> ProductIssueDetail:
    """One issue with everything linked to it, and its rate over the ``rate_days`` days
    before now (or before its resolution)."""
    summary = fetch_model(
        conn, ProductIssueSummary, _SELECT + " WHERE p.id = %s" + _GROUP, (issue_id,)
    )
    if summary is None:
        raise NotFound(f"product issue {issue_id} does not exist")
    end = summary.resolved_at or now
    start = end - timedelta(days=rate_days)
    key = GroupKey(summary.dimension, summary.device_type, summary.group_value)
    comparison = fault_rates(conn, key, summary.signature, start, end)
    rates = RateReport(
        period_start=start,
        period_end=end,
        group=_group_rate(comparison.group),
        rest=_group_rate(comparison.rest),
        ratio=comparison.ratio,
    )
    return ProductIssueDetail(
        **summary.model_dump(),
        rates=rates,
        affected_devices=fetch_models(
            conn,
            IssueDevice,
            """
            SELECT d.id, d.serial, d.model, d.firmware, d.production_batch, d.customer_id,
                   c.name AS customer_name, count(*) AS faults,
                   min(f.opened_at) AS first_onset
              FROM product_issue_faults l
              JOIN devices d ON d.id = l.device_id
              JOIN faults f ON f.id = l.fault_id
              LEFT JOIN customers c ON c.id = d.customer_id
             WHERE l.issue_id = %s
             GROUP BY d.id, c.name ORDER BY first_onset, d.serial
            """,
            (issue_id,),
        ),
        linked_faults=fetch_models(
            conn,
            IssueFault,
            """
            SELECT f.id, d.serial AS device_serial, f.metric, f.detector, f.status, f.score,
                   f.opened_at, f.cleared_at, tf.ticket_id
              FROM product_issue_faults l
              JOIN faults f ON f.id = l.fault_id
              JOIN devices d ON d.id = f.device_id
              LEFT JOIN ticket_faults tf ON tf.fault_id = f.id
             WHERE l.issue_id = %s ORDER BY f.opened_at, f.id
            """,
            (issue_id,),
        ),
        linked_tickets=fetch_models(
            conn,
            IssueTicket,
            """
            SELECT DISTINCT t.id, t.subject, t.status, t.priority, t.customer_id,
                   c.name AS customer_name, d.serial AS device_serial
              FROM product_issue_faults l
              JOIN ticket_faults tf ON tf.fault_id = l.fault_id
              JOIN tickets t ON t.id = tf.ticket_id
              JOIN customers c ON c.id = t.customer_id
              LEFT JOIN devices d ON d.id = t.device_id
             WHERE l.issue_id = %s ORDER BY t.id
            """,
            (issue_id,),
        ),
        affected_customers=fetch_models(
            conn,
            IssueCustomer,
            """
            SELECT c.id, c.name, c.email, c.phone, count(DISTINCT l.device_id) AS devices
              FROM product_issue_faults l
              JOIN devices d ON d.id = l.device_id
              JOIN customers c ON c.id = d.customer_id
             WHERE l.issue_id = %s GROUP BY c.id ORDER BY c.name
            """,
            (issue_id,),
        ),
        notes=fetch_models(
            conn,
            IssueNote,
            "SELECT at, author, action, old_status, new_status, comment "
            "FROM product_issue_notes WHERE issue_id = %s ORDER BY at, id",
            (issue_id,),
        ),
    )
