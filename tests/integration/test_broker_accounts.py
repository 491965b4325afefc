"""Broker accounts in PostgreSQL: all-or-none batches, refusals with reasons, history, the
password file written from the database (no broker needed here; test_broker_doors.py
runs the real one)."""

from __future__ import annotations

import csv
import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careline.cli import app
from devices.credentials.accounts import (
    CredentialError,
    history,
    list_accounts,
    provision_devices,
    register_service_passwords,
    revoke,
)
from devices.credentials.broker_file import BrokerFile, live_hashes
from devices.credentials.secret_hash import matches
from tests.integration.conftest import Pool, register_devices

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


def test_a_batch_is_all_or_none_and_refusals_say_why(db: Pool, tmp_path: Path) -> None:
    register_devices(db, ["FR-1", "FR-2"])
    file = tmp_path / "passwd"
    with db.connection() as conn:
        for serials, reason in (
            (["FR-1", "FR-404"], "no registered device with serial 'FR-404'"),
            (["FR-1", "FR-1"], "named twice"),
            (["FR-1", "bad\x00serial"], "is not a device serial"),
            (["FR-1", "x" * 200], "is not a device serial"),
            (["careline-ingest"], "service account"),
        ):
            with pytest.raises(CredentialError, match=reason):
                provision_devices(conn, serials, NOW, actor="t", broker_file=BrokerFile(file))
        assert live_hashes(conn) == []  # nothing of a refused batch stays
        assert not file.exists()
        issued = provision_devices(
            conn, ["FR-1", "FR-2"], NOW, actor="t", broker_file=BrokerFile(file)
        )
        with pytest.raises(CredentialError, match="already has live credentials"):
            provision_devices(conn, ["FR-2"], NOW, actor="t", broker_file=BrokerFile(file))
        lines = dict(line.split(":", 1) for line in file.read_text().splitlines())
        assert set(lines) == {"FR-1", "FR-2"}
        for item in issued:
            assert matches(item.secret, lines[item.username])
        later = NOW + timedelta(hours=1)
        revoke(conn, ["FR-1"], later, actor="ops", broker_file=BrokerFile(file))
        assert [a.username for a in list_accounts(conn, include_revoked=False)] == ["FR-2"]
        assert set(dict(line.split(":", 1) for line in file.read_text().splitlines())) == {"FR-2"}
        assert history(conn, "FR-1") == [("issued", NOW, "t"), ("revoked", later, "ops")]


def test_service_passwords_from_settings_are_hashed_once(db: Pool, tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    with db.connection() as conn:
        chosen = {"careline-ingest": "Ingest-pass-8f7Q2x", "careline-push": "Push-pass-Zq81mW"}
        first = register_service_passwords(
            conn, chosen, NOW, actor="s", broker_file=BrokerFile(file)
        )
        assert first == {"careline-ingest": "issued", "careline-push": "issued"}
        again = register_service_passwords(
            conn, chosen, NOW, actor="s", broker_file=BrokerFile(file)
        )
        assert again == {"careline-ingest": "unchanged", "careline-push": "unchanged"}
        changed = {**chosen, "careline-push": "Another-pass-71Kq"}
        third = register_service_passwords(
            conn, changed, NOW, actor="s", broker_file=BrokerFile(file)
        )
        assert third["careline-push"] == "rotated"
        with pytest.raises(CredentialError, match="no service account"):
            register_service_passwords(
                conn, {"root": "x"}, NOW, actor="s", broker_file=BrokerFile(file)
            )
        assert "Another-pass-71Kq" not in file.read_text()


def test_the_cli_writes_a_batch_as_csv_readable_by_its_owner_only(
    db: Pool, database_url: str, tmp_path: Path
) -> None:
    register_devices(db, [f"WM-{i:03d}" for i in range(5)])
    serials = tmp_path / "serials.txt"
    serials.write_text("# a batch\n" + "".join(f"WM-{i:03d}\n" for i in range(5)))
    out = tmp_path / "batch.csv"
    env = {
        "CARELINE_DATABASE__URL": database_url,
        "CARELINE_BROKER__PASSWORD_FILE": str(tmp_path / "passwd"),
    }
    runner = CliRunner()
    result = runner.invoke(
        app, ["devices", "provision", "--from-file", str(serials), "--csv-out", str(out)], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # the secrets are in the file only
    assert "reload the broker" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["username"] for r in rows] == [f"WM-{i:03d}" for i in range(5)]
    assert {r["event"] for r in rows} == {"issued"}
    # never over an existing file, and a clear error for an unknown device
    again = runner.invoke(app, ["devices", "rotate", "WM-000", "--csv-out", str(out)], env=env)
    assert (again.exit_code, "exists" in again.stderr) == (2, True)
    unknown = runner.invoke(app, ["devices", "provision", "NOPE-1"], env=env)
    assert (unknown.exit_code, "no registered device" in unknown.stderr) == (1, True)
    listed = runner.invoke(app, ["devices", "credentials"], env=env)
    assert listed.exit_code == 0
    assert "WM-004" in listed.stdout
    assert all(r["password"] not in listed.stdout for r in rows)
