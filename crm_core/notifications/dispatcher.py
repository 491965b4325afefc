"""The dispatcher: claims due outbox rows, re-checks consent, sends, records the outcome.

Each step is its own short transaction, and no transaction is held open while a channel
talks to a server: claim (commit: the lease is ours), then the consent check for the
claimed batch (one query), the sends (a channel with ``send_many``, the MQTT push, gets the
batch at once and waits for the acknowledgements together), then the outcomes (the sent
ones in one statement). A message whose expiry passed before it could be sent is marked
``expired`` and never retried. Consent is checked at the moment of sending, so a customer who
withdrew after the message was written gets nothing: the row becomes ``suppressed`` with
the reason and the ledger record that decided it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.consent.model import decide
from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.kernel.clock import Clock
from crm_core.notifications.model import (
    DeliveryError,
    MessageExpired,
    OutboxPolicy,
    OutboxRow,
    PermanentDeliveryError,
    backoff,
)
from crm_core.notifications.ports import ChannelAdapter
from crm_core.notifications.postgres import (
    claim,
    mark_expired,
    mark_failed,
    mark_retry,
    mark_sent_many,
    mark_suppressed,
)

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


class Dispatcher:
    """Delivers the outbox through ``channels`` (channel name -> adapter)."""

    def __init__(
        self,
        pool: Pool,
        channels: Mapping[str, ChannelAdapter],
        *,
        policy: OutboxPolicy,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._channels = dict(channels)
        self._policy = policy
        self._clock = clock

    def run_once(self) -> Counter[str]:
        """One pass: claim a batch and deliver it; the outcomes counted by status."""
        with self._pool.connection() as conn:
            rows = claim(conn, self._clock(), self._policy.lease_s, self._policy.batch)
        return self.deliver_many(rows)

    def drain(self, passes: int = 100) -> Counter[str]:
        """Run passes until nothing is due (at most ``passes``)."""
        total: Counter[str] = Counter()
        for _ in range(passes):
            outcomes = self.run_once()
            if not outcomes:
                break
            total += outcomes
        return total

    def _settle(self, action: Callable[[psycopg.Connection[TupleRow]], bool]) -> None:
        with self._pool.connection() as conn:
            action(conn)

    def deliver(self, row: OutboxRow) -> str:
        """Send one claimed row; the status it ended in."""
        [(status, _)] = self.deliver_many([row]).items()
        return status

    def _screen(self, rows: list[OutboxRow], outcomes: Counter[str]) -> list[OutboxRow]:
        """Consent now (one query for the batch's customers) and expiry: the rows to send;
        the others are settled as suppressed or expired here."""
        customers = sorted({r.message.customer_id for r in rows if r.message.customer_id})
        ledgers = {}
        if customers:
            with self._pool.connection() as conn:
                ledgers = PostgresConsentLedger(conn).histories(customers)
        now = self._clock()
        ready = []
        for row in rows:
            message = row.message
            if message.customer_id is not None:
                decision = decide(
                    ledgers.get(message.customer_id, []), message.purpose, message.channel
                )
                if not decision.allowed:
                    reason = decision.cited
                    self._settle(partial(mark_suppressed, row=row, reason=reason))
                    log.info("outbox %d suppressed: %s", row.id, reason)
                    outcomes["suppressed"] += 1
                    continue
            if message.expires_at is not None and message.expires_at <= now:
                self._expired(row, f"expired at {message.expires_at.isoformat()} before it "
                              "could be sent")  # fmt: skip
                outcomes["expired"] += 1
                continue
            ready.append(row)
        return ready

    def _expired(self, row: OutboxRow, reason: str) -> None:
        self._settle(lambda conn: mark_expired(conn, row, reason))
        log.info("outbox %d expired: %s", row.id, reason)

    def deliver_many(self, rows: list[OutboxRow]) -> Counter[str]:
        """Send claimed rows (a channel that can send a batch gets them together); the
        outcomes counted by status."""
        outcomes: Counter[str] = Counter()
        if not rows:
            return outcomes
        groups: dict[str, list[OutboxRow]] = {}
        for row in self._screen(rows, outcomes):
            groups.setdefault(row.message.channel, []).append(row)
        sent: list[OutboxRow] = []
        for name, group in groups.items():
            channel = self._channels.get(name)
            if channel is None:
                error = f"no {name} channel is configured"
                for row in group:
                    self._settle(partial(mark_failed, row=row, error=error))
                    outcomes["failed"] += 1
                continue
            for row, failure in zip(group, _send(channel, group), strict=True):
                if failure is None:
                    sent.append(row)
                else:
                    outcomes[self._not_sent(row, failure)] += 1
        if sent:
            now = self._clock()
            with self._pool.connection() as conn:
                mark_sent_many(conn, sent, now)
            outcomes["sent"] += len(sent)
        return outcomes

    def _not_sent(self, row: OutboxRow, exc: DeliveryError) -> str:
        error = str(exc)
        if isinstance(exc, MessageExpired):
            self._expired(row, error)
            return "expired"
        if isinstance(exc, PermanentDeliveryError):
            self._settle(lambda conn: mark_failed(conn, row, error))
            log.warning("outbox %d failed for good: %s", row.id, error)
            return "failed"
        if row.attempts >= self._policy.max_attempts:
            self._settle(lambda conn: mark_failed(conn, row, error))
            log.warning("outbox %d failed after %d attempts: %s", row.id, row.attempts, error)
            return "failed"
        at = self._clock() + timedelta(seconds=backoff(row.attempts, self._policy))
        self._settle(lambda conn: mark_retry(conn, row, error, at))
        log.info("outbox %d not delivered (%s); retry at %s", row.id, error, at.isoformat())
        return "retry"


def _send(channel: ChannelAdapter, rows: list[OutboxRow]) -> list[DeliveryError | None]:
    """Each row's failure (None: sent), through the channel's batch send if it has one."""
    send_many = getattr(channel, "send_many", None)
    if send_many is not None:
        results: list[DeliveryError | None] = send_many(rows)
        return results
    out: list[DeliveryError | None] = []
    for row in rows:
        try:
            channel.send(row)
        except DeliveryError as exc:
            # Kept without its traceback and cause: those hold what the channel had open
            # (an HTTP error's response), which must go when this handler ends.
            out.append(type(exc)(str(exc)))
        else:
            out.append(None)
    return out
