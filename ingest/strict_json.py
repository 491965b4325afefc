"""Strict JSON for payloads: RFC 8259 with no duplicate keys and no NaN or Infinity.

orjson parses fast but keeps the last of two equal keys, so ``{"v": 1, "v": 9}`` would
silently become 9. A duplicate key is an error here (RFC 8259 §4: names SHOULD be unique;
SenML says a pack with a repeated label is invalid). The check is exact and cheap:

* outside string literals a ``:`` appears once per object member, so a document without
  duplicates has as many ``:`` as orjson's re-serialisation of what it parsed, and one
  with a duplicate has fewer in the re-serialisation (the dropped member's own ``:`` at
  least);
* that holds while the payload has no ``\\u`` escape, the only way to write a ``:`` that
  the re-serialisation spells differently; with one, the payload is parsed again by the
  standard library, which reports each object's pairs (about five times slower, and only
  for payloads that use such escapes).

>>> loads(b'{"a": 1, "b": [1, 2]}')
{'a': 1, 'b': [1, 2]}
>>> loads(b'{"a": 1, "a": 2}')
Traceback (most recent call last):
...
ingest.messages.DecodeError: duplicate_key: key 'a' appears twice in one object
>>> loads(b'[NaN]')
Traceback (most recent call last):
...
ingest.messages.DecodeError: undecodable: not JSON: NaN is not a JSON number (at character 1)
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

from ingest.messages import DecodeError, RejectReason

_NON_NUMBERS: Final = (b"NaN", b"Infinity", b"-Infinity")


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return doc


def _find_duplicate(payload: bytes) -> str | None:
    """The first repeated key, by the standard library's pair-by-pair parse."""
    try:
        json.loads(payload, object_pairs_hook=_pairs)
    except _Duplicate as dup:
        return dup.key
    except (ValueError, RecursionError):
        # orjson accepted the document: only nesting deeper than this interpreter's
        # recursion limit gets here.
        raise DecodeError(RejectReason.UNDECODABLE, "not JSON: nested too deeply") from None
    return None


def loads(payload: bytes) -> Any:
    """The JSON document in ``payload``; :class:`DecodeError` when it is not strict JSON.

    ``UNDECODABLE`` for bytes that are not JSON (NaN and Infinity named as such),
    ``DUPLICATE_KEY`` for an object with a key twice.
    """
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(RejectReason.UNDECODABLE, _explain(payload, exc)) from None
    if b"\\u" in payload or payload.count(b":") != orjson.dumps(doc).count(b":"):
        key = _find_duplicate(payload)
        if key is not None:
            raise DecodeError(
                RejectReason.DUPLICATE_KEY, f"key {key[:100]!r} appears twice in one object"
            )
    return doc


def _explain(payload: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson's message, or a plainer one for the two tokens devices send by mistake."""
    position = exc.pos
    for token in _NON_NUMBERS:
        if payload.startswith(token, position):
            name = token.decode().lstrip("-")
            return f"not JSON: {name} is not a JSON number (at character {position})"
    return f"not JSON: {exc}"
