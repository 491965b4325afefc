"""Processes that do not migrate refuse a database whose schema is not theirs, clearly."""

from __future__ import annotations

import psycopg
import pytest

from crm_core.kernel import migrate
from crm_core.kernel.errors import SchemaNotReady
from tests import services


def test_a_migrated_database_is_accepted(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        migrate.ensure_current(conn)  # raises if not


def test_an_empty_database_is_refused_with_the_fix_named() -> None:
    url, name = services.create_database("careline_empty")
    try:
        with psycopg.connect(url) as conn, pytest.raises(SchemaNotReady) as excinfo:
            migrate.ensure_current(conn)
        assert "careline migrate" in str(excinfo.value)
        assert migrate.head_revision() in str(excinfo.value)
    finally:
        services.drop_database(name)
