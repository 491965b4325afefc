"""E-mail over SMTP (the standard library's smtplib): one connection per message.

The Message-ID is derived from the outbox row's idempotency key, so a message sent twice
(at-least-once delivery after a crash) carries the same Message-ID both times and the
receiving side can drop the second; the key is also in ``X-Careline-Idempotency-Key``.
SMTP 5xx answers are permanent (the row fails at once); everything else is retried.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from crm_core.notifications.model import (
    DeliveryError,
    OutboxRow,
    PermanentDeliveryError,
    message_id,
)

IDEMPOTENCY_HEADER = "X-Careline-Idempotency-Key"


def build_email(row: OutboxRow, sender: str) -> EmailMessage:
    """The e-mail for an outbox row (pure: tested without a server)."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = row.message.recipient
    email["Subject"] = row.message.subject
    email["Message-ID"] = message_id(row.message.idempotency_key)
    email["Date"] = format_datetime(row.created_at)
    email[IDEMPOTENCY_HEADER] = row.message.idempotency_key
    email.set_content(row.message.body)
    return email


@dataclass(frozen=True, slots=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    timeout_s: float = 10.0
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    def send(self, row: OutboxRow) -> None:
        email = build_email(row, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = f"recipient refused: {exc.recipients}"
            if codes and all(code >= 500 for code in codes):
                raise PermanentDeliveryError(error) from exc
            raise DeliveryError(error) from exc
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if exc.smtp_code >= 500:
                raise PermanentDeliveryError(error) from exc
            raise DeliveryError(error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP server {self.host}:{self.port}: {exc or type(exc).__name__}"
            ) from exc
