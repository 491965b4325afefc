"""A private Mosquitto for integration tests: start, stop and restart on one loopback port.

The binary is ``$CARELINE_TEST_MOSQUITTO`` or ``mosquitto`` on the PATH. Without one the test
is skipped, or fails when ``CARELINE_TEST_REQUIRE`` contains ``mosquitto`` (CI).

Use it from a fixture::

    @pytest.fixture
    def broker() -> Iterator[TestBroker]:
        with running_mosquitto() as broker:
            yield broker

``persistence=True`` keeps sessions and queued messages across :meth:`TestBroker.restart`
(Mosquitto writes its database when stopped). Mosquitto started as root drops to the
``mosquitto`` user, so the data folder is made writable for it; a root-only temporary
folder would make persistence silently do nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import services

BINARY_ENV = "CARELINE_TEST_MOSQUITTO"

CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
persistent_client_expiration 1d
log_dest stderr
{persistence}
"""


def mosquitto_binary() -> str:
    """The mosquitto to test with; skips (or fails in CI) when there is none."""
    binary = os.environ.get(BINARY_ENV) or shutil.which("mosquitto")
    if not binary or not os.access(binary, os.X_OK):
        services.unavailable("mosquitto", f"no binary (set {BINARY_ENV} or put it on PATH)")
        raise AssertionError("unreachable")
    return binary


class TestBroker:
    """One mosquitto process on 127.0.0.1:``port``; the port stays across restarts."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, binary: str, *, port: int | None = None, persistence: bool = False):
        self.binary = binary
        self.port = port or services.free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="careline-test-mosquitto-"))
        persistence_lines = ""
        if persistence:
            data = self.folder / "data"
            data.mkdir()
            # Readable by the unprivileged user mosquitto switches to when started as root.
            self.folder.chmod(0o755)
            data.chmod(0o777)
            persistence_lines = f"persistence true\npersistence_location {data}/"
        self.config = self.folder / "mosquitto.conf"
        self.config.write_text(CONFIG.format(port=self.port, persistence=persistence_lines))
        self.log = self.folder / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> TestBroker:
        """Start mosquitto and wait until its port accepts connections."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(  # our own binary and config
                [self.binary, "-c", str(self.config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start:\n{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """Terminate mosquitto (it saves its database first when persistent)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

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

    def close(self) -> None:
        """Stop and remove the config, log and data."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_mosquitto(*, persistence: bool = False, port: int | None = None) -> TestBroker:
    """A started broker (a free port unless given); skips or fails when unavailable."""
    broker = TestBroker(mosquitto_binary(), port=port, persistence=persistence)
    try:
        return broker.start()
    except RuntimeError as exc:
        broker.close()
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
