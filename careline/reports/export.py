"""A report as CSV that a spreadsheet opens safely, and as JSON rows.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (CSV injection, OWASP); such text cells get a
leading apostrophe, which spreadsheets show as text. Numbers are left alone (a negative
number is a number, not a formula).

>>> import pandas as pd
>>> print(to_csv(pd.DataFrame({"group": ["=HYPERLINK(1)", "CF-300"], "n": [-1, 2]})), end="")
group,n
'=HYPERLINK(1),-1
CF-300,2
"""

from __future__ import annotations

import math
from typing import Final

import pandas as pd

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> str:
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(defuse)
    safe.columns = [str(defuse(str(c))) for c in safe.columns]
    return str(safe.to_csv(index=False, lineterminator="\n"))


def to_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """JSON-ready rows: NaN becomes None, numpy scalars Python ones."""
    rows: list[dict[str, object]] = []
    for record in frame.to_dict(orient="records"):
        row: dict[str, object] = {}
        for key, cell in record.items():
            value = cell.item() if hasattr(cell, "item") else cell
            if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                value = None
            row[str(key)] = value
        rows.append(row)
    return rows
