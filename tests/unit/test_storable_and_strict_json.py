"""Text made storable, and strict JSON: the two guards between a message and SQL."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import strict_json
from ingest.messages import DecodeError, RejectReason
from ingest.storable import ELLIPSIS, storable


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_storable_text_has_no_nul_encodes_and_is_bounded(text: str, limit: int) -> None:
    out = storable(text, limit)
    assert "\x00" not in out
    out.encode("utf-8")  # no lone surrogate left
    assert len(out) <= limit
    if len(out) == limit and out.endswith(ELLIPSIS):
        return  # cut
    if "\x00" not in text and len(text) <= limit:
        text.encode("utf-8", "surrogatepass")
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            assert out == text  # clean text passes unchanged


json_docs = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=15,
)


@given(json_docs)
def test_strict_json_reads_what_orjson_writes(doc: object) -> None:
    assert strict_json.loads(orjson.dumps(doc)) == doc


@given(st.dictionaries(st.text(max_size=6), st.integers(-9, 9), min_size=1), st.data())
def test_any_repeated_key_is_found(doc: dict[str, int], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(doc)))
    body = orjson.dumps(doc)[:-1] + b"," + orjson.dumps(key) + b":0}"
    with pytest.raises(DecodeError) as caught:
        strict_json.loads(body)
    assert caught.value.reason is RejectReason.DUPLICATE_KEY


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a": {"b": 1, "b": 2}}',  # nested
        b'[{"n": "x"}, {"n": "y", "n": "z"}]',  # in the second object
        b'{"a:b": 1, "a:b": 2}',  # colons inside the key
        b'{"a": "x:y:z", "a": 1}',  # and inside a value
        b'{"\\u0061": 1, "a": 2}',  # an escape spelling the same key
        b'{"a\\"": 1, "a\\"": 2}',  # an escaped quote in the key
    ],
)
def test_duplicates_are_found_wherever_they_hide(payload: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        strict_json.loads(payload)
    assert caught.value.reason is RejectReason.DUPLICATE_KEY


@pytest.mark.parametrize(
    "payload",
    [b'{"a": "b:c", "d": "e:f"}', b'{"t": "2026-11-30T10:00:00Z"}', b'{"\\u003a": 1, "x": 2}'],
)
def test_colons_in_strings_are_not_duplicates(payload: bytes) -> None:
    strict_json.loads(payload)
