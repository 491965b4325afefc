"""A batch: what one ingest transaction writes, and the messages it acknowledges.

Rows, rejections (dead letters), fault events, detector checkpoints and last-seen times,
with each message's share of them, so that a batch whose write fails can be split down to
the one message that makes it fail. :mod:`ingest.batch_builder` fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.faults.model import FaultEvent
from ingest.messages import (
    RawMessage,
    Rejection,
)

# device_id, metric_id, device time, value, receive time (times as UTC epoch seconds)
ReadingRow = tuple[int, int, float, float, float]


# Where one message's rows and fault events lie in its batch's lists: [start, end) of each.
Span = tuple[int, int, int, int]


@dataclass(slots=True)
class Batch:
    """What one transaction writes, and the messages it acknowledges once committed."""

    messages: list[RawMessage]
    rows: list[ReadingRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    fault_events: list[FaultEvent] = field(default_factory=list)
    # device_id -> (latest device time, latest receive time) seen in this batch
    seen: dict[int, tuple[float, float]] = field(default_factory=dict)
    # detector state of devices that changed since the last checkpoint: (device_id, bytes)
    checkpoints: list[tuple[int, bytes]] = field(default_factory=list)
    # device_id -> the newest baseline reset its checkpoint includes (devices.tuning.feed)
    generations: dict[int, int] = field(default_factory=dict)
    # position in ``messages`` -> the span of its rows and fault events (accepted ones only)
    spans: dict[int, Span] = field(default_factory=dict)
    # bytes counted against the inbox's bound beyond the messages' own (decoded rows)
    charged: int = 0

    @property
    def size(self) -> int:
        """Bytes its messages hold (what the inbox's byte bound counted for them)."""
        return sum(message.size for message in self.messages)

    def split(self) -> list[Batch]:
        """Smaller batches that write, together, exactly what this one writes.

        Two halves by message, each with its messages' rows, rejections and fault events,
        and, when there is any, a third part with no message of its own holding what no
        single message owns (detector checkpoints, last-seen times, the fault events of a
        reset or a changed override). Used to find the one message that makes a write fail.
        """
        middle = (len(self.messages) + 1) // 2
        parts = [self._select(range(middle)), self._select(range(middle, len(self.messages)))]
        owned = {i for _, _, start, end in self.spans.values() for i in range(start, end)}
        unowned = [e for i, e in enumerate(self.fault_events) if i not in owned]
        if self.seen or self.checkpoints or unowned:
            parts.append(
                Batch(
                    [],
                    seen=self.seen,
                    checkpoints=self.checkpoints,
                    generations=self.generations,
                    fault_events=unowned,
                )
            )
        return [
            part
            for part in parts
            if part.messages or part.seen or part.checkpoints or part.fault_events
        ]

    def _select(self, positions: range) -> Batch:
        part = Batch([self.messages[i] for i in positions])
        owned = {id(message) for message in part.messages}
        part.rejections = [r for r in self.rejections if id(r.message) in owned]
        for new_position, old_position in enumerate(positions):
            span = self.spans.get(old_position)
            if span is None:
                continue
            row_start, row_end, event_start, event_end = span
            rows_at, events_at = len(part.rows), len(part.fault_events)
            part.rows.extend(self.rows[row_start:row_end])
            part.fault_events.extend(self.fault_events[event_start:event_end])
            part.spans[new_position] = (
                rows_at,
                len(part.rows),
                events_at,
                len(part.fault_events),
            )
        return part
