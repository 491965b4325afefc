"""The outbox's rules: what a message is, how its delivery is retried, when it gives up.

Pure: no I/O. A :class:`Message` is written to the outbox in the same transaction as the
event that caused it; the dispatcher claims due rows for a lease, re-checks consent, sends,
and marks each one ``sent``, ``suppressed`` (consent says no), or back to ``pending`` with
:func:`backoff` after a failure, until :data:`~OutboxPolicy.max_attempts` makes it
``failed``. Statuses::

    pending -> sending (claimed, lease) -> sent
                   |  \\-> suppressed (consent withdrawn since the message was written)
                   \\-> pending (failed, retried after a backoff) -> ... -> failed

A ``sending`` row whose lease ran out (the dispatcher died between claim and send) is due
again: delivery is at least once, and the receiver deduplicates by the idempotency key.

>>> policy = OutboxPolicy(base_delay_s=10, max_delay_s=300, max_attempts=5)
>>> [backoff(n, policy) for n in (1, 2, 3, 4, 5, 6)]
[10.0, 20.0, 40.0, 80.0, 160.0, 300.0]
>>> message_id("ticket/12/heads-up")
'<ticket.12.heads-up@careline.notifications>'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

from crm_core.consent.model import Channel, Purpose

Status = Literal["pending", "sending", "sent", "failed", "suppressed", "expired"]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
MESSAGE_DOMAIN: Final = "careline.notifications"


class DeliveryError(Exception):
    """A channel could not deliver now (server down, refused for a while): retried."""


class PermanentDeliveryError(DeliveryError):
    """A channel will never deliver this one (no such mailbox, malformed address): failed."""


class MessageExpired(PermanentDeliveryError):
    """The message's expiry passed before it could be sent: ``expired``, never retried."""


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    """Retry, lease and batch limits (the notifications settings group fills it in)."""

    base_delay_s: float = 30.0
    max_delay_s: float = 3600.0
    max_attempts: int = 8
    lease_s: float = 60.0
    batch: int = 20


def backoff(attempts: int, policy: OutboxPolicy) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubling, capped."""
    return float(min(policy.base_delay_s * 2 ** max(attempts - 1, 0), policy.max_delay_s))


@dataclass(frozen=True, slots=True)
class Message:
    """A message to send, as a use case or an event handler proposes it."""

    idempotency_key: str
    customer_id: int | None
    channel: Channel
    purpose: Purpose
    recipient: str
    subject: str = ""
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A message in the outbox with its delivery state."""

    id: int
    message: Message
    status: Status
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def message_id(idempotency_key: str) -> str:
    """The e-mail Message-ID for a key: the same key always gives the same id (RFC 5322)."""
    local = re.sub(r"[^A-Za-z0-9!#$%&'*+\-=?^_`{|}~.]", ".", idempotency_key).strip(".")
    return f"<{local or 'message'}@{MESSAGE_DOMAIN}>"
