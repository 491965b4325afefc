"""Telling the broker to read its password file again: SIGHUP to the PID in its PID file.

Mosquitto re-reads its password and ACL files on SIGHUP. (nats-server is restarted
instead: see :mod:`devices.credentials.nats_users`.)
Seen with Mosquitto 2.0.11 (tests/integration/test_broker_doors.py): at the reload a
connected device whose account was revoked is disconnected and refused when it comes back;
the other clients keep their connections.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from devices.errors import DeviceError


class ReloadError(DeviceError):
    """The broker could not be signalled."""


def reload_broker(pid_file: Path) -> int | None:
    """Send SIGHUP to the broker named by ``pid_file``; its PID, or None when there is no
    PID file (the broker is not running: it reads its files when it starts)."""
    if not pid_file.exists():
        return None
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReloadError(f"cannot read the broker's PID file {pid_file}: {exc}") from exc
    if not text.isdigit() or int(text) <= 1:
        raise ReloadError(f"{pid_file} holds no process id ({text[:20]!r})")
    pid = int(text)
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        raise ReloadError(f"cannot signal the broker (PID {pid}): {exc}") from exc
    return pid
