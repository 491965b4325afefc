"""A bound in bytes on what ingest holds: messages received and not yet acknowledged.

A budget counts messages in bytes from the moment the MQTT thread hands one over until
its batch is committed and acknowledged. The MQTT thread never waits on it (paho sends
keep-alives from that thread: a thread waiting out a database outage let the broker drop
the session after 45 s); it takes what arrives
(:meth:`~ByteBudget.take`). Past the budget a
QoS 0 message is dropped (at most once is its contract), and QoS 1 messages are bounded by
the broker's window of unacknowledged messages (Receive Maximum, ``max_inflight_messages``,
``max_ack_pending``): nothing is acknowledged before its batch is committed, so the broker
stops sending when that window is full. A second budget bounds what the messages become
once decoded (rows waiting to be written, many times their bytes): the batch builder
waits on it until the writer commits.
One message is always let in when nothing is held, so a message larger than the whole
budget (it cannot be larger than ``ingest.max_message_bytes``) does not wait forever.

>>> budget = ByteBudget(100)
>>> budget.acquire(60, timeout=0), budget.acquire(60, timeout=0)
(True, False)
>>> budget.release(60); budget.acquire(60, timeout=0)
True
"""

from __future__ import annotations

import threading
import time


class ByteBudget:
    """Counts bytes in, bytes out; ``acquire`` waits while the limit would be passed."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._held = 0
        self.peak = 0
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def held(self) -> int:
        return self._held

    def acquire(self, size: int, timeout: float) -> bool:
        """Take ``size`` bytes; False if they did not become free within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._held and self._held + size > self._limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._changed.wait(remaining):
                    return False
            self._held += size
            self.peak = max(self.peak, self._held)
            return True

    def take(self, size: int) -> bool:
        """Take ``size`` bytes without waiting, even past the limit; False when past it.

        >>> budget = ByteBudget(100)
        >>> budget.take(80), budget.take(80), budget.held
        (True, False, 160)
        """
        with self._changed:
            fits = not self._held or self._held + size <= self._limit
            self._held += size
            self.peak = max(self.peak, self._held)
            return fits

    def release(self, size: int) -> None:
        with self._changed:
            self._held = max(self._held - size, 0)
            self._changed.notify_all()
