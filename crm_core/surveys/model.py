"""Satisfaction surveys: one per resolved ticket, answered once, scored the standard way.

A survey asks CSAT (1-5, "how satisfied are you with the service?") and NPS (0-10, "how
likely are you to recommend us?") and takes an optional comment. Scores follow the
usual definitions (conventions §4.5): CSAT % is the share of answers of 4 or 5; NPS is
the share of promoters (9-10) minus the share of detractors (0-6), passives counting in
the denominator. Both are whole numbers.

>>> csat_percent([5] * 42 + [4] * 32 + [3] * 33)
69
>>> nps([10] * 120 + [8] * 50 + [3] * 30)
45
>>> Answer.checked(csat=6, nps=9, comment="")
Traceback (most recent call last):
...
crm_core.surveys.model.InvalidAnswerError: csat must be a whole number from 1 to 5, not 6
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_COMMENT = 2000


class InvalidAnswerError(ValueError):
    """The answer is out of range; the message names the field."""


class AlreadyAnsweredError(Exception):
    """A survey is answered once; the first answer stands."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A customer's answer: CSAT 1-5, NPS 0-10 (either may be skipped), a comment."""

    csat: int | None
    nps: int | None
    comment: str

    @classmethod
    def checked(cls, *, csat: int | None, nps: int | None, comment: str) -> Answer:
        """The answer, or :class:`InvalidAnswerError` naming what is wrong."""
        if csat is not None and (type(csat) is not int or not 1 <= csat <= 5):
            raise InvalidAnswerError(f"csat must be a whole number from 1 to 5, not {csat!r}")
        if nps is not None and (type(nps) is not int or not 0 <= nps <= 10):
            raise InvalidAnswerError(f"nps must be a whole number from 0 to 10, not {nps!r}")
        if csat is None and nps is None:
            raise InvalidAnswerError("answer at least one question (csat or nps)")
        text = comment.replace("\x00", "").strip()
        if len(text) > MAX_COMMENT:
            raise InvalidAnswerError(f"the comment is limited to {MAX_COMMENT} characters")
        return cls(csat, nps, text)


@dataclass(frozen=True, slots=True)
class Survey:
    """A survey sent for a ticket, and its answer once given."""

    id: int
    ticket_id: int
    customer_id: int
    sent_at: datetime
    answered_at: datetime | None
    answer: Answer | None


def csat_percent(scores: Sequence[int]) -> int | None:
    """Share of CSAT answers that are 4 or 5, in whole percent; None without answers."""
    if not scores:
        return None
    return round(100 * sum(1 for s in scores if s >= 4) / len(scores))


def nps(scores: Sequence[int]) -> int | None:
    """Net promoter score from -100 to +100; None without answers."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))
