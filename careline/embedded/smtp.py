"""The demo's mail server: aiosmtpd on loopback, storing every message in a Maildir.

Customer e-mail from the outbox goes through real SMTP to it; the console's Mail page reads
the Maildir (``<data_dir>/mail``). It starts only when no SMTP host is configured.
"""

from __future__ import annotations

import logging
import mailbox
import socket
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)
# aiosmtpd logs every SMTP command at INFO: the demo's output is for what careline does
logging.getLogger("mail.log").setLevel(logging.WARNING)

MAIL_FOLDER = "mail"


class MaildirHandler:
    """aiosmtpd handler: each accepted message becomes one file in the Maildir."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._maildir = mailbox.Maildir(folder, create=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        if "Delivered-To" not in message and envelope.rcpt_tos:
            message["Delivered-To"] = ", ".join(envelope.rcpt_tos)
        self._maildir.add(mailbox.MaildirMessage(message.as_bytes()))
        return "250 Message accepted for delivery"


def _free_port(wanted: int) -> int:
    """``wanted`` if it is free, else any free port (0 asks for any)."""
    if wanted:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", wanted))
                return wanted
            except OSError:
                pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedSmtp:
    """Start with :meth:`start` (returns the port), stop with :meth:`stop`."""

    def __init__(self, folder: Path, port: int = 8025) -> None:
        self.folder = folder
        self._wanted = port
        self._controller: Controller | None = None
        self.port = port

    def start(self) -> int:
        self.port = _free_port(self._wanted)
        handler: Any = MaildirHandler(self.folder)
        self._controller = Controller(handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        log.info("embedded SMTP server on 127.0.0.1:%d, mail kept in %s", self.port, self.folder)
        return self.port

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
