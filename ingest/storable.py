"""Text from outside made storable: no NUL, no lone surrogates, and a bounded length.

Whatever a device sends can end up in a text column: the topic of a dead letter, a metric
name quoted in a reason. PostgreSQL refuses U+0000 in text, and a lone surrogate cannot
even be encoded as UTF-8, so either would fail the whole batch's transaction. Every such
text passes through :func:`storable` on its way to SQL; raw payloads stay bytes.

>>> storable("a\\x00b", 100)
'a\\\\x00b'
>>> storable("x" * 10, 8)
'xxxxxxx…'
>>> storable("lone \\ud800 surrogate", 100)
'lone \\\\ud800 surrogate'
"""

from __future__ import annotations

from typing import Final

TOPIC_CHARS: Final = 512
"""Longest topic kept in a dead letter (MQTT allows 65,535 bytes; ours are ~20)."""

ELLIPSIS: Final = "…"


def storable(text: str, limit: int) -> str:
    """``text`` with NUL and lone surrogates escaped (``\\x00``, ``\\ud800``), cut to ``limit``.

    A cut text ends in ``…``, so that a reader knows there was more.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return text
