"""From uploaded bytes to a table of strings, or one clear reason why not.

The file is checked before pandas sees it: its size, its encoding (UTF-8, with or without
the byte-order mark spreadsheets write), no NUL bytes (a binary file, or a spreadsheet
saved in another format). pandas then reads every cell as text (no guessing of numbers or
dates: a phone number keeps its leading zero, "NA" stays a name) and the columns are
checked against the kind's: missing ones and unknown ones are refused, so that a typo in a
header does not silently drop a column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why and what to do."""


class FileTooLarge(ImportFileError):
    """Larger than the limit (413)."""


@dataclass(frozen=True, slots=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


def decode(data: bytes, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise FileTooLarge(
            f"the file is {len(data):,} bytes; the limit is {max_bytes:,}: split it into "
            "smaller files"
        )
    if not data.strip():
        raise ImportFileError("the file is empty")
    if b"\x00" in data:
        raise ImportFileError(
            "the file contains NUL bytes: it is not a text CSV file (save it as "
            '"CSV UTF-8" from the spreadsheet)'
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            'save it as "CSV UTF-8"'
        ) from None


def read_table(data: bytes, columns: Columns, *, max_bytes: int, max_rows: int) -> pd.DataFrame:
    """The rows of a CSV file as strings ("" for an empty cell), header checked."""
    text = decode(data, max_bytes)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            skipinitialspace=True,
            nrows=max_rows + 1,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise ImportFileError(f"the file is not readable as CSV: {exc}") from None
    # pandas renames a repeated column ("name.1"): the header is read as written instead.
    header = [c.strip().lower() for c in next(csv.reader(io.StringIO(text)), [])]
    if len(header) != len(frame.columns):
        raise ImportFileError("the header row could not be read as CSV")
    frame.columns = header
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise ImportFileError(f"columns named twice: {', '.join(duplicated)}")
    missing = [c for c in columns.required if c not in header]
    unknown = [c for c in header if c not in columns.all]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s): {', '.join(unknown)}")
        raise ImportFileError(
            "; ".join(parts)
            + f". Expected: {', '.join(columns.required)}"
            + (f" (optional: {', '.join(columns.optional)})" if columns.optional else "")
        )
    if len(frame) > max_rows:
        raise ImportFileError(
            f"the file has more than {max_rows:,} rows: split it into smaller files"
        )
    return frame.apply(lambda col: col.str.strip())
