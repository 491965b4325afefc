"""A private Mosquitto with the shipped doors: TLS only, accounts from a password file, and
the ACL careline ships (``deploy/mosquitto/acl``), its certificates made by a test CA.

The CA and the broker's certificate (for ``127.0.0.1`` and ``localhost``) come from
``trustme``; nothing is read from the repository except the ACL, so the test checks the
file operators deploy.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import trustme

from careline.embedded.mosquitto import MosquittoError, find_mosquitto
from tests import services
from tests.integration.brokers import BINARY_ENV

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_ACL = ROOT / "deploy" / "mosquitto" / "acl"

CONFIG = """\
per_listener_settings false
allow_anonymous false
password_file {folder}/passwd
acl_file {folder}/acl
pid_file {folder}/mosquitto.pid
listener {port} 127.0.0.1
cafile {folder}/ca.pem
certfile {folder}/server.pem
keyfile {folder}/server.key
tls_version tlsv1.2
persistence false
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
log_dest file {folder}/mosquitto.log
log_type all
"""


class TlsBroker:
    """Mosquitto on a TLS-only loopback port; ``password_file`` is what careline writes."""

    def __init__(self, *, client_certificates: bool = False) -> None:
        """``client_certificates``: devices log in with a certificate from our CA, its
        common name as user name (require_certificate, use_identity_as_username)."""
        import os

        try:
            self.binary = find_mosquitto(os.environ.get(BINARY_ENV))
        except MosquittoError as exc:
            services.unavailable("mosquitto", str(exc))
            raise AssertionError("unreachable") from exc
        # Mosquitto started as root drops to its own user: it must read this folder and
        # write its PID file and log here.
        self.folder = Path(tempfile.mkdtemp(prefix="careline-tls-broker-"))
        self.folder.chmod(0o777)
        self.port = services.free_port()
        self.ca = trustme.CA()
        self.ca_file = self.folder / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        server = self.ca.issue_cert("127.0.0.1", "localhost")
        server.cert_chain_pems[0].write_to_path(str(self.folder / "server.pem"))
        server.private_key_pem.write_to_path(str(self.folder / "server.key"))
        shutil.copyfile(SHIPPED_ACL, self.folder / "acl")
        self.password_file = self.folder / "passwd"
        self.password_file.write_text("")
        self.pid_file = self.folder / "mosquitto.pid"
        for path in self.folder.iterdir():
            path.chmod(0o644)
        config = CONFIG.format(folder=self.folder, port=self.port)
        if client_certificates:
            config += "require_certificate true\nuse_identity_as_username true\n"
        (self.folder / "mosquitto.conf").write_text(config)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> TlsBroker:
        import socket

        self._process = subprocess.Popen(
            [self.binary, "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                self.close()
                raise MosquittoError(f"mosquitto exited at start: {err.strip()} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.close()
        raise MosquittoError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def reload(self) -> None:
        """SIGHUP, as an operator would; waits until the broker logs the reload."""
        assert self._process is not None
        before = self.log().count("Reloading config")
        self._process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while self.log().count("Reloading config") <= before:
            assert time.monotonic() < deadline, "mosquitto did not reload"
            time.sleep(0.02)

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def reload_count(self) -> int:
        return self.log().count("Reloading config")

    def close(self) -> None:
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
        shutil.rmtree(self.folder, ignore_errors=True)
