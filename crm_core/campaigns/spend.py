"""Each customer's spend per category and month (the learner's purchase history), on
PostgreSQL: added to when a receipt is first recorded, read for a batch of decisions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import psycopg
from psycopg.rows import TupleRow

from crm_core.campaigns.context import PROFILE_MONTHS

Connection = psycopg.Connection[TupleRow]


def by_category(lines: Iterable[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """(category, cents) lines -> category -> (cents, lines).

    >>> by_category([("dairy", 349), ("wine", 1490), ("dairy", 899), ("", 5)])
    {'dairy': (1248, 2), 'wine': (1490, 1)}
    """
    out: dict[str, tuple[int, int]] = {}
    for category, cents in lines:
        if category:
            spent, n = out.get(category, (0, 0))
            out[category] = (spent + cents, n + 1)
    return out


def add_spend(
    conn: Connection, customer_id: int, at: datetime, lines: Iterable[tuple[str, int]]
) -> None:
    """Add a new receipt's lines to the customer's profile (call once per receipt)."""
    sums = by_category(lines)
    if not sums:
        return
    utc = at.astimezone(UTC)
    month = date(utc.year, utc.month, 1)
    conn.execute(
        "INSERT INTO customer_category_spend (customer_id, category, month, spend_cents, lines) "
        "SELECT %s, c, %s, s, n FROM unnest(%s::text[], %s::bigint[], %s::int[]) AS v(c, s, n) "
        "ON CONFLICT (customer_id, category, month) DO UPDATE SET "
        "spend_cents = customer_category_spend.spend_cents + excluded.spend_cents, "
        "lines = customer_category_spend.lines + excluded.lines",
        (customer_id, month, list(sums), [s for s, _ in sums.values()],
         [n for _, n in sums.values()]),
    )  # fmt: skip


def window_start(at: datetime) -> date:
    """The first month counted: the last ``PROFILE_MONTHS`` months, this one included.

    >>> window_start(datetime(2026, 3, 9, tzinfo=UTC))
    datetime.date(2025, 10, 1)
    """
    months = at.year * 12 + at.month - 1 - (PROFILE_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def spend_profiles(
    conn: Connection, ids: list[int], at: datetime
) -> dict[int, dict[str, tuple[int, int]]]:
    """Customer -> category -> (cents, lines) bought in the window ending at ``at`` (one
    query for the lot)."""
    rows = conn.execute(
        "SELECT customer_id, category, sum(spend_cents), sum(lines) FROM customer_category_spend "
        "WHERE customer_id = ANY(%s) AND month >= %s GROUP BY customer_id, category",
        (ids, window_start(at)),
    ).fetchall()
    out: dict[int, dict[str, tuple[int, int]]] = {}
    for customer, category, cents, lines in rows:
        out.setdefault(int(customer), {})[str(category)] = (int(cents), int(lines))
    return out


def erase_spend(conn: Connection, customer_id: int) -> int:
    return conn.execute(
        "DELETE FROM customer_category_spend WHERE customer_id = %s", (customer_id,)
    ).rowcount
