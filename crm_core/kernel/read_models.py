"""What every read model shares: frozen pydantic models, UTC times, and pagination."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic, LiteralString, TypeVar

import psycopg
from psycopg.rows import TupleRow, dict_row
from pydantic import AfterValidator, BaseModel, ConfigDict

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time must carry its timezone")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""A timezone-aware time, normalised to UTC (psycopg hands back the session's zone)."""


class ReadModel(BaseModel):
    """Base of every read model: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list: ``limit`` rows (1..500) after skipping ``offset``."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")
        if self.offset < 0:
            raise ValueError(f"offset must not be negative, got {self.offset}")


FIRST_PAGE = Page()

ItemT = TypeVar("ItemT", bound=BaseModel)


class Listing(ReadModel, Generic[ItemT]):
    """One page of a list, with the paging that produced it."""

    items: list[ItemT]
    limit: int
    offset: int

    @classmethod
    def of(cls, items: list[ItemT], page: Page) -> Listing[ItemT]:
        return cls(items=items, limit=page.limit, offset=page.offset)


ModelT = TypeVar("ModelT", bound=BaseModel)


def fetch_models(
    conn: psycopg.Connection[TupleRow],
    model: type[ModelT],
    query: LiteralString,
    params: Mapping[str, object] | Sequence[object] = (),
) -> list[ModelT]:
    """Rows of ``query`` as ``model`` instances (column names are the field names)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return [model.model_validate(row) for row in cur.fetchall()]


def fetch_model(
    conn: psycopg.Connection[TupleRow],
    model: type[ModelT],
    query: LiteralString,
    params: Mapping[str, object] | Sequence[object] = (),
) -> ModelT | None:
    rows = fetch_models(conn, model, query, params)
    return rows[0] if rows else None
