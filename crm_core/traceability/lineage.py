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


# every repacking downstream of the lots: which lot was made from which, where and when
_EDGES = """
WITH RECURSIVE edge(lot_id, source_id, transformation_id) AS (
    SELECT o.lot_id, i.lot_id, i.transformation_id
      FROM transformation_lots i
      JOIN transformation_lots o ON o.transformation_id = i.transformation_id
                                AND o.role = 'output'
     WHERE i.role = 'input' AND i.lot_id = ANY(%(lots)s)
    UNION
    SELECT o.lot_id, i.lot_id, i.transformation_id
      FROM edge e
      JOIN transformation_lots i ON i.lot_id = e.lot_id AND i.role = 'input'
      JOIN transformation_lots o ON o.transformation_id = i.transformation_id
                                AND o.role = 'output'
)
SELECT e.lot_id, e.source_id, t.reference, s.name, t.transformed_at
  FROM edge e JOIN lot_transformations t ON t.id = e.transformation_id
  JOIN supply_sites s ON s.gln = t.site_gln
 ORDER BY t.transformed_at, t.id, e.lot_id, e.source_id
"""


class Repack(ReadModel):
    """One lot made from another: output ``lot_id`` from input ``source_id``."""

    lot_id: int
    source_id: int
    reference: str
    site: str  # the site's name
    at: UtcDateTime


def repacks_from(conn: Conn, lot_ids: list[int]) -> list[Repack]:
    """Every repacking downstream of ``lot_ids`` (their outputs, those outputs' outputs...),
    oldest first."""
    if not lot_ids:
        return []
    return [
        Repack(lot_id=o, source_id=i, reference=r, site=s, at=a)
        for o, i, r, s, a in conn.execute(_EDGES, {"lots": lot_ids}).fetchall()
    ]


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
