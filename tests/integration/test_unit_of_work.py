"""The PostgreSQL unit of work: commit() commits, anything else rolls back."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.uow import PostgresUnitOfWork

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def customers(db: Pool) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM customers").fetchone()
    assert row is not None
    return int(row[0])


def add_customer(uow: PostgresUnitOfWork) -> None:
    uow.connection.execute("INSERT INTO customers (kind, name) VALUES ('person', 'A')")


@pytest.mark.parametrize("commit", [True, False])
def test_only_commit_commits(db: Pool, commit: bool) -> None:
    with db.connection() as conn, PostgresUnitOfWork(conn) as uow:
        add_customer(uow)
        if commit:
            uow.commit()
    assert customers(db) == (1 if commit else 0)


def committed_then_failed(conn: psycopg.Connection[TupleRow]) -> None:
    with PostgresUnitOfWork(conn) as uow:
        add_customer(uow)
        uow.commit()
        raise RuntimeError("after commit(), before the block ended")


def test_an_exception_rolls_back_even_after_commit_was_called(db: Pool) -> None:
    with db.connection() as conn, pytest.raises(RuntimeError):
        committed_then_failed(conn)
    assert customers(db) == 0
