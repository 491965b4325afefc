"""A private Mosquitto process on a loopback port, for ``bench`` and the integration tests.

Its settings matter for QoS 1 with ack-after-commit: the default ``max_queued_messages``
(1000) silently drops messages queued for a slow or offline persistent consumer, and the
default ``max_inflight_messages`` (20) throttles MQTT 3.1.1 consumers (MQTT 5 consumers
bring their own Receive Maximum).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

CONFIG = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence {persistence}
{persistence_location}
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
persistent_client_expiration 1d
log_dest none
"""


class MosquittoError(RuntimeError):
    """The mosquitto binary is missing or the broker did not come up."""


def find_mosquitto(explicit: str | None = None) -> str:
    path = explicit or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(path).exists():
        raise MosquittoError(
            "no mosquitto binary found; install it (apt-get install mosquitto) or pass its path"
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MosquittoProcess:
    """Start, stop and restart a mosquitto on a fixed loopback port."""

    def __init__(
        self, binary: str | None = None, *, port: int | None = None, persistence: bool = False
    ) -> None:
        self.binary = find_mosquitto(binary)
        self.port = port or _free_port()
        self._folder = Path(tempfile.mkdtemp(prefix="careline-mosquitto-"))
        if persistence:
            # Started as root, mosquitto drops to its own user: it must be able to write here,
            # or persistence silently does nothing.
            self._folder.chmod(0o777)
        location = f"persistence_location {self._folder}/" if persistence else ""
        self._config = self._folder / "mosquitto.conf"
        self._config.write_text(
            CONFIG.format(
                port=self.port,
                persistence="true" if persistence else "false",
                persistence_location=location,
            )
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> Self:
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and config
            [self.binary, "-c", str(self._config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise MosquittoError(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise MosquittoError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._folder, ignore_errors=True)
