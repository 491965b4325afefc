"""Committing a batch whatever it holds: wait out outages, isolate what the database refuses.

Two kinds of failure, told apart by :class:`~ingest.store.BatchStore`:

* **transient** (:class:`DatabaseUnavailable`: the database is away, a serialization
  failure or deadlock, a schema waiting for an operator): nothing is acknowledged, the
  same batch is tried again with exponential backoff; the outage is logged once and its
  end once;
* **caused by the data** (:class:`UnstorableBatch`): the batch is split in halves, and
  the halves are committed on their own, recursively, until the message behind the
  failure is alone. That message becomes a dead letter with the error as its reason
  (``unstorable``); if even that is refused it goes to the quarantine, a table of raw
  bytes that nothing a message carries can fail; and if that is refused too, it is kept
  as a file in the data folder. Every other message of the batch is committed.

So no message can stop the worker: each one ends stored, dead-lettered or quarantined,
and the batch is acknowledged. The writes are idempotent, so committing parts of a batch
separately (and a part again after a failure) adds nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from crm_core.kernel.errors import DatabaseUnavailable
from ingest.batch import Batch
from ingest.messages import RawMessage, Rejection, RejectReason
from ingest.outcome import WriteResult
from ingest.store import BatchStore, UnstorableBatch

log = logging.getLogger(__name__)

FIRST_DELAY_S = 0.2


class CommitAbandoned(Exception):
    """The worker is stopping while the database fails: the batch stays unacknowledged,
    and the broker delivers it again to the next session."""


class Committer:
    """Commits batches through a :class:`BatchStore`; one per ingest worker (one thread)."""

    def __init__(
        self,
        store: BatchStore,
        *,
        retry_max_delay_s: float = 10.0,
        quarantine_dir: Path | None = None,
        stopping: threading.Event | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._stopping = stopping
        self._store = store
        self._retry_max_delay_s = retry_max_delay_s
        self._quarantine_dir = quarantine_dir
        self._sleep = sleep
        self.database_ok = threading.Event()
        self.database_ok.set()
        self.retries = 0
        self.isolated = 0  # messages the database refused, found by splitting batches
        self._isolated: list[RawMessage] = []

    def database_away(self, exc: DatabaseUnavailable, held: int) -> None:
        """Count a failed attempt; log the outage once (its end is logged once too)."""
        self.retries += 1
        if self.database_ok.is_set():
            log.warning(
                "database unavailable (%s); holding %d messages unacknowledged and retrying",
                exc,
                held,
            )
            self.database_ok.clear()

    def database_back(self) -> None:
        if not self.database_ok.is_set():
            log.info("database back; the held batch is committed")
            self.database_ok.set()

    def backoff(self, delay: float) -> float:
        """Sleep ``delay``; the next, longer delay. :class:`CommitAbandoned` instead when
        the worker is stopping: waiting out an outage must not hold up a shutdown."""
        if self._stopping is not None and self._stopping.is_set():
            raise CommitAbandoned
        self._sleep(delay)
        return min(delay * 2, self._retry_max_delay_s)

    def take_refused(self) -> list[RawMessage]:
        """The messages isolated since the last call (replay reports them)."""
        isolated, self._isolated = self._isolated, []
        return isolated

    def commit(self, batch: Batch) -> WriteResult:
        """Commit ``batch``; return only when every message in it has a place."""
        delay = FIRST_DELAY_S
        while True:
            try:
                result = self._store.write(batch)
            except DatabaseUnavailable as exc:
                self.database_away(exc, len(batch.messages))
            except UnstorableBatch as exc:
                self.database_back()
                return self._isolate(batch, exc)
            else:
                self.database_back()
                return result
            delay = self.backoff(delay)

    def _isolate(self, batch: Batch, exc: UnstorableBatch) -> WriteResult:
        if len(batch.messages) == 1:
            return self._refused(batch.messages[0], exc)
        if not batch.messages:
            # Checkpoints and last-seen times alone: nothing a message sent. Losing them
            # costs a detector warm-up after a restart, not data.
            log.error("detector checkpoints and device status refused, not saved: %s", exc)
            return WriteResult()
        return WriteResult.combine([self.commit(part) for part in batch.split()])

    def _refused(self, message: RawMessage, exc: UnstorableBatch) -> WriteResult:
        """The one message behind a refusal: a dead letter, else the quarantine."""
        self.isolated += 1
        self._isolated.append(message)
        reason = f"the database refused what this message carries: {exc}"
        letter = Batch([message], rejections=[Rejection(message, RejectReason.UNSTORABLE, reason)])
        log.warning("a message on %r was refused by the database: %s", message.topic[:200], exc)
        delay = FIRST_DELAY_S
        while True:
            try:
                return self._store.write(letter)
            except DatabaseUnavailable as away:
                self.database_away(away, 1)
            except UnstorableBatch as again:
                return self._quarantine(message, f"{reason}; as a dead letter: {again}")
            delay = self.backoff(delay)

    def _quarantine(self, message: RawMessage, error: str) -> WriteResult:
        delay = FIRST_DELAY_S
        while True:
            try:
                self._store.quarantine(message, error)
            except DatabaseUnavailable as away:
                self.database_away(away, 1)
            except UnstorableBatch as again:
                self._to_file(message, f"{error}; in the quarantine table: {again}")
                break
            else:
                break
            delay = self.backoff(delay)
        log.error(
            "a message on %r could not be dead-lettered; it is kept in the quarantine: %s",
            message.topic[:200],
            error,
        )
        return WriteResult(quarantined=1)

    def _to_file(self, message: RawMessage, error: str) -> None:
        """Last resort: the raw bytes in ``quarantine_dir``, named by their digest."""
        if self._quarantine_dir is None:
            log.critical("a message on %r was lost: no quarantine folder", message.topic[:200])
            return
        digest = hashlib.sha256(message.payload).hexdigest()[:32]
        base = self._quarantine_dir / f"{int(message.received_at)}-{digest}"
        try:
            self._quarantine_dir.mkdir(parents=True, exist_ok=True)
            base.with_suffix(".payload").write_bytes(message.payload)
            base.with_suffix(".txt").write_text(
                f"topic: {message.topic!r}\nreceived_at: {message.received_at}\nerror: {error}\n",
                encoding="utf-8",
                errors="backslashreplace",
            )
        except OSError as exc:
            log.critical("a message on %r was lost: %s", message.topic[:200], exc)
