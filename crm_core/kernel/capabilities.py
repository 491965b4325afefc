"""What the database can do, asked once at start-up and logged: never assumed.

Three setups are real (architecture.md): TimescaleDB with the community licence
(hypertables, continuous aggregates, compression, policies), TimescaleDB with the Apache
licence (hypertables, time_bucket, drop_chunks) and plain PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Capabilities:
    server_version: str
    timescaledb: str | None  # extension version, None when not installed in this database
    licence: str | None  # 'apache' or 'timescale'
    readings_hypertable: bool

    @property
    def continuous_aggregates(self) -> bool:
        return self.licence == "timescale"

    @property
    def compression(self) -> bool:
        return self.licence == "timescale"

    @property
    def retention_policies(self) -> bool:
        return self.licence == "timescale"

    def describe(self) -> str:
        if self.timescaledb is None:
            return f"PostgreSQL {self.server_version}, no TimescaleDB: readings in a plain table"
        features = ["hypertables", "time_bucket", "drop_chunks"]
        if self.continuous_aggregates:
            features += ["continuous aggregates", "compression", "policies"]
        table = "a hypertable" if self.readings_hypertable else "a plain table"
        return (
            f"PostgreSQL {self.server_version}, TimescaleDB {self.timescaledb} "
            f"({self.licence} licence: {', '.join(features)}); readings in {table}"
        )


def probe(conn: psycopg.Connection[tuple[object, ...]]) -> Capabilities:
    version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    timescaledb = str(row[0]) if row else None
    licence = None
    hypertable = False
    if timescaledb is not None:
        licence = str(conn.execute("SHOW timescaledb.license").fetchone()[0])  # type: ignore[index]
        hypertable = (
            conn.execute(
                "SELECT 1 FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'readings'"
            ).fetchone()
            is not None
        )
    conn.rollback()
    caps = Capabilities(version, timescaledb, licence, hypertable)
    log.info("database: %s", caps.describe())
    return caps
