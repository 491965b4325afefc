"""The demo's delivered mail, read from the embedded SMTP server's Maildir."""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from crm_core.kernel.errors import NotFound

_KEY = re.compile(r"^[A-Za-z0-9._:,-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Mail:
    key: str
    sender: str
    to: str
    subject: str
    date: datetime | None
    message_id: str
    body: str


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _mail(key: str, raw: bytes) -> Mail:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain", "html"))
    body = part.get_content() if part is not None else ""
    return Mail(
        key=key,
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=_date(message.get("Date")),
        message_id=str(message.get("Message-ID", "")),
        body=str(body),
    )


def list_mail(folder: Path, limit: int = 200) -> list[Mail]:
    """Delivered mail, newest first."""
    if not folder.exists():
        return []
    box = mailbox.Maildir(folder, create=False)
    mails = [_mail(key, box.get_bytes(key)) for key in box.iterkeys()]
    oldest = datetime.min.replace(tzinfo=UTC)
    mails.sort(key=lambda m: (m.date or oldest, m.key), reverse=True)
    return mails[:limit]


def get_mail(folder: Path, key: str) -> Mail:
    if not _KEY.match(key) or not folder.exists():
        raise NotFound(f"no mail {key!r}")
    box = mailbox.Maildir(folder, create=False)
    try:
        raw = box.get_bytes(key)
    except KeyError as exc:
        raise NotFound(f"no mail {key!r}") from exc
    return _mail(key, raw)
