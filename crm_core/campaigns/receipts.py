"""A store's receipt: what it redeems, once, however often it is delivered.

A point-of-sale backend reports each receipt (see ``ingest.receipts`` for the topic and the
payload). A line may carry the ``offer_id`` of the coupon the shopper's app showed at the
till: that redeems the offer (the push's ``data.offer_id``), if it was sent to this
customer and had not expired at the time of the purchase. A line without a coupon, in a
category of a campaign whose *holdout* decision for this customer is still within its
window, is that holdout's conversion: the uplift report compares those with redemptions.
A line that cannot redeem is kept with why (another customer's offer, expired, suppressed,
unknown): the purchase happened, so the receipt is recorded and nothing is silent.

The receipt row, unique per store and receipt id, is the replay guard: the same receipt
again (same bytes) changes nothing; the same id with different contents is refused, since
one of the two is wrong.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from crm_core.campaigns.postgres import CampaignConflict, redeem
from crm_core.campaigns.spend import add_spend
from crm_core.kernel.errors import NotFound

Connection = psycopg.Connection[TupleRow]


class ReceiptRefused(ValueError):
    """The receipt cannot be recorded; ``rule`` is the dead letter's reason."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    category: str
    amount_cents: int
    sku: str = ""
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    store_code: str
    receipt_id: str
    at: datetime
    customer_id: int | None
    total_cents: int
    lines: tuple[ReceiptLine, ...]

    def digest(self) -> bytes:
        """What the receipt says, for telling a replay from a different receipt."""
        text = repr((self.customer_id, self.at.isoformat(), self.total_cents, self.lines))
        return hashlib.sha256(text.encode()).digest()


@dataclass(frozen=True, slots=True)
class Recorded:
    duplicate: bool
    outcomes: tuple[dict[str, Any], ...] = ()

    @property
    def redeemed(self) -> int:
        return sum(1 for o in self.outcomes if o["result"] == "redeemed")


def record_receipt(conn: Connection, receipt: Receipt, received_at: datetime) -> Recorded:
    """Record the receipt and what its lines redeem, in the caller's transaction.

    :class:`ReceiptRefused` for an unknown store or customer, or an id reused for a
    different receipt.
    """
    if not conn.execute(
        "SELECT 1 FROM presence_stores WHERE code = %s", (receipt.store_code,)
    ).fetchone():
        raise ReceiptRefused("unknown_store", f"no store {receipt.store_code!r}")
    if (
        receipt.customer_id is not None
        and not conn.execute(
            "SELECT 1 FROM customers WHERE id = %s", (receipt.customer_id,)
        ).fetchone()
    ):
        raise ReceiptRefused("unknown_customer", f"no customer {receipt.customer_id}")
    digest = receipt.digest()
    row = conn.execute(
        "INSERT INTO pos_receipts (store_code, receipt_id, customer_id, at, received_at, "
        "total_cents, digest, lines) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (store_code, receipt_id) DO NOTHING RETURNING id",
        (
            receipt.store_code, receipt.receipt_id, receipt.customer_id, receipt.at,
            received_at, receipt.total_cents, digest,
            Jsonb([_line_json(line) for line in receipt.lines]),
        ),
    ).fetchone()  # fmt: skip
    if row is None:
        kept = conn.execute(
            "SELECT digest FROM pos_receipts WHERE store_code = %s AND receipt_id = %s",
            (receipt.store_code, receipt.receipt_id),
        ).fetchone()
        if kept is not None and bytes(kept[0]) == digest:
            return Recorded(duplicate=True)
        raise ReceiptRefused(
            "receipt_conflict",
            f"receipt {receipt.receipt_id!r} of store {receipt.store_code!r} was recorded "
            "already with different contents",
        )
    if receipt.customer_id is not None:  # a new receipt: its lines join the purchase history
        add_spend(conn, receipt.customer_id, receipt.at,
                  [(line.category, line.amount_cents) for line in receipt.lines])  # fmt: skip
    outcomes = tuple(
        _apply_line(conn, receipt, n, line, received_at) for n, line in enumerate(receipt.lines)
    )
    conn.execute(
        "UPDATE pos_receipts SET outcomes = %s WHERE id = %s", (Jsonb(list(outcomes)), row[0])
    )
    return Recorded(duplicate=False, outcomes=outcomes)


def _line_json(line: ReceiptLine) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "category": line.category,
        "amount_cents": line.amount_cents,
        "offer_id": line.offer_id,
    }


def _coupon(
    conn: Connection,
    receipt: Receipt,
    offer_id: int,
    key: str,
    amount_cents: int,
    received_at: datetime,
) -> str | None:
    """Redeem the coupon shown at the till; why not, if it cannot be."""
    owner = conn.execute(
        "SELECT customer_id FROM offer_decisions WHERE id = %s", (offer_id,)
    ).fetchone()
    if owner is None:
        return f"no offer {offer_id}"
    if receipt.customer_id is not None and int(owner[0]) != receipt.customer_id:
        return "the offer was made to another customer"
    try:
        redeem(conn, offer_id, key, amount_cents, receipt.at, f"pos:{receipt.store_code}",
               received_at)  # fmt: skip
    except (NotFound, CampaignConflict) as exc:
        return str(exc)
    return None


def _apply_line(
    conn: Connection, receipt: Receipt, n: int, line: ReceiptLine, received_at: datetime
) -> dict[str, Any]:
    # offer_decisions.receipt_id is unique: one key per line, so one receipt may redeem
    # several coupons.
    key = f"{receipt.store_code}/{receipt.receipt_id}#{n + 1}"
    if line.offer_id is not None:
        refused = _coupon(conn, receipt, line.offer_id, key, line.amount_cents, received_at)
        if refused is not None:
            return {"line": n + 1, "offer_id": line.offer_id, "result": "refused",
                    "reason": refused}  # fmt: skip
        return {"line": n + 1, "offer_id": line.offer_id, "result": "redeemed"}
    if receipt.customer_id is None:
        return {"line": n + 1, "result": "anonymous"}
    held = conn.execute(
        "SELECT d.id FROM offer_decisions d JOIN campaigns c ON c.id = d.campaign_id "
        "WHERE d.customer_id = %s AND d.outcome = 'holdout' AND d.receipt_id IS NULL "
        "AND d.at <= %s AND d.expires_at >= %s AND %s = ANY(c.categories) "
        "ORDER BY d.at DESC LIMIT 1",
        (receipt.customer_id, receipt.at, receipt.at, line.category),
    ).fetchone()
    if held is None:
        return {"line": n + 1, "result": "no_offer"}
    actor = f"pos:{receipt.store_code}"
    redeem(conn, int(held[0]), key, line.amount_cents, receipt.at, actor, received_at)
    return {"line": n + 1, "offer_id": int(held[0]), "result": "holdout_conversion"}
