"""Signed webhooks in the Standard Webhooks style (the ``standardwebhooks`` library signs).

Each delivery is an HTTP POST of a JSON body ``{"type", "timestamp", "data"}`` with the
headers ``webhook-id`` (the outbox row's idempotency key: the receiver deduplicates by it),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 over ``id.timestamp.body`` with the shared secret). The
receiver verifies with the same library (``Webhook(secret).verify(body, headers)``).

A 2xx answer is delivered; 4xx other than 408 and 429 is permanent; the rest is retried.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from standardwebhooks import Webhook

from crm_core.notifications.model import DeliveryError, OutboxRow, PermanentDeliveryError

RETRYABLE_4XX = frozenset({408, 425, 429})


def webhook_body(row: OutboxRow, at: datetime) -> bytes:
    event = str(row.message.payload.get("type", f"careline.{row.message.purpose}"))
    body = {
        "type": event,
        "timestamp": at.isoformat(),
        "data": {
            "subject": row.message.subject,
            "body": row.message.body,
            **row.message.payload,
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: str, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    secret: str
    clock: Callable[[], datetime]
    timeout_s: float = 10.0

    def send(self, row: OutboxRow) -> None:
        url = row.message.recipient
        if not url.startswith(("http://", "https://")):
            raise PermanentDeliveryError(f"not an http(s) URL: {url!r}")
        now = self.clock()
        body = webhook_body(row, now)
        headers = signed_headers(self.secret, row.message.idempotency_key, now, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as exc:
            error = f"{url} answered {exc.code} {exc.reason}"
            if 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX:
                raise PermanentDeliveryError(error) from exc
            raise DeliveryError(error) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"{url}: {exc}") from exc
