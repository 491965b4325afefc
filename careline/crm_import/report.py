"""The rejected rows of an import as a CSV file, safe to open in a spreadsheet.

Every cell of the report comes from the uploaded file or quotes it, so a cell that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return: OWASP's CSV injection list) is prefixed with a single quote, which
spreadsheets show as text.

>>> neutralise("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> neutralise("Amélie")
'Amélie'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from pydantic import BaseModel

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Rejection(BaseModel):
    """One reason a row was refused: its line in the file (the header is line 1), the
    column at fault (empty when the row as a whole), why, and the row's key for finding it."""

    row: int
    column: str
    reason: str
    key: str


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def report_csv(rejections: Iterable[Rejection]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "column", "reason", "key"])
    for r in rejections:
        writer.writerow([str(r.row), neutralise(r.column), neutralise(r.reason), neutralise(r.key)])
    return out.getvalue()
