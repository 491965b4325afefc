"""Recall classes, statuses, the notice's wording (21 CFR 7.49, conventions §3.4) and the
effectiveness check (pure).

>>> subject, body = notice_text(
...     "II", "Fresh milk 1 L", ["LOT42"], "GTIN 07032069804988",
...     "the refrigerated truck TR-9 held the milk above 8 °C for 3 h",
...     "customer", "+44 20 7946 0000")
>>> subject
'URGENT: FOOD RECALL - Fresh milk 1 L'
>>> "Lot number(s): LOT42" in body and "Do not eat" in body
True
>>> effectiveness(reached=9, total=10)
('B', 0.9)
>>> effectiveness(reached=0, total=0)
('A', 1.0)
"""

from __future__ import annotations

from typing import Literal

RecallClass = Literal["I", "II", "III"]
RecallStatus = Literal["proposed", "approved", "closed", "dismissed"]
Level = Literal["store", "customer"]

CLASS_MEANING: dict[str, str] = {
    "I": "a reasonable probability of serious adverse health consequences or death",
    "II": "temporary or medically reversible adverse health consequences may follow",
    "III": "use or exposure is not likely to cause adverse health consequences",
}


class RecallError(Exception):
    """A move the recall's state does not allow (approve twice, change an approved scope)."""


def notice_text(
    recall_class: str,
    product: str,
    lots: list[str],
    codes: str,
    reason: str,
    level: Level,
    contact: str,
) -> tuple[str, str]:
    """Subject and body of a recall notice: marked "urgent" for classes I and II; says the
    product is recalled, identifies it with its lot numbers and codes, gives the reason and
    hazard, says to stop distribution or use now, what to do, and how to report back."""
    urgent = "URGENT: " if recall_class in ("I", "II") else ""
    subject = f"{urgent}FOOD RECALL - {product}"
    if level == "store":
        action = [
            "Stop selling and distributing this product immediately and remove it from "
            "shelves and stock.",
            "Notify your own customers who may have bought it.",
            "Keep the product aside for collection and report the quantity you hold.",
        ]
    else:
        action = [
            "Do not eat or use this product. Stop using it immediately.",
            "Return it to the store where you bought it for a full refund, or dispose of it.",
        ]
    body = "\n".join(
        [
            f"{subject}",
            "",
            f"Product: {product}",
            f"Lot number(s): {', '.join(lots)}",
            f"Code(s): {codes}",
            "",
            f"Reason: {reason}.",
            f"Hazard (class {recall_class}): {CLASS_MEANING[recall_class]}.",
            "",
            "What to do:",
            *[f"- {line}" for line in action],
            "",
            f"Please confirm you received this notice, or ask us anything: {contact}.",
        ]
    )
    return subject, body


def effectiveness(*, reached: int, total: int) -> tuple[str, float]:
    """The share of consignees reached and its effectiveness-check level (A = 100 %,
    B = 10-100 %, C = 10 %, D = 2 %, E = none), the level the share meets."""
    share = 1.0 if total == 0 else reached / total
    if share >= 1.0:
        return "A", share
    if share > 0.10:
        return "B", share
    if share >= 0.10:
        return "C", share
    if share >= 0.02:
        return "D", share
    return "E", share
