"""A private Mosquitto for tests: :class:`careline.embedded.mosquitto.MosquittoProcess` plus the
signals only a test sends (pause, crash), and the skip-or-fail rule for a missing binary.

The binary is ``$CARELINE_TEST_MOSQUITTO`` or ``mosquitto`` on the PATH. Without one the
test is skipped, or fails when ``CARELINE_TEST_REQUIRE`` contains ``mosquitto`` (CI).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from careline.embedded.mosquitto import MosquittoError, MosquittoProcess
from tests import services

BINARY_ENV = "CARELINE_TEST_MOSQUITTO"


class TestBroker(MosquittoProcess):
    """One mosquitto on 127.0.0.1:``port``; the port stays across restarts."""

    __test__ = False  # not a test class, whatever its name

    def pause(self) -> None:
        """SIGSTOP: the broker stays connected but reads and answers nothing."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL: a crash; whatever it had not processed or saved is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()


def start_mosquitto(*, persistence: bool = False, port: int | None = None) -> TestBroker:
    """A started broker (a free port unless given); skips or fails when unavailable."""
    try:
        broker = TestBroker(os.environ.get(BINARY_ENV), port=port, persistence=persistence)
        return broker.start()
    except MosquittoError as exc:
        services.unavailable("mosquitto", str(exc))
        raise AssertionError("unreachable") from exc


@contextmanager
def running_mosquitto(*, persistence: bool = False) -> Iterator[TestBroker]:
    """:func:`start_mosquitto`, stopped and cleaned up on the way out."""
    broker = start_mosquitto(persistence=persistence)
    try:
        yield broker
    finally:
        broker.close()
