"""Product-issue use cases: group a recorded fault, move an issue, note on it.

:func:`group_fault` runs online, as a handler on
:class:`~devices.faults.model.FaultRecorded` inside ingest's batch transaction (wired in
``careline.bootstrap`` after the proactive-ticket rule), so a fault and its product issue
commit together; the scheduler's sweep (:func:`sweep`) runs the same function over recent
faults that are in no issue, which catches what two workers each saw only half of (each
batch sees the other's faults only once committed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm_core.kernel.clock import Clock
from crm_core.kernel.errors import NotFound
from crm_core.kernel.events import Event
from devices.faults.model import FaultRecorded
from devices.product_issues.model import (
    FaultJoinedProductIssue,
    GroupKey,
    IssueStatus,
    ProductIssue,
    ProductIssueOpened,
    group_keys,
    new_issue,
)
from devices.product_issues.ports import (
    Candidate,
    FaultFacts,
    ProductIssueRepository,
    ProductIssuesUnitOfWork,
)
from devices.product_issues.rates import stands_out
from devices.product_issues.settings import FleetSettings

SYSTEM = "careline"


@dataclass(frozen=True, slots=True)
class Grouping:
    """The rule's parameters (from :class:`FleetSettings`)."""

    window: timedelta
    min_devices: int
    min_ratio: float

    @classmethod
    def of(cls, settings: FleetSettings) -> Grouping:
        return cls(timedelta(hours=settings.window_hours), settings.min_devices, settings.min_ratio)


def group_fault(
    repo: ProductIssueRepository, fault_id: int, rule: Grouping, now: datetime
) -> list[Event]:
    """Put the fault in its group's product issue, opening one when the group has enough.

    Idempotent: a fault already in an issue adds nothing, and an issue the group has is
    joined, never duplicated. A fault on a device whose earlier fault is still live in an
    issue joins that issue (:func:`_sharpen`): it is the same occurrence, diagnosed again
    with more evidence, not a new pattern.
    """
    facts = repo.fault(fault_id)
    if facts is None:
        return []
    same_occurrence = repo.issue_of_device(facts.device.device_id, fault_id)
    if same_occurrence is not None:
        return _sharpen(repo, same_occurrence, facts, now)
    keys = group_keys(facts.device)
    for key in keys:
        issue = repo.live_issue(key, facts.signature)
        if issue is not None:
            return _join(
                repo, issue, [Candidate(fault_id, facts.device.device_id, facts.opened_at)], now
            )
    since, until = facts.opened_at - rule.window, facts.opened_at + rule.window
    for key in keys:
        found = repo.candidates(key, facts.signature, since, until)
        if len({c.device_id for c in found}) < rule.min_devices:
            continue
        counts = repo.counts(key, facts.signature, since, until)
        if not stands_out(
            counts.group_faulty,
            counts.group_size,
            counts.rest_faulty,
            counts.rest_size,
            rule.min_ratio,
        ):
            continue
        return _open(repo, key, facts.signature, found, now)
    return []


def sweep(repo: ProductIssueRepository, rule: Grouping, now: datetime) -> list[Event]:
    """:func:`group_fault` for every fault of the last window that is in no issue yet."""
    events: list[Event] = []
    for fault_id in repo.unlinked_faults(now - 2 * rule.window):
        events += group_fault(repo, fault_id, rule, now)
    return events


@dataclass(frozen=True, slots=True)
class GroupOnFault:
    """The bus handler: ``FaultRecorded`` -> ``ProductIssueOpened`` / ``FaultJoinedProductIssue``.

    ``repository`` builds the port on the unit of work the bus hands over.
    """

    repository: Callable[[Any], ProductIssueRepository]
    rule: Grouping
    clock: Clock

    def __call__(self, event: FaultRecorded, uow: Any) -> list[Event]:
        return group_fault(self.repository(uow), event.fault_id, self.rule, self.clock())


def _open(
    repo: ProductIssueRepository,
    key: GroupKey,
    signature: str,
    found: list[Candidate],
    now: datetime,
) -> list[Event]:
    onsets = [c.opened_at for c in found]
    issue = repo.add(new_issue(key, signature, min(onsets), max(onsets), now))
    events: list[Event] = []
    if issue is None:  # another worker opened it first: join theirs
        issue = repo.live_issue(key, signature)
        if issue is None:
            return []
    else:
        assert issue.id is not None
        devices = len({c.device_id for c in found})
        repo.note(
            issue.id, now, SYSTEM, "opened", f"{devices} devices of {key.label} faulted alike"
        )
        events.append(ProductIssueOpened(issue.id, issue.title, devices))
    return events + _join(repo, issue, found, now)


def _sharpen(
    repo: ProductIssueRepository, issue: ProductIssue, facts: FaultFacts, now: datetime
) -> list[Event]:
    """The device's new fault joins the issue its live fault is in; when its diagnosis names
    a cause the issue's signature does not (cooling loss, then compressor wear), the issue
    takes the sharper name, and keeps answering to the old one (:meth:`live_issue`)."""
    assert issue.id is not None
    candidate = Candidate(facts.fault_id, facts.device.device_id, facts.opened_at)
    events = _join(repo, issue, [candidate], now)
    old = issue.signature
    if not events or old == facts.signature or not facts.signature.startswith("cause:"):
        return events
    if repo.rename(issue, facts.signature, f"{issue.key.label}: {facts.signature}"):
        comment = f"diagnosis sharpened: {old} -> {facts.signature} (fault {facts.fault_id})"
    else:
        comment = (
            f"fault {facts.fault_id} diagnosed {facts.signature}; name kept: the group has "
            "another live issue of that signature"
        )
    repo.note(issue.id, now, SYSTEM, "comment", comment)
    return events


def _join(
    repo: ProductIssueRepository, issue: ProductIssue, faults: Iterable[Candidate], now: datetime
) -> list[Event]:
    assert issue.id is not None
    events: list[Event] = []
    for fault in faults:
        if repo.link(issue.id, fault.fault_id, fault.device_id, now):
            issue.saw_fault(fault.opened_at, now)
            events.append(FaultJoinedProductIssue(issue.id, fault.fault_id))
    if events:
        repo.save(issue)
    return events


def change_status(
    uow: ProductIssuesUnitOfWork,
    issue_id: int,
    status: IssueStatus,
    now: datetime,
    by: str,
    comment: str = "",
) -> list[Event]:
    """Move an issue along its lifecycle, in one transaction; the history and the audit log
    record it. :class:`NotFound`, or :class:`ProductIssueConflict` for a forbidden move."""
    with uow:
        issue = uow.product_issues.get(issue_id, for_update=True)
        if issue is None:
            raise NotFound(f"product issue {issue_id} does not exist")
        old = issue.status
        events = issue.change_status(status, now, by, comment)
        if events:
            uow.product_issues.save(issue)
            uow.product_issues.note(issue_id, now, by, "status", comment, old, status)
        uow.commit()
    return events


def add_note(
    uow: ProductIssuesUnitOfWork, issue_id: int, by: str, comment: str, now: datetime
) -> None:
    """A comment in the issue's history (and the audit log)."""
    comment = comment.strip()
    if not comment:
        raise ValueError("a note needs some text")
    with uow:
        if uow.product_issues.get(issue_id, for_update=True) is None:
            raise NotFound(f"product issue {issue_id} does not exist")
        uow.product_issues.note(issue_id, now, by, "comment", comment)
        uow.commit()
