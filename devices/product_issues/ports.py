"""What the product-issue use cases need from storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crm_core.kernel.uow import UnitOfWork
from devices.product_issues.model import DeviceFacts, GroupKey, IssueStatus, ProductIssue


@dataclass(frozen=True, slots=True)
class FaultFacts:
    """A stored fault as grouping sees it: its device, onset and signature."""

    fault_id: int
    device: DeviceFacts
    opened_at: datetime
    signature: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A fault not in any product issue yet, in a group's window."""

    fault_id: int
    device_id: int
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """Devices of a group and of the rest of its type, and how many of each faulted."""

    group_size: int
    group_faulty: int
    rest_size: int
    rest_faulty: int


class ProductIssueRepository(Protocol):
    def fault(self, fault_id: int) -> FaultFacts | None:
        """The fault with its device's facts and its signature."""
        ...

    def unlinked_faults(self, since: datetime) -> list[int]:
        """Faults opened since ``since`` that are in no product issue, oldest first."""
        ...

    def live_issue(self, key: GroupKey, signature: str) -> ProductIssue | None:
        """The group's live (not resolved) issue of ``signature``, locked, if there is one:
        the issue named by it, else one that holds a fault of it (an issue whose diagnosis
        sharpened still answers to the signature it was opened with)."""
        ...

    def issue_of_device(self, device_id: int, fault_id: int) -> ProductIssue | None:
        """The live issue that holds another *live* fault of the device, locked, if any: a
        new fault there is the same occurrence seen more sharply (its diagnosis was made
        with that fault in view)."""
        ...

    def rename(self, issue: ProductIssue, signature: str, title: str) -> bool:
        """Give the issue a sharper signature and title; False (and nothing changed) when
        the group has another live issue of that signature already."""
        ...

    def candidates(
        self, key: GroupKey, signature: str, since: datetime, until: datetime
    ) -> list[Candidate]:
        """Faults of ``signature`` on the group's devices, with onsets in [since, until],
        that are in no product issue yet."""
        ...

    def counts(
        self, key: GroupKey, signature: str, since: datetime, until: datetime
    ) -> GroupCounts:
        """The group's and the rest's sizes and devices with a fault of ``signature``."""
        ...

    def add(self, issue: ProductIssue) -> ProductIssue | None:
        """Store a new issue and set its id; None when the group already has a live issue
        of that signature (another worker opened it first)."""
        ...

    def get(self, issue_id: int, *, for_update: bool = False) -> ProductIssue | None: ...

    def save(self, issue: ProductIssue) -> None:
        """Store the changed status, resolution time and span of fault onsets."""
        ...

    def link(self, issue_id: int, fault_id: int, device_id: int, now: datetime) -> bool:
        """Link a fault to the issue; False when it is linked (to any issue) already."""
        ...

    def note(
        self,
        issue_id: int,
        at: datetime,
        author: str,
        action: str,
        comment: str = "",
        old: IssueStatus | None = None,
        new: IssueStatus | None = None,
    ) -> None:
        """Add a line to the issue's history, and to the audit log."""
        ...


class ProductIssuesUnitOfWork(UnitOfWork, Protocol):
    @property
    def product_issues(self) -> ProductIssueRepository: ...
