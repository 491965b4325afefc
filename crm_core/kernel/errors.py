"""The exceptions of the storage layer; psycopg's are mapped to these at the edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


class StorageError(Exception):
    """Base of the storage layer's errors."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached now; the operation may succeed later."""


class SchemaNotReady(StorageError):
    """The database's schema is missing or older than this code: run ``careline migrate``."""


class NotFound(StorageError):
    """The row asked for does not exist."""


# SQLSTATE classes whose errors the data being written caused: retrying the same data fails
# the same way. 22 data exception (NUL in text, a value out of range), 23 integrity
# constraint violation, 54 program limit exceeded (a value too large to index, say).
_DATA_CLASSES = frozenset({"22", "23", "54"})


def caused_by_data(exc: BaseException) -> bool:
    """True when ``exc`` says the data was refused, so the same write will fail again.

    False for what time may cure: a lost or refused connection, the pool's time-out, a
    server shutting down, a serialization failure or deadlock (SQLSTATE class 40), a full
    disk, and errors that say our SQL does not fit the schema (those need an operator, not
    a different message). Errors raised in Python while values are prepared (a string that
    cannot be encoded, a number that does not fit) are the data's.
    """
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        state = exc.sqlstate
        return state is not None and state[:2] in _DATA_CLASSES
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        # Client-side errors have no SQLSTATE: psycopg refusing a value (NUL in a text).
        return state is None or state[:2] in _DATA_CLASSES
    return isinstance(exc, Exception)


@contextmanager
def database_errors() -> Iterator[None]:
    """Map psycopg's transient errors (see :func:`caused_by_data`; the pool's time-outs
    are ``OperationalError`` too) to :class:`DatabaseUnavailable`; others pass through."""
    try:
        yield
    except psycopg.Error as exc:
        if caused_by_data(exc) or not isinstance(
            exc, psycopg.OperationalError | psycopg.InterfaceError
        ):
            raise
        raise DatabaseUnavailable(str(exc).strip() or type(exc).__name__) from exc
