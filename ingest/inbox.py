"""A bound in bytes on what ingest holds: messages received and not yet acknowledged.

The inbox queue is bounded in messages; a budget bounds the same messages in bytes, from
the moment the MQTT thread hands one over until its batch is committed and acknowledged.
When it is spent the MQTT thread waits, stops reading, and TCP keeps the rest at the
broker. A second budget bounds what the messages become once decoded (rows waiting to be
written, many times their bytes): the batch builder waits on it until the writer commits.
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

    def release(self, size: int) -> None:
        with self._changed:
            self._held = max(self._held - size, 0)
            self._changed.notify_all()
