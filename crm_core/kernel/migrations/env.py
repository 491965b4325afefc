"""Alembic environment: runs our SQL migrations over one psycopg connection.

The URL comes from the Alembic config (set by :func:`crm_core.kernel.migrate.upgrade`), never
from the environment. We hand SQLAlchemy a ready psycopg connection factory so that every
URL psycopg understands (including the embedded server's socket-directory URLs) works.
"""

from __future__ import annotations

import psycopg
from alembic import context
from sqlalchemy import create_engine, pool


def _url() -> str:
    url = context.config.get_main_option("careline.database_url")
    if not url:
        raise RuntimeError(
            "crm_core.kernel.migrate sets careline.database_url; run `careline migrate`"
        )
    return url


def _connect() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_url())


engine = create_engine("postgresql+psycopg://", creator=_connect, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
