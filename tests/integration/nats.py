"""A private nats-server for tests: JetStream in a temporary folder, its MQTT gateway, and
the subject mapping that partitions ``dt/{device}/...`` by device (the README's scaling
section shows the same configuration).

The binary is ``$CARELINE_TEST_NATS`` or ``nats-server`` on the PATH (Debian's package puts
it in /usr/sbin). Without one the test is skipped, or fails when ``CARELINE_TEST_REQUIRE``
contains ``nats`` (CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests import services

BINARY_ENV = "CARELINE_TEST_NATS"


def nats_config(
    *, client_port: int, mqtt_port: int, store_dir: Path, partitions: int, prefix: str = "p"
) -> str:
    """nats-server configuration: JetStream, MQTT, and ``dt.*.*`` partitioned by device."""
    mapping = (
        f"{prefix}.{{{{partition({partitions},1)}}}}.dt.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"
    )
    return f"""
server_name: careline-test
listen: 127.0.0.1:{client_port}
jetstream {{
  store_dir: "{store_dir}"
}}
mqtt {{
  listen: 127.0.0.1:{mqtt_port}
}}
mappings = {{
  "dt.*.*": "{mapping}"
}}
"""


def _binary() -> str | None:
    named = os.environ.get(BINARY_ENV)
    if named:
        return named
    return shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")


class NatsServer:
    """One nats-server; the ports and the JetStream folder stay across restarts."""

    def __init__(self, partitions: int) -> None:
        binary = _binary()
        if binary is None:
            services.unavailable("nats", f"no nats-server binary (set ${BINARY_ENV})")
            raise AssertionError("unreachable")
        self.binary = binary
        self.partitions = partitions
        self.folder = Path(tempfile.mkdtemp(prefix="careline-nats-"))
        self.client_port = services.free_port()
        self.port = services.free_port()  # MQTT
        self.config = self.folder / "nats.conf"
        self.config.write_text(
            nats_config(
                client_port=self.client_port,
                mqtt_port=self.port,
                store_dir=self.folder / "jetstream",
                partitions=partitions,
            ),
            "utf-8",
        )
        self._process: subprocess.Popen[bytes] | None = None
        self.log = self.folder / "nats.log"

    def start(self, timeout: float = 15.0) -> NatsServer:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                services.unavailable("nats", f"nats-server exited: {self.log.read_text()[-800:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.close()
        raise AssertionError(f"nats-server did not listen for MQTT within {timeout} s")

    def stop(self) -> None:
        """SIGTERM, keeping the folder (and JetStream's store) for a later start."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(15)

    def kill(self) -> None:
        """SIGKILL: a crash. JetStream kept what it acknowledged."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
