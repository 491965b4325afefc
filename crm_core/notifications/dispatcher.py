"""The dispatcher: claims due outbox rows, re-checks consent, sends, records the outcome.

Each step is its own short transaction, and no transaction is held open while a channel
talks to a server: claim (commit: the lease is ours), then per row a consent check and
send, then the outcome. Consent is checked at the moment of sending, so a customer who
withdrew after the message was written gets nothing: the row becomes ``suppressed`` with
the reason and the ledger record that decided it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.consent.service import may_send
from crm_core.kernel.clock import Clock
from crm_core.notifications.model import (
    DeliveryError,
    OutboxPolicy,
    OutboxRow,
    PermanentDeliveryError,
    backoff,
)
from crm_core.notifications.ports import ChannelAdapter
from crm_core.notifications.postgres import (
    claim,
    mark_failed,
    mark_retry,
    mark_sent,
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
        outcomes: Counter[str] = Counter()
        with self._pool.connection() as conn:
            rows = claim(conn, self._clock(), self._policy.lease_s, self._policy.batch)
        for row in rows:
            outcomes[self.deliver(row)] += 1
        return outcomes

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
        message = row.message
        if message.customer_id is not None:
            with self._pool.connection() as conn:
                decision = may_send(
                    PostgresConsentLedger(conn),
                    message.customer_id,
                    message.purpose,
                    message.channel,
                )
            if not decision.allowed:
                reason = decision.cited
                self._settle(lambda conn: mark_suppressed(conn, row, reason))
                log.info("outbox %d suppressed: %s", row.id, reason)
                return "suppressed"
        channel = self._channels.get(message.channel)
        if channel is None:
            error = f"no {message.channel} channel is configured"
            self._settle(lambda conn: mark_failed(conn, row, error))
            return "failed"
        try:
            channel.send(row)
        except PermanentDeliveryError as exc:
            error = str(exc)
            self._settle(lambda conn: mark_failed(conn, row, error))
            log.warning("outbox %d failed for good: %s", row.id, error)
            return "failed"
        except DeliveryError as exc:
            error = str(exc)
            if row.attempts >= self._policy.max_attempts:
                self._settle(lambda conn: mark_failed(conn, row, error))
                log.warning("outbox %d failed after %d attempts: %s", row.id, row.attempts, error)
                return "failed"
            at = self._clock() + timedelta(seconds=backoff(row.attempts, self._policy))
            self._settle(lambda conn: mark_retry(conn, row, error, at))
            log.info("outbox %d not delivered (%s); retry at %s", row.id, error, at.isoformat())
            return "retry"
        now = self._clock()
        self._settle(lambda conn: mark_sent(conn, row, now))
        return "sent"
