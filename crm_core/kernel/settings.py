"""Settings every package shares: the group base, and the database's own group.

Each package declares its settings group as a typed, frozen object; ``careline/settings.py``
composes them into the one settings object read from the environment. Nothing below
``careline`` reads the environment.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Group(BaseModel):
    """A group of settings: unknown keys are refused, so typos are loud."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Group):
    url: Annotated[
        str | None,
        Field(
            description="PostgreSQL URL (postgresql://user:pass@host:5432/db) or libpq "
            "key=value string. "
            "Empty: start an embedded PostgreSQL in the data folder."
        ),
    ] = None
    pool_min_size: Annotated[int, Field(ge=1, le=100, description="Connections kept open.")] = 1
    pool_max_size: Annotated[int, Field(ge=1, le=200, description="Most connections open.")] = 8
    reconnect_max_delay_s: Annotated[
        float,
        Field(
            gt=0,
            le=60,
            description="Longest wait between two attempts to reconnect a lost database "
            "connection: work resumes within about this long after the database is back.",
        ),
    ] = 1.0

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        from psycopg.conninfo import conninfo_to_dict

        try:
            parts = conninfo_to_dict(value)
        except Exception:
            # libpq's message quotes the string, password and all: never repeat it
            raise ValueError("not a PostgreSQL connection string") from None
        ports = str(parts.get("port", "5432")).split(",")
        if not all(port.isdigit() for port in ports):
            raise ValueError("the port must be a number")
        return value
