"""A recall's ranked lots, extended through repacking (pure).

A lot made from a lot in scope is in scope too, if it was made after its source was
exposed (a lot repacked before the truck left never rode on it); a lot made from a lot out
of scope is listed out. Each derived lot is ranked right after the lot it was made from,
with the reason, so the reviewer sees and can change it like any other lot.

>>> from datetime import datetime, UTC
>>> t = lambda h: datetime(2026, 12, 3, h, tzinfo=UTC)
>>> direct = [Ranked(1, True, "in: on the truck"), Ranked(2, False, "out: stayed cold")]
>>> made = [Made(3, 1, "RP-1", "Depot South", t(7)), Made(4, 2, "RP-2", "Depot", t(8)),
...         Made(5, 1, "RP-0", "Plant", t(1))]
>>> for r in with_repacked(direct, {1: t(6)}, made, {1: "LM2", 2: "LJ2", 5: "X"}):
...     print(r.lot_id, r.included, r.why)
1 True in: on the truck
3 True in: repacked from lot LM2 on 2026-12-03 at Depot South (RP-1), after LM2 was exposed
5 False out: repacked from lot LM2 on 2026-12-03 at Plant (RP-0), before LM2 was exposed
2 False out: stayed cold
4 False out: repacked from lot LJ2 on 2026-12-03 at Depot (RP-2), which is out of scope
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Ranked:
    lot_id: int
    included: bool
    why: str


@dataclass(frozen=True, slots=True)
class Made:
    """Lot ``lot_id`` made from lot ``source_id`` by repacking ``reference`` at ``site``."""

    lot_id: int
    source_id: int
    reference: str
    site: str
    at: datetime


def with_repacked(
    direct: list[Ranked],
    exposed_at: dict[int, datetime | None],
    made: list[Made],
    codes: dict[int, str],
) -> list[Ranked]:
    """``direct`` (ranked, lots in scope have an ``exposed_at``: None for "always", such
    as a lot complained about) with every lot made from them inserted after its source."""
    state: dict[int, Ranked] = {r.lot_id: r for r in direct}
    since: dict[int, datetime | None] = {
        r.lot_id: exposed_at.get(r.lot_id) for r in direct if r.included
    }
    placed_under: dict[int, int] = {}
    changed = True
    while changed:  # until no lot changes: a lot can be made by several repackings
        changed = False
        for m in sorted(made, key=lambda m: (m.at, m.lot_id, m.source_id)):
            if m.lot_id in state and (m.lot_id not in placed_under or state[m.lot_id].included):
                continue  # on the leg itself, or in scope already
            source = codes.get(m.source_id, str(m.source_id))
            head = f"repacked from lot {source} on {m.at:%Y-%m-%d} at {m.site} ({m.reference})"
            if m.source_id in since:
                exposed = since[m.source_id]
                if exposed is None or m.at >= exposed:
                    found = Ranked(m.lot_id, True, f"in: {head}, after {source} was exposed")
                    since[m.lot_id] = m.at
                else:
                    found = Ranked(m.lot_id, False, f"out: {head}, before {source} was exposed")
            elif m.source_id in state:
                found = Ranked(m.lot_id, False, f"out: {head}, which is out of scope")
            else:
                continue  # its source is not listed (yet)
            if state.get(m.lot_id) != found and (
                m.lot_id not in state or found.included or m.lot_id not in placed_under
            ):
                state[m.lot_id], placed_under[m.lot_id] = found, m.source_id
                changed = True
    children: dict[int, list[int]] = {}
    for child, parent in placed_under.items():
        children.setdefault(parent, []).append(child)
    order: list[Ranked] = []
    seen: set[int] = set()

    def emit(lot_id: int) -> None:
        if lot_id in seen:
            return
        seen.add(lot_id)
        order.append(state[lot_id])
        for child in sorted(children.get(lot_id, []), key=lambda c: not state[c].included):
            emit(child)

    for r in direct:
        emit(r.lot_id)
    return order
