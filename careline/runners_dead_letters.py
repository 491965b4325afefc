"""What ``careline dead-letters list``, ``purge`` and ``replay`` run.

Each returns the process exit code.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC

import typer

from careline.runners import _pool
from careline.settings import Settings
from crm_core.kernel.errors import StorageError
from devices.catalog import load_catalog


def run_dead_letters_list(settings: Settings, limit: int) -> int:
    with ExitStack() as stack:
        pool = _pool(settings, stack)
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, received_at, topic, reason, detail, occurrences, replay_outcome "
                "FROM dead_letters ORDER BY id DESC LIMIT %s",
                (limit,),
            ).fetchall()
    if not rows:
        typer.echo("no dead letters")
    for letter_id, received, topic, reason, detail, occurrences, outcome in rows:
        when = received.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"#{letter_id} {when} {topic[:120]!r} [{reason}] x{occurrences}: {detail[:300]}")
        if outcome:
            typer.echo(f"    replayed: {outcome[:300]}")
    return 0


def run_dead_letters_purge(settings: Settings, days: int) -> int:
    from datetime import datetime

    from ingest.retention import purge_dead_letters

    with ExitStack() as stack:
        pool = _pool(settings, stack)
        deleted = purge_dead_letters(pool, datetime.now(UTC), days)
    typer.echo(f"{deleted} dead letters last seen more than {days} days ago deleted")
    return 0


def run_dead_letters_replay(settings: Settings, ids: list[int] | None) -> int:
    from ingest.replay import replay_dead_letters

    with ExitStack() as stack:
        pool = _pool(settings, stack, size=2)
        try:
            report = replay_dead_letters(
                pool, load_catalog(), settings.ingest, settings.mqtt.topic_root, ids
            )
        except StorageError as exc:
            typer.echo(f"error: {exc}", err=True)
            return 1
    typer.echo(
        f"replayed {report.replayed}: {report.stored} stored, "
        f"{report.still_rejected} still rejected"
    )
    return 0
