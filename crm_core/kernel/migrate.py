"""Schema migrations with Alembic, run from our own code (``careline migrate``)."""

from __future__ import annotations

from importlib import resources

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg.rows import TupleRow

from crm_core.kernel.errors import SchemaNotReady


def alembic_config(database_url: str) -> Config:
    config = Config()
    location = resources.files("crm_core.kernel").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    # '%' is an interpolation character in Alembic's config parser.
    config.set_main_option("careline.database_url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a database already there is left as it is."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def ensure_current(conn: psycopg.Connection[TupleRow]) -> None:
    """Raise :class:`SchemaNotReady` unless the schema is at this code's revision."""
    found = None
    if conn.execute("SELECT to_regclass('alembic_version')").fetchone() != (None,):
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        found = str(row[0]) if row else None
    conn.rollback()
    wanted = head_revision()
    if found != wanted:
        state = "has no careline schema" if found is None else f"is at revision {found}"
        raise SchemaNotReady(
            f"the database {state}; this version needs {wanted}: run `careline migrate`"
        )
