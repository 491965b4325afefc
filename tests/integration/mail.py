"""A real SMTP server for tests: aiosmtpd on a loopback port, mail kept in a Maildir."""

from __future__ import annotations

import mailbox
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from careline.embedded.smtp import EmbeddedSmtp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailServer(EmbeddedSmtp):
    """The demo's embedded server, on a port of the test's choosing (so it can be down)."""

    def received(self) -> list[EmailMessage]:
        if not self.folder.exists():
            return []
        box = mailbox.Maildir(self.folder, create=False)
        mails = []
        for key in box.iterkeys():
            mail = message_from_bytes(box.get_bytes(key), policy=policy.default)
            assert isinstance(mail, EmailMessage)
            mails.append(mail)
        return mails


def mail_server(folder: Path, port: int | None = None) -> MailServer:
    return MailServer(folder, port or free_port())
