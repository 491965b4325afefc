"""Domain events, and the bus that hands each one to the handlers registered for it.

An event is a fact that happened (a fault opened, a ticket opened): a frozen dataclass
that subclasses :class:`Event`. Ingest produces events; ``careline.bootstrap`` registers
the handlers (recording faults, the alerts rules); :meth:`EventBus.publish` runs them inside
the caller's unit of work, so that a batch and everything its events cause commit, or not,
as one transaction. A handler returns the events it caused, and those are handled in turn,
first in, first out. Adding a rule family is one handler and one ``subscribe`` line.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Rang(Event):
...     times: int
>>> @dataclass(frozen=True)
... class Answered(Event):
...     pass
>>> bus = EventBus()
>>> bus.subscribe(Rang, lambda event, uow: [Answered()] if event.times > 2 else [])
>>> [type(e).__name__ for e in bus.publish([Rang(1), Rang(3)], uow=None)]
['Rang', 'Rang', 'Answered']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, TypeVar


class Event:
    """Base of every domain event."""

    __slots__ = ()


E = TypeVar("E", bound=Event)
Handler = Callable[[E, Any], Iterable[Event]]


class EventBus:
    """Event type -> the handlers that run, in registration order, for each event of it."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler[Any]]] = {}

    def subscribe(self, kind: type[E], handler: Handler[E]) -> None:
        self._handlers.setdefault(kind, []).append(handler)

    def handles(self, kind: type[Event]) -> bool:
        return kind in self._handlers

    def publish(self, events: Iterable[Event], uow: Any) -> list[Event]:
        """Handle ``events`` and every event their handlers cause; all of them, in order.

        ``uow`` is the unit of work the handlers write through; they do not commit it.
        An exception from a handler propagates, and the caller's transaction rolls back.
        """
        handled: list[Event] = []
        queue: deque[Event] = deque(events)
        while queue:
            event = queue.popleft()
            handled.append(event)
            for handler in self._handlers.get(type(event), ()):
                queue.extend(handler(event, uow))
        return handled
