"""What writing a batch did: rows stored, dead letters, and the events its faults caused.

The worker counts these and its observers (the demo, the bench) report them; the counts of
faults and tickets come from the events the bus handled in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from crm_core.kernel.events import Event
from crm_core.tickets.model import FaultJoinedTicket, TicketOpened
from devices.faults.model import FaultClosed, FaultRecorded


@dataclass(slots=True)
class FaultOutcome:
    faults_opened: list[int] = field(default_factory=list)
    faults_cleared: int = 0
    tickets_opened: list[int] = field(default_factory=list)
    faults_linked: int = 0

    @classmethod
    def of(cls, events: Iterable[Event]) -> FaultOutcome:
        outcome = cls()
        for event in events:
            if isinstance(event, FaultRecorded):
                outcome.faults_opened.append(event.fault_id)
            elif isinstance(event, FaultClosed):
                outcome.faults_cleared += 1
            elif isinstance(event, TicketOpened):
                outcome.tickets_opened.append(event.ticket_id)
            elif isinstance(event, FaultJoinedTicket):
                outcome.faults_linked += 1
        return outcome


@dataclass(frozen=True, slots=True)
class WriteResult:
    readings_inserted: int = 0
    dead_letters: int = 0
    faults: FaultOutcome = field(default_factory=FaultOutcome)
    quarantined: int = 0
    lost: int = 0  # refused by the database, the quarantine table and the disk alike

    @staticmethod
    def combine(results: list[WriteResult]) -> WriteResult:
        """One result for the parts of a batch that were written separately."""
        faults = FaultOutcome()
        for result in results:
            faults.faults_opened += result.faults.faults_opened
            faults.faults_cleared += result.faults.faults_cleared
            faults.tickets_opened += result.faults.tickets_opened
            faults.faults_linked += result.faults.faults_linked
        return WriteResult(
            sum(r.readings_inserted for r in results),
            sum(r.dead_letters for r in results),
            faults,
            sum(r.quarantined for r in results),
            sum(r.lost for r in results),
        )


@dataclass(slots=True)
class IngestStats:
    """Running totals of an ingest worker, for its operators and the demo."""

    messages: int = 0
    readings: int = 0
    readings_inserted: int = 0
    dead_letters: int = 0
    quarantined: int = 0
    lost: int = 0
    batches: int = 0
    faults_opened: int = 0
    faults_cleared: int = 0
    tickets_opened: int = 0
    db_retries: int = 0

    def add(self, messages: int, readings: int, result: WriteResult) -> None:
        """Count one committed batch."""
        self.batches += 1
        self.messages += messages
        self.readings += readings
        self.readings_inserted += result.readings_inserted
        self.dead_letters += result.dead_letters
        self.quarantined += result.quarantined
        self.lost += result.lost
        self.faults_opened += len(result.faults.faults_opened)
        self.faults_cleared += result.faults.faults_cleared
        self.tickets_opened += len(result.faults.tickets_opened)
