"""Sign-in at the door: throttling and lockout, and password checks that starve nothing.

* **Throttling and lockout** with ``limits`` (moving windows, a well-kept library whose
  storage is a URI: ``memory://`` in one process, ``redis://`` when several API processes
  must share counters). Every attempt counts against the account (the normalised e-mail,
  known or not, so a lockout reveals nothing) as it starts, so parallel guesses cannot
  slip past the count; a success clears it. Every failure counts against the client
  address. When either is over its limit, sign-in is refused with 429 and
  ``Retry-After`` *before* any password is checked, even the right one: the lockout.
* **Password checks** (Argon2id: about 50 ms of CPU and 64 MiB each) run on the gate's
  own few threads, at a lower CPU priority (nice 10), never on the threads that serve
  other requests, and with no database connection held: the user's hash is read first,
  the connection given back, then the hash checked. Waiting checks are coroutines, not
  threads; past a bounded queue the answer is 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from careline.settings import ApiSettings
from crm_core.auth.users import Credentials, check_password

QUEUE_PER_SLOT = 16  # checks that may wait for each concurrent slot before 503
HASHING_NICE = 10  # the hashing threads yield the CPU to the threads serving requests


def _lower_priority() -> None:
    """Run this thread at a lower CPU priority (Linux threads each have a nice value)."""
    # not Linux, or not allowed: run at normal priority
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why sign-in is refused before checking the password, and when to come back."""

    status: int
    message: str
    retry_after_s: int


class SignInGate:
    """Counters of failed sign-ins and the bounded pool of password checks."""

    def __init__(self, settings: ApiSettings) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self._per_account: RateLimitItem = parse(settings.sign_in_limit_per_account)
        self._per_address: RateLimitItem = parse(settings.sign_in_limit_per_address)
        self._max_waiting = settings.password_hash_concurrency * QUEUE_PER_SLOT
        self._hashing = ThreadPoolExecutor(
            max_workers=settings.password_hash_concurrency,
            thread_name_prefix="password-check",
            initializer=_lower_priority,
        )
        weakref.finalize(self, self._hashing.shutdown, wait=False)
        self._waiting = 0

    def _retry_after(self, item: RateLimitItem, key: str) -> int:
        reset = self._limiter.get_window_stats(item, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def attempt(self, account: str, address: str) -> Refusal | None:
        """Count an attempt on the account; a refusal when the account or the address is
        over its limit (then nothing is checked)."""
        address_key = f"address:{address}"
        if not self._limiter.test(self._per_address, address_key):
            return self._locked(self._per_address, address_key)
        account_key = f"account:{account}"
        if not self._limiter.hit(self._per_account, account_key):
            return self._locked(self._per_account, account_key)
        return None

    def _locked(self, item: RateLimitItem, key: str) -> Refusal:
        wait = self._retry_after(item, key)
        minutes = max(1, math.ceil(wait / 60))
        return Refusal(
            429,
            "Too many failed sign-ins for this account or from this address; "
            f"try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            wait,
        )

    def failed(self, address: str) -> None:
        self._limiter.hit(self._per_address, f"address:{address}")

    def succeeded(self, account: str) -> None:
        self._limiter.clear(self._per_account, f"account:{account}")

    def busy(self) -> Refusal | None:
        """503 when too many checks are waiting already (a flood from many addresses)."""
        if self._waiting >= self._max_waiting:
            return Refusal(503, "Sign-in is busy; try again in a few seconds.", 5)
        return None

    async def check(self, found: Credentials | None, password: str) -> bool:
        """Verify on the gate's own threads (at most ``password_hash_concurrency`` at once)."""
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._hashing, check_password, found, password)
        finally:
            self._waiting -= 1
