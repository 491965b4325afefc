"""The committer against a fake store: outages waited out, refused messages isolated."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.kernel.errors import DatabaseUnavailable
from ingest.batch import Batch
from ingest.committer import Committer
from ingest.messages import RawMessage, Rejection, RejectReason
from ingest.outcome import WriteResult
from ingest.store import UnstorableBatch


class FakeStore:
    """Refuses any batch holding a poisoned message; can be 'away' for a few writes."""

    def __init__(self, poison: set[bytes], *, away: int = 0, refuse_letters: bool = False) -> None:
        self.poison = poison
        self.away = away
        self.refuse_letters = refuse_letters
        self.refuse_quarantine = False
        self.committed: list[Batch] = []
        self.quarantined: list[tuple[RawMessage, str]] = []
        self.attempts = 0

    def write(self, batch: Batch) -> WriteResult:
        self.attempts += 1
        if self.away:
            self.away -= 1
            raise DatabaseUnavailable("connection refused")
        is_letter = any(r.reason is RejectReason.UNSTORABLE for r in batch.rejections)
        if any(m.payload in self.poison for m in batch.messages) and (
            not is_letter or self.refuse_letters
        ):
            raise UnstorableBatch("DataError: PostgreSQL text fields cannot contain NUL")
        self.committed.append(batch)
        return WriteResult(len(batch.rows), len(batch.rejections))

    def quarantine(self, message: RawMessage, error: str) -> None:
        if self.refuse_quarantine:
            raise UnstorableBatch("value too long")
        self.quarantined.append((message, error))


def batch_of(payloads: list[bytes]) -> Batch:
    messages = [RawMessage("dt/FR-000001/senml", p, 1.0) for p in payloads]
    batch = Batch(messages)
    for position, message in enumerate(messages):
        # one row per message, and a rejection for every third
        batch.spans[position] = (len(batch.rows), len(batch.rows) + 1, 0, 0)
        batch.rows.append((1, 1, float(position), 1.0, 1.0))
        if position % 3 == 0:
            batch.rejections.append(Rejection(message, RejectReason.INVALID, "a problem"))
    batch.checkpoints = [(1, b"state")]
    batch.seen = {1: (5.0, 5.0)}
    return batch


def committer(store: FakeStore, tmp_path: Path | None = None) -> Committer:
    return Committer(store, quarantine_dir=tmp_path, sleep=lambda _: None)


def committed_payloads(store: FakeStore) -> list[bytes]:
    return sorted(m.payload for b in store.committed for m in b.messages)


def test_a_clean_batch_is_one_write() -> None:
    store = FakeStore(set())
    result = committer(store).commit(batch_of([b"a", b"b"]))
    assert store.attempts == 1
    assert result.readings_inserted == 2


def test_an_outage_is_waited_out_then_the_batch_is_written_whole() -> None:
    store = FakeStore(set(), away=3)
    c = committer(store)
    c.commit(batch_of([b"a", b"b"]))
    assert store.attempts == 4
    assert c.retries == 3
    assert c.database_ok.is_set()
    assert len(store.committed) == 1


@pytest.mark.parametrize("size", [2, 7, 64, 2000])
def test_the_refused_message_is_found_and_dead_lettered_the_rest_committed(size: int) -> None:
    payloads = [b"m%d" % i for i in range(size)]
    bad = payloads[size // 3]
    store = FakeStore({bad})
    c = committer(store)
    result = c.commit(batch_of(payloads))
    assert c.isolated == 1
    # every message is written exactly once: the bad one as an 'unstorable' dead letter
    assert committed_payloads(store) == sorted(payloads)
    unstorable = [
        r for b in store.committed for r in b.rejections if r.reason is RejectReason.UNSTORABLE
    ]
    assert [r.message.payload for r in unstorable] == [bad]
    assert "cannot contain NUL" in unstorable[0].detail
    assert result.readings_inserted == size - 1  # the bad message's row is not written
    # what no message owns (checkpoints, last-seen) is written once, on its own
    assert sum(len(b.checkpoints) for b in store.committed) == 1


def test_several_refused_messages_are_each_isolated() -> None:
    payloads = [b"m%d" % i for i in range(100)]
    store = FakeStore({payloads[0], payloads[50], payloads[99]})
    c = committer(store)
    c.commit(batch_of(payloads))
    assert c.isolated == 3
    assert committed_payloads(store) == sorted(payloads)


def test_a_message_that_cannot_be_dead_lettered_goes_to_the_quarantine() -> None:
    store = FakeStore({b"bad"}, refuse_letters=True)
    result = committer(store).commit(batch_of([b"ok", b"bad"]))
    assert result.quarantined == 1
    [(message, error)] = store.quarantined
    assert message.payload == b"bad"
    assert "as a dead letter" in error
    assert committed_payloads(store) == [b"ok"]


def test_when_the_quarantine_table_refuses_too_the_bytes_go_to_a_file(tmp_path: Path) -> None:
    store = FakeStore({b"bad\x00bytes"}, refuse_letters=True)
    store.refuse_quarantine = True
    committer(store, tmp_path).commit(batch_of([b"bad\x00bytes"]))
    [payload] = tmp_path.glob("*.payload")
    assert payload.read_bytes() == b"bad\x00bytes"
    assert "value too long" in payload.with_suffix(".txt").read_text("utf-8")


def test_split_keeps_each_message_with_its_rows_and_rejections() -> None:
    batch = batch_of([b"a", b"b", b"c", b"d", b"e"])
    first, second, rest = batch.split()
    assert [m.payload for m in first.messages] == [b"a", b"b", b"c"]
    assert [m.payload for m in second.messages] == [b"d", b"e"]
    assert [row[2] for row in first.rows] == [0.0, 1.0, 2.0]
    assert [row[2] for row in second.rows] == [3.0, 4.0]
    assert [r.message.payload for r in first.rejections] == [b"a"]
    assert [r.message.payload for r in second.rejections] == [b"d"]
    assert first.checkpoints == second.checkpoints == []
    assert rest.messages == []
    assert rest.checkpoints == [(1, b"state")]
    # split again: the spans were renumbered
    assert [row[2] for row in second.split()[1].rows] == [4.0]


def test_a_lone_refused_message_does_not_take_the_checkpoints_with_it() -> None:
    store = FakeStore({b"bad"})
    result = committer(store).commit(batch_of([b"bad"]))
    assert result.dead_letters == 1
    assert sum(len(b.checkpoints) for b in store.committed) == 1  # saved on their own
    assert [m.payload for b in store.committed for m in b.messages] == [b"bad"]


def test_a_message_refused_everywhere_is_counted_lost_not_quarantined() -> None:
    store = FakeStore({b"bad"}, refuse_letters=True)
    store.refuse_quarantine = True
    result = committer(store, None).commit(batch_of([b"ok", b"bad"]))
    assert (result.quarantined, result.lost) == (0, 1)
    assert committed_payloads(store) == [b"ok"]


def test_refused_messages_are_kept_for_the_caller_only_when_asked() -> None:
    store = FakeStore({b"bad"})
    quiet = committer(store)
    quiet.commit(batch_of([b"ok", b"bad"]))
    assert quiet.take_refused() == []  # a live worker must not keep them for its lifetime
    keeping = Committer(store, keep_refused=True, sleep=lambda _: None)
    keeping.commit(batch_of([b"ok2", b"bad"]))
    assert [m.payload for m in keeping.take_refused()] == [b"bad"]
    assert keeping.take_refused() == []


def test_a_refusal_after_an_outage_ends_the_outage(tmp_path: Path) -> None:
    """The database answered, if only to refuse: it is back, though nothing was stored."""
    store = FakeStore({b"bad"}, away=2, refuse_letters=True)
    store.refuse_quarantine = True
    c = committer(store, tmp_path)
    c.commit(Batch([RawMessage("dt/FR-000001/senml", b"bad", 1.0)]))
    assert c.retries == 2
    assert store.committed == []
    assert c.database_ok.is_set()
