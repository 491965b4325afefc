"""The FSMA 204 sortable traceability spreadsheet (21 CFR 1.1340/1.1345): one row per
critical tracking event, shipping and receiving, with its key data elements.

The traceability lot code (TLC) is the GTIN with the lot; its source is the site where the
lot entered the chain (the origin of its first leg); the reference document is the
shipment (a bill of lading number).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from crm_core.traceability.queries import Conn

COLUMNS = (
    "event",
    "traceability_lot_code",
    "gtin",
    "lot",
    "product_description",
    "quantity",
    "unit_of_measure",
    "ship_from_gln",
    "ship_from",
    "ship_to_gln",
    "ship_to",
    "event_date",
    "tlc_source_gln",
    "tlc_source",
    "reference_document_type",
    "reference_document_number",
)

EVENTS = """
WITH source AS (
    SELECT DISTINCT ON (ll.lot_id) ll.lot_id, l.origin_gln AS gln
      FROM leg_lots ll JOIN shipment_legs l ON l.id = ll.leg_id
     ORDER BY ll.lot_id, l.departed_at
), moved AS (
    SELECT ll.lot_id, ll.leg_id, sum(ll.quantity) AS quantity
      FROM leg_lots ll GROUP BY ll.lot_id, ll.leg_id
)
SELECT e.event, lo.gtin || '.' || lo.lot_code, lo.gtin, lo.lot_code, p.name, m.quantity, 'each',
       l.origin_gln, fs.name, l.destination_gln, ts.name,
       CASE e.event WHEN 'shipping' THEN l.departed_at ELSE l.arrived_at END,
       src.gln, ss.name, 'BOL', s.reference
  FROM moved m
  JOIN lots lo ON lo.id = m.lot_id
  JOIN products p ON p.gtin = lo.gtin
  JOIN shipment_legs l ON l.id = m.leg_id
  JOIN shipments s ON s.id = l.shipment_id
  JOIN supply_sites fs ON fs.gln = l.origin_gln
  JOIN supply_sites ts ON ts.gln = l.destination_gln
  JOIN source src ON src.lot_id = m.lot_id
  JOIN supply_sites ss ON ss.gln = src.gln
  CROSS JOIN (VALUES ('shipping'), ('receiving')) AS e(event)
 WHERE (%(lot)s::bigint IS NULL OR m.lot_id = %(lot)s)
   AND (e.event = 'shipping' OR l.arrived_at IS NOT NULL)
   AND (%(since)s::timestamptz IS NULL OR l.departed_at >= %(since)s)
   AND (%(until)s::timestamptz IS NULL OR l.departed_at < %(until)s)
 ORDER BY 12, 3, 4, 1 DESC
"""


def fsma_csv(
    conn: Conn,
    *,
    lot_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """The spreadsheet as CSV text (UTF-8, a header row, times in UTC ISO 8601)."""
    rows = conn.execute(EVENTS, {"lot": lot_id, "since": since, "until": until}).fetchall()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = list(row)
        values[11] = values[11].isoformat() if values[11] is not None else ""
        writer.writerow(values)
    return out.getvalue()
