"""A bench's own database: a scratch one on the configured (or embedded) server, dropped
afterwards, with the bench's devices registered in it."""

from __future__ import annotations

import uuid
from contextlib import ExitStack

import psycopg

from careline.embedded.services import EmbeddedPostgres
from careline.settings import Settings


def scratch_database(settings: Settings, stack: ExitStack) -> str:
    """A new database on the configured (or embedded) server, dropped on the way out."""
    server = settings.database.url
    if server is None:
        embedded = EmbeddedPostgres(settings.data_dir / "bench")
        server = embedded.start()
        stack.callback(embedded.stop)
    name = f"careline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return url


def register_devices(url: str, serials: list[str]) -> None:
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy("COPY devices (serial, device_type, model) FROM STDIN") as copy,
    ):
        for serial in serials:
            copy.write_row((serial, "refrigerator", "CoolFrost CF-300"))
