"""The exceptions of the storage layer; psycopg's are mapped to these at the edge."""

from __future__ import annotations


class StorageError(Exception):
    """Base of the storage layer's errors."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached now; the operation may succeed later."""


class NotFound(StorageError):
    """The row asked for does not exist."""
