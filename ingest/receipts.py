"""Receipts from stores' point-of-sale backends: topic, payload, and applying a message.

The POS backend publishes, QoS 1, each receipt of a store::

    pos/{store_code}/receipts

``pos`` is fixed; ``store_code`` is the store's code in careline (``/api/v1/stores``). The
payload is a JSON object::

    {"receipt_id": "LYON-1-000123", "at": "2026-12-06T10:12:00Z", "customer_id": 42,
     "total_cents": 1249,
     "lines": [{"sku": "YOG-4", "category": "dairy", "amount_cents": 349, "offer_id": 17},
               {"sku": "BRD-1", "category": "bakery", "amount_cents": 900}]}

``at`` is UTC epoch seconds or an RFC 3339 time with an offset; ``customer_id`` is the
loyalty card's customer (``null`` for an anonymous sale); ``offer_id`` is the coupon the
app showed (the push's ``data.offer_id``); 1 to 200 lines; no other keys. What a receipt
does to offers is :mod:`crm_core.campaigns.receipts`. A message that breaks a rule, names
an unknown store or customer, or reuses a receipt id for different contents becomes a dead
letter (the same table and API as telemetry's); a redelivered receipt changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

import psycopg
from psycopg.rows import TupleRow
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from crm_core.campaigns.receipts import (
    Receipt,
    ReceiptLine,
    ReceiptRefused,
    Recorded,
    record_receipt,
)
from ingest.messages import DecodeError, RawMessage, Rejection, RejectReason
from ingest.presence import dead_letter
from ingest.topics import KeyedTopic

RECEIPTS_TOPIC: Final = KeyedTopic("pos", "receipts", "store_code")
ROOT: Final = RECEIPTS_TOPIC.root
SUBSCRIPTION: Final = RECEIPTS_TOPIC.subscription
MAX_LINES: Final = 200
_TEXT = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]

Connection = psycopg.Connection[TupleRow]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Line(_Strict):
    sku: Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    category: _TEXT
    amount_cents: Annotated[int, Field(ge=0, le=10_000_000)]
    offer_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None


class _Payload(_Strict):
    receipt_id: _TEXT
    at: AwareDatetime | Annotated[float, Field(ge=2.0**28, le=1e11)]
    customer_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    total_cents: Annotated[int, Field(ge=0, le=1_000_000_000)]
    lines: Annotated[list[_Line], Field(min_length=1, max_length=MAX_LINES)]


def receipts_topic(store_code: str) -> str:
    """The topic a store's receipts are published to.

    >>> receipts_topic("LYON-1")
    'pos/LYON-1/receipts'
    """
    return RECEIPTS_TOPIC.make(store_code)


def parse_receipts_topic(topic: str) -> str:
    """The store code of a receipts topic; :class:`DecodeError` if not one."""
    return RECEIPTS_TOPIC.parse(topic)


def decode_receipt(store_code: str, payload: bytes) -> Receipt:
    """The receipt in a payload; :class:`DecodeError` naming the first broken rule.

    >>> decode_receipt("S", b'{"receipt_id": "r1", "at": 1765015200, "total_cents": 100,'
    ...     b' "lines": [{"category": "dairy", "amount_cents": 100, "offer_id": 3}]}').lines
    (ReceiptLine(category='dairy', amount_cents=100, sku='', offer_id=3),)
    >>> decode_receipt("S", b'{"receipt_id": "r1", "lines": []}')
    Traceback (most recent call last):
    ...
    ingest.messages.DecodeError: invalid: at: Field required
    """
    try:
        parsed = _Payload.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        reason = (
            RejectReason.UNDECODABLE if first["type"] == "json_invalid" else RejectReason.INVALID
        )
        raise DecodeError(reason, f"{where}: {first['msg']}") from None
    at = (
        parsed.at.astimezone(UTC)
        if isinstance(parsed.at, datetime)
        else datetime.fromtimestamp(parsed.at, UTC)
    )
    if at.year < 2000:
        raise DecodeError(RejectReason.INVALID, f"at: {at.isoformat()} is not a receipt's time")
    if sum(line.amount_cents for line in parsed.lines) > parsed.total_cents:
        raise DecodeError(RejectReason.INVALID, "the lines add up to more than total_cents")
    lines = tuple(
        ReceiptLine(line.category, line.amount_cents, line.sku, line.offer_id)
        for line in parsed.lines
    )
    return Receipt(store_code, parsed.receipt_id, at, parsed.customer_id, parsed.total_cents, lines)


_REFUSALS: Final = {
    "unknown_store": RejectReason.UNKNOWN_STORE,
    "unknown_customer": RejectReason.UNKNOWN_CUSTOMER,
    "receipt_conflict": RejectReason.RECEIPT_CONFLICT,
}


def apply_receipt(conn: Connection, message: RawMessage) -> Recorded | Rejection:
    """Record one receipt message in the caller's transaction, or dead-letter it."""
    try:
        store_code = parse_receipts_topic(message.topic)
        if message.oversized is not None:
            raise DecodeError(
                RejectReason.TOO_LARGE, f"payload of {message.oversized.size} bytes is too large"
            )
        receipt = decode_receipt(store_code, message.payload)
        received = datetime.fromtimestamp(message.received_at, UTC)
        with conn.transaction():  # a refusal must not leave half a receipt behind
            return record_receipt(conn, receipt, received)
    except DecodeError as exc:
        rejection = Rejection(message, exc.reason, exc.detail)
    except ReceiptRefused as exc:
        rejection = Rejection(message, _REFUSALS[exc.rule], exc.detail)
    dead_letter(conn, rejection)
    return rejection
