"""A lot's lineage through repacking: the lots it became, the lots it was made from.

Transformations (EPCIS TransformationEvent) form a graph of lots; a trace follows it with
one recursive query per direction. ``UNION`` (not ``UNION ALL``) makes a cycle in bad data
end the walk instead of looping.
"""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg.rows import TupleRow

from crm_core.kernel.read_models import ReadModel, UtcDateTime

Conn = psycopg.Connection[TupleRow]
Direction = Literal["down", "up"]

# down: from inputs to outputs (forward trace); up: from outputs to inputs (backward)
_WALK = """
WITH RECURSIVE walk(lot_id) AS (
    SELECT unnest(%(lots)s::bigint[])
    UNION
    SELECT there.lot_id
      FROM walk w
      JOIN transformation_lots here ON here.lot_id = w.lot_id AND here.role = %(here)s
      JOIN transformation_lots there ON there.transformation_id = here.transformation_id
                                    AND there.role = %(there)s
)
SELECT lot_id FROM walk ORDER BY lot_id
"""


def lineage(conn: Conn, lot_ids: list[int], direction: Direction) -> list[int]:
    """``lot_ids`` and every lot reached from them through transformations, sorted."""
    if not lot_ids:
        return []
    here, there = ("input", "output") if direction == "down" else ("output", "input")
    rows = conn.execute(_WALK, {"lots": lot_ids, "here": here, "there": there}).fetchall()
    return [int(r[0]) for r in rows]


class TransformationRef(ReadModel):
    reference: str
    site: str
    at: UtcDateTime
    inputs: list[int]
    outputs: list[int]


def transformations_of(conn: Conn, lot_ids: list[int]) -> list[TransformationRef]:
    """The transformations that consumed or produced any of ``lot_ids``."""
    if not lot_ids:
        return []
    rows = conn.execute(
        "SELECT t.reference, t.site_gln, t.transformed_at, "
        "array_agg(tl.lot_id ORDER BY tl.lot_id) FILTER (WHERE tl.role = 'input'), "
        "array_agg(tl.lot_id ORDER BY tl.lot_id) FILTER (WHERE tl.role = 'output') "
        "FROM lot_transformations t JOIN transformation_lots tl ON tl.transformation_id = t.id "
        "WHERE t.id IN (SELECT transformation_id FROM transformation_lots WHERE lot_id = ANY(%s)) "
        "GROUP BY t.id ORDER BY t.transformed_at, t.id",
        (lot_ids,),
    ).fetchall()
    return [
        TransformationRef(reference=r, site=s, at=a, inputs=list(i or []), outputs=list(o or []))
        for r, s, a, i, o in rows
    ]
