"""``careline technicians add`` / ``list`` against the test database."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from careline.cli import app

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def test_add_then_list_technicians(
    db: Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELINE_DATABASE__URL", database_url)
    runner = CliRunner()
    args = ["technicians", "add", "--name", "Lena Vogel", "--email", "lena@example.com"]
    args += ["--skill", "refrigerator", "--skill", "Washing_Machine", "--region", "Berlin"]
    added = runner.invoke(app, [*args, "--lat", "52.52", "--lon", "13.405"])
    assert added.exit_code == 0, added.output
    assert "Lena Vogel <lena@example.com>" in added.output
    assert runner.invoke(app, args).exit_code == 0  # the same e-mail again: nothing new
    bad = runner.invoke(app, ["technicians", "add", "--name", "X", "--email", "no-at-sign"])
    assert bad.exit_code == 2
    listed = runner.invoke(app, ["technicians", "list"])
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert len(lines) == 1
    assert "refrigerator,washing_machine\tBerlin\t52.5200,13.4050\t0 live" in lines[0]
    with db.connection() as conn:
        audit = conn.execute("SELECT actor, entity, action FROM audit_log").fetchall()
    assert audit == [("cli", "technician", "created")]
