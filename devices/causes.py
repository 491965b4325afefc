"""Probable causes of faults, kept as catalog data: a signature, the part to bring, the advice.

Each device type lists its causes in ``catalog.toml`` (``[[device_types.<type>.causes]]``),
in the order the diagnosis tries them (the most specific first). A cause's **signature** is
a list of moves, each written ``"<metric> <up|down>"`` with an optional detector
(``"compressor_power up regression"``): the cause fits when every move is seen among the
device's live faults. Its **indicator** is the health indicator whose trend toward a failure
line gives the urgency (conventions §6.2): ``{ metric, fails_at, trend }`` with ``trend``
``linear`` or ``exponential`` (cumulative wear, such as a bearing's vibration).

``part`` is the spare part a technician brings; empty when no part is needed (a door left
open: ask the customer). ``visit`` says whether a technician visit is the first step.
``cleared_hint`` is what a fault that clears by itself most likely means ("door closed").
``customer_advice`` is what the customer's heads-up tells them to do (``advice`` is for the
service team); a cause that needs no visit should have it, since the customer is the fix.

>>> [cause] = parse_causes([{"key": "door_left_open", "label": "Door left open",
...     "signature": ["door_open up"], "visit": False, "advice": "Ask to close it.",
...     "customer_advice": "Close the door.", "cleared_hint": "door closed"}],
...     {"door_open"}, "fridge")
>>> cause.signature, cause.part, cause.indicator
((Move(metric='door_open', direction='up', detector=None),), '', None)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

Direction = Literal["up", "down"]
Trend = Literal["linear", "exponential"]


class CauseError(ValueError):
    """A cause in the catalog is malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Move:
    """One element of a signature: ``metric`` moved ``direction``, seen by ``detector``
    (None: by any detector or limit)."""

    metric: str
    direction: Direction
    detector: str | None = None


@dataclass(frozen=True, slots=True)
class Indicator:
    """The health indicator of a cause: ``metric`` fails when it reaches ``fails_at``."""

    metric: str
    fails_at: float
    trend: Trend = "linear"


@dataclass(frozen=True, slots=True)
class Cause:
    key: str
    label: str
    part: str
    visit: bool
    advice: str
    cleared_hint: str
    signature: tuple[Move, ...]
    indicator: Indicator | None = None
    customer_advice: str = ""


def parse_move(text: str, metrics: Collection[str], where: str) -> Move:
    words = text.split()
    if len(words) not in (2, 3) or words[1] not in ("up", "down"):
        raise CauseError(f"{where}: a move is 'metric up|down [detector]', got {text!r}")
    if words[0] not in metrics:
        raise CauseError(f"{where}: {words[0]!r} is not a metric of the type")
    return Move(words[0], cast(Direction, words[1]), words[2] if len(words) == 3 else None)


def _indicator(raw: dict[str, Any], metrics: Collection[str], where: str) -> Indicator:
    try:
        indicator = Indicator(
            metric=str(raw["metric"]),
            fails_at=float(raw["fails_at"]),
            trend=cast(Trend, str(raw.get("trend", "linear"))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CauseError(f"{where}.indicator: {exc!r}") from exc
    if indicator.metric not in metrics or indicator.trend not in ("linear", "exponential"):
        raise CauseError(f"{where}.indicator: a metric of the type, trend linear|exponential")
    if indicator.trend == "exponential" and indicator.fails_at <= 0:
        raise CauseError(f"{where}.indicator: an exponential trend fails at a positive value")
    return indicator


def parse_causes(
    raw: Iterable[dict[str, Any]], metrics: Collection[str], where: str
) -> tuple[Cause, ...]:
    """The causes of one device type; :class:`CauseError` names a malformed one."""
    causes: list[Cause] = []
    for index, item in enumerate(raw):
        here = f"{where}.causes[{index}]"
        try:
            signature = tuple(parse_move(str(m), metrics, here) for m in item["signature"])
            cause = Cause(
                key=str(item["key"]),
                label=str(item["label"]),
                part=str(item.get("part", "")),
                visit=bool(item.get("visit", True)),
                advice=str(item["advice"]),
                cleared_hint=str(item.get("cleared_hint", "")),
                signature=signature,
                indicator=_indicator(item["indicator"], metrics, here)
                if "indicator" in item
                else None,
                customer_advice=str(item.get("customer_advice", "")),
            )
        except (KeyError, TypeError) as exc:
            raise CauseError(f"{here}: {exc!r}") from exc
        if not signature:
            raise CauseError(f"{here}: a cause needs at least one move in its signature")
        if cause.visit and not cause.part:
            raise CauseError(f"{here}: a cause that sends a technician names the part to bring")
        causes.append(cause)
    keys = [c.key for c in causes]
    if len(set(keys)) != len(keys):
        raise CauseError(f"{where}.causes: keys must be unique, got {keys}")
    return tuple(causes)
