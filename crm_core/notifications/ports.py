"""What the outbox and its dispatcher need: storage, the consent check, the channels."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from crm_core.consent.model import Channel, Decision, Purpose
from crm_core.notifications.model import Message, OutboxRow


class Outbox(Protocol):
    def enqueue(self, message: Message, now: datetime, *, suppressed: str | None = None) -> bool:
        """Add a message, due now; False (nothing added) when its key is already there.
        ``suppressed`` stores it as suppressed with that reason, never to be sent."""
        ...


class ConsentCheck(Protocol):
    def __call__(self, customer_id: int, purpose: Purpose, channel: Channel) -> Decision: ...


class ChannelAdapter(Protocol):
    """One way out (SMTP, webhook, MQTT push). ``send`` returns when the receiver has it.

    Raises :class:`~crm_core.notifications.model.DeliveryError` to be retried later, or
    :class:`~crm_core.notifications.model.PermanentDeliveryError` to give up at once.
    """

    def send(self, row: OutboxRow) -> None: ...
