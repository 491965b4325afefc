"""What a running ingest worker reads to stay in step with the overrides and resets.

The worker polls (:meth:`TuningFeed.poll`) at most every ``tuning_poll_s`` seconds, before
it judges a batch: one query reads the tuning version, the newest reset id and the newest
device id, about half a millisecond (a batch that finds the poll not due pays ~0.1 µs).
Only when the version or the newest device moved does it read the overrides (all of them,
resolved per device); only when a reset is newer than the last one seen does it read the
new resets. So a change committed through the API is in force for every reading the
worker takes in more than ``tuning_poll_s`` after the commit.

Resets and checkpoints: a reset's id is its generation. The worker tags each checkpoint
with the newest reset it has applied to that device, the database keeps the tag
(``detector_state.generation``) and refuses a checkpoint tagged older than the row's, and
on loading a device's state the worker applies every reset newer than the tag
(:meth:`TuningFeed.load`). So a reset committed while a checkpoint of the old state is
being written is applied anyway: by the running worker at its next poll, or by whichever
worker loads that state next.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.kernel.errors import database_errors
from devices.catalog import Catalog
from devices.errors import TuningError
from devices.faults.no_data import TELEMETRY
from devices.tuning.model import MetricTuning, Override, effective, model_defaults, tuned
from devices.tuning.postgres import OVERRIDE_COLUMNS, override_from_row

log = logging.getLogger(__name__)

_COLUMNS = ", ".join(f"o.{c}" for c in OVERRIDE_COLUMNS.split(", "))
OVERRIDES_BY_DEVICE = f"""
SELECT d.id, d.device_type, o.scope, o.metric, {_COLUMNS}
  FROM detector_overrides o JOIN devices d ON o.scope = 'device' AND d.id = o.scope_id
 WHERE o.metric <> %(telemetry)s
UNION ALL
SELECT d.id, d.device_type, o.scope, o.metric, {_COLUMNS}
  FROM detector_overrides o JOIN devices d ON o.scope = 'customer' AND d.customer_id = o.scope_id
 WHERE o.metric <> %(telemetry)s
"""
# The newest device too: a device registered later takes its customer's overrides.
VERSIONS = """
SELECT (SELECT version FROM detector_tuning_version),
       (SELECT coalesce(max(id), 0) FROM baseline_resets),
       (SELECT coalesce(max(id), 0) FROM devices)
"""

Reset = tuple[int, int, str | None]
"""(reset id, device id, metric or None for all)"""


@dataclass(slots=True)
class TuningChanges:
    """What changed since the last poll: the whole tuning (when it changed) and resets."""

    tuning: dict[int, dict[str, MetricTuning]] | None = None
    resets: list[Reset] = field(default_factory=list)


class TuningSource(Protocol):
    """What the batch builder polls (:class:`TuningFeed`, or a fake in unit tests)."""

    def poll(self, now: float) -> TuningChanges | None: ...

    def load(self, device_ids: Sequence[int]) -> dict[int, tuple[int, list[Reset]]]: ...


def resolve(
    catalog: Catalog, rows: Sequence[tuple[object, ...]]
) -> dict[int, dict[str, MetricTuning]]:
    """Per device and metric, the monitor settings from the customer and device layers."""
    layers: dict[tuple[int, str, str], dict[str, Override]] = defaultdict(dict)
    for row in rows:
        device_id, device_type, scope, metric = row[:4]
        layers[(int(str(device_id)), str(device_type), str(metric))][str(scope)] = (
            override_from_row(tuple(row[4:]))
        )
    result: dict[int, dict[str, MetricTuning]] = {}
    for (device_id, device_type, metric), by_scope in layers.items():
        kind = catalog.device_types.get(device_type)
        spec = None if kind is None else kind.metrics.get(metric)
        if kind is None or spec is None:
            continue  # an override of a metric this device does not have a detector on
        try:
            defaults = model_defaults(kind, metric)
        except TuningError:
            continue
        settings = effective(defaults, by_scope.get("customer"), by_scope.get("device"))
        result.setdefault(device_id, {})[metric] = tuned(spec, settings)
    return result


class TuningFeed:
    """Polls PostgreSQL for tuning changes; used by one ingest worker's builder thread."""

    def __init__(
        self,
        pool: ConnectionPool[psycopg.Connection[TupleRow]],
        catalog: Catalog,
        *,
        poll_s: float = 2.0,
    ) -> None:
        self._pool = pool
        self._catalog = catalog
        self.poll_s = poll_s
        self._version: tuple[int, int] | None = None
        self._last_reset: int | None = None
        self._polled_at = float("-inf")

    def poll(self, now: float) -> TuningChanges | None:
        """Changes since the last poll, or None when not due (``now``: monotonic s) or none."""
        if now - self._polled_at < self.poll_s:
            return None
        with database_errors(), self._pool.connection(timeout=5.0) as conn:
            row = conn.execute(VERSIONS).fetchone()
            assert row is not None
            version, last_reset = (int(row[0]), int(row[2])), int(row[1])
            changes = TuningChanges()
            if version != self._version:
                rows = conn.execute(OVERRIDES_BY_DEVICE, {"telemetry": TELEMETRY}).fetchall()
                changes.tuning = resolve(self._catalog, rows)
            if self._last_reset is not None and last_reset > self._last_reset:
                changes.resets = [
                    (int(r[0]), int(r[1]), r[2])
                    for r in conn.execute(
                        "SELECT id, device_id, metric FROM baseline_resets WHERE id > %s "
                        "ORDER BY id",
                        (self._last_reset,),
                    ).fetchall()
                ]
        self._polled_at = now
        if version != self._version and self._version is not None:
            log.info("detector overrides reloaded (version %d, devices to id %d)", *version)
        self._version, self._last_reset = version, last_reset
        if changes.tuning is None and not changes.resets:
            return None
        return changes

    def load(self, device_ids: Sequence[int]) -> dict[int, tuple[int, list[Reset]]]:
        """Per device: the generation its saved state has, and the resets newer than it."""
        with database_errors(), self._pool.connection(timeout=5.0) as conn:
            saved = conn.execute(
                "SELECT device_id, generation FROM detector_state WHERE device_id = ANY(%s)",
                (list(device_ids),),
            ).fetchall()
            resets = conn.execute(
                "SELECT r.id, r.device_id, r.metric FROM baseline_resets r "
                "LEFT JOIN detector_state s ON s.device_id = r.device_id "
                "WHERE r.device_id = ANY(%s) AND r.id > coalesce(s.generation, 0) ORDER BY r.id",
                (list(device_ids),),
            ).fetchall()
        result: dict[int, tuple[int, list[Reset]]] = {int(d): (int(g), []) for d, g in saved}
        for reset_id, device_id, metric in resets:
            result.setdefault(int(device_id), (0, []))[1].append(
                (int(reset_id), int(device_id), metric)
            )
        return result
