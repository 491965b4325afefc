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


@contextmanager
def database_errors() -> Iterator[None]:
    """Map psycopg's connection-level errors (and the pool's timeouts, which are
    ``OperationalError`` too) to :class:`DatabaseUnavailable`."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(str(exc).strip() or type(exc).__name__) from exc
