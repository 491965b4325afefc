"""The unit of work: one transaction, which a use case commits or leaves to roll back.

Use cases take a unit of work (a context's own Protocol, which adds the repositories it
needs) and end with ``commit()``; leaving the ``with`` block without it rolls back. The
PostgreSQL one wraps a connection; a repository is built on its ``connection``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol, Self

import psycopg
from psycopg.rows import TupleRow


class UnitOfWork(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class PostgresUnitOfWork:
    """A transaction on ``connection``: committed by :meth:`commit`, else rolled back.

    Used without ``with`` it is the caller's transaction that is in force (ingest's batch);
    handlers write through ``connection`` and leave committing to the caller.
    """

    def __init__(self, connection: psycopg.Connection[TupleRow]) -> None:
        self.connection = connection
        self._transaction: AbstractContextManager[psycopg.Transaction] | None = None
        self._committed = False

    def __enter__(self) -> Self:
        transaction = self.connection.transaction()
        transaction.__enter__()
        self._transaction = transaction
        self._committed = False
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        transaction, self._transaction = self._transaction, None
        assert transaction is not None, "__exit__ without __enter__"
        if kind is None and not self._committed:
            rollback = psycopg.Rollback()
            transaction.__exit__(type(rollback), rollback, None)
            return
        transaction.__exit__(kind, value, traceback)

    def commit(self) -> None:
        """Commit when the ``with`` block ends (psycopg commits a transaction block on exit)."""
        self._committed = True
