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

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import psycopg

from crm_core.kernel.errors import DatabaseUnavailable
from ingest.batch import Batch
from ingest.messages import RawMessage, Rejection, RejectReason
from ingest.outcome import WriteResult
from ingest.store import UnstorableBatch, message_digest

log = logging.getLogger(__name__)
_R = TypeVar("_R")

FIRST_DELAY_S = 0.2


class CommitAbandoned(Exception):
    """The worker is stopping while the database fails: the batch stays unacknowledged,
    and the broker delivers it again to the next session."""


class BatchWriter(Protocol):
    """What the committer needs of the store (:class:`~ingest.store.BatchStore`)."""

    def write(self, batch: Batch) -> WriteResult: ...

    def quarantine(self, message: RawMessage, error: str) -> None: ...


class Committer:
    """Commits batches through a :class:`BatchWriter`; one per ingest worker (one thread)."""

    def __init__(
        self,
        store: BatchWriter,
        *,
        retry_max_delay_s: float = 10.0,
        quarantine_dir: Path | None = None,
        stopping: threading.Event | None = None,
        keep_refused: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._stopping = stopping
        self._keep_refused = keep_refused
        self._bugs_logged: set[str] = set()
        self._store = store
        self._retry_max_delay_s = retry_max_delay_s
        self._quarantine_dir = quarantine_dir
        self._sleep = sleep
        self.database_ok = threading.Event()
        self.database_ok.set()
        self.retries = 0
        self.isolated = 0  # messages the database refused, found by splitting batches
        self._isolated: list[RawMessage] = []

    def _database_away(self, exc: DatabaseUnavailable, held: int) -> None:
        """Count a failed attempt; log the outage once (its end is logged once too)."""
        self.retries += 1
        if self.database_ok.is_set():
            log.warning(
                "database unavailable (%s); holding %d messages unacknowledged and retrying",
                exc,
                held,
            )
            self.database_ok.clear()

    def _database_back(self) -> None:
        if not self.database_ok.is_set():
            log.info("database back; the held batch is committed")
            self.database_ok.set()

    def _backoff(self, delay: float) -> float:
        """Sleep ``delay``; the next, longer delay. :class:`CommitAbandoned` instead when
        the worker is stopping: waiting out an outage must not hold up a shutdown."""
        if self._stopping is not None and self._stopping.is_set():
            raise CommitAbandoned
        self._sleep(delay)
        return min(delay * 2, self._retry_max_delay_s)

    def take_refused(self) -> list[RawMessage]:
        """The messages isolated since the last call (kept only with ``keep_refused``)."""
        isolated, self._isolated = self._isolated, []
        return isolated

    def until_reachable(self, action: Callable[[], _R], held: int) -> _R:
        """``action()``, tried again with backoff while the database is unavailable.

        Other errors propagate at once; :class:`UnstorableBatch` says the database answered,
        so it ends an outage too. Only a call that met the outage ends it: an action that
        succeeded without asking the database (a build whose devices are cached) says
        nothing about it, and would log an outage's end while the writer still waits.
        """
        delay = FIRST_DELAY_S
        failed = False
        while True:
            try:
                result = action()
            except DatabaseUnavailable as exc:
                self._database_away(exc, held)
                failed = True
            except UnstorableBatch:
                self._database_back()
                raise
            else:
                if failed:
                    self._database_back()
                return result
            delay = self._backoff(delay)

    def commit(self, batch: Batch) -> WriteResult:
        """Commit ``batch``; return only when every message in it has a place."""
        try:
            return self.until_reachable(lambda: self._store.write(batch), len(batch.messages))
        except UnstorableBatch as exc:
            return self._isolate(batch, exc)

    def _isolate(self, batch: Batch, exc: UnstorableBatch) -> WriteResult:
        if not batch.messages:
            # Checkpoints and last-seen times alone: nothing a message sent. Losing them
            # costs a detector warm-up after a restart, not data.
            log.error("detector checkpoints and device status refused, not saved: %s", exc)
            return WriteResult()
        if len(batch.messages) == 1 and not (batch.seen or batch.checkpoints):
            return self._refused(batch.messages[0], exc)
        # split() sets what no message owns apart, so a lone message is judged alone too
        return WriteResult.combine([self.commit(part) for part in batch.split()])

    def _refused(self, message: RawMessage, exc: UnstorableBatch) -> WriteResult:
        """The one message behind a refusal: a dead letter, else the quarantine."""
        self.isolated += 1
        if self._keep_refused:
            self._isolated.append(message)
        if isinstance(exc.__cause__, psycopg.Error) and exc.__cause__.sqlstate is not None:
            log.warning("a message on %r was refused by the database: %s", message.topic[:200], exc)
        else:  # raised in our code, or by psycopg on our side: most likely a bug
            kind = type(exc.__cause__).__name__
            if kind not in self._bugs_logged:
                self._bugs_logged.add(kind)
                log.error(
                    "writing a message on %r failed in careline's own code; it and every "
                    "later one failing with %s are dead-lettered (unstorable) for replay "
                    "after a fix",
                    message.topic[:200],
                    kind,
                    exc_info=exc.__cause__,
                )
        reason = f"the database refused what this message carries: {exc}"
        letter = Batch([message], rejections=[Rejection(message, RejectReason.UNSTORABLE, reason)])
        try:
            return self.until_reachable(lambda: self._store.write(letter), 1)
        except UnstorableBatch as again:
            return self._quarantine(message, f"{reason}; as a dead letter: {again}")

    def _quarantine(self, message: RawMessage, error: str) -> WriteResult:
        try:
            self.until_reachable(lambda: self._store.quarantine(message, error), 1)
        except UnstorableBatch as again:
            if not self._to_file(message, f"{error}; in the quarantine table: {again}"):
                return WriteResult(lost=1)
        log.error(
            "a message on %r could not be dead-lettered; it is kept in the quarantine: %s",
            message.topic[:200],
            error,
        )
        return WriteResult(quarantined=1)

    def _to_file(self, message: RawMessage, error: str) -> bool:
        """Last resort: the raw bytes in ``quarantine_dir``; False if even that failed."""
        if self._quarantine_dir is None:
            log.critical("a message on %r was lost: no quarantine folder", message.topic[:200])
            return False
        digest = message_digest(message).hex()[:32]  # of topic and payload
        base = self._quarantine_dir / f"{message.received_at:.6f}-{digest}"
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
            return False
        return True
