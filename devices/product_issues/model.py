r"""Product issues: faults alike on devices of one model, firmware or batch. Pure, no I/O.

Quality and engineering want the pattern, not a hundred tickets: when enough devices of
one **group** (a production batch, a firmware version or a model, of one device type) fault
with the same **signature** within a window, one product issue links them all. The
signature is the diagnosed cause when the fault has one, else the metric and the detector
that fired (:func:`signature`).

Groups are tried from the most specific to the broadest (:data:`DIMENSIONS`): a batch
explains more than a model does. The lifecycle::

    open -> investigating -> resolved        (and open -> resolved)

Resolved is final: faults alike after that open a new issue (a regression is news).

>>> from datetime import datetime, UTC
>>> now = datetime(2026, 12, 6, 9, tzinfo=UTC)
>>> key = GroupKey("batch", "refrigerator", "CF300-2418")
>>> issue = new_issue(key, "compressor_power/standard_score", now, now, now)
>>> issue.title
'refrigerator batch CF300-2418: compressor_power/standard_score'
>>> [type(e).__name__ for e in issue.change_status("investigating", now, "quality")]
['ProductIssueStatusChanged']
>>> issue.change_status("open", now, "quality")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
devices.product_issues.model.ProductIssueConflict: product issue None cannot go from ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from crm_core.kernel.events import Event

Dimension = Literal["batch", "firmware", "model"]
DIMENSIONS: Final[tuple[Dimension, ...]] = ("batch", "firmware", "model")
IssueStatus = Literal["open", "investigating", "resolved"]
ISSUE_STATUSES: Final[tuple[IssueStatus, ...]] = get_args(IssueStatus)
TRANSITIONS: Final[dict[IssueStatus, tuple[IssueStatus, ...]]] = {
    "open": ("investigating", "resolved"),
    "investigating": ("resolved",),
    "resolved": (),
}


class ProductIssueConflict(Exception):
    """The change breaks the lifecycle (resolved is final)."""


def signature(metric: str, detector: str, cause: str | None = None) -> str:
    """What makes two faults alike: the diagnosed cause if known, else metric and detector.

    >>> signature("cabinet_temp", "limit_high")
    'cabinet_temp/limit_high'
    >>> signature("cabinet_temp", "limit_high", "compressor")
    'cause:compressor'
    """
    return f"cause:{cause}" if cause else f"{metric}/{detector}"


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What grouping needs to know about a device."""

    device_id: int
    device_type: str
    model: str
    firmware: str | None
    production_batch: str | None


@dataclass(frozen=True, slots=True)
class GroupKey:
    """A group of devices: all of ``device_type`` whose ``dimension`` equals ``value``."""

    dimension: Dimension
    device_type: str
    value: str

    @property
    def label(self) -> str:
        return f"{self.device_type} {self.dimension} {self.value}"


def group_keys(device: DeviceFacts) -> list[GroupKey]:
    """The groups a device belongs to, most specific first (unknown batch or firmware: none).

    >>> [k.label for k in group_keys(DeviceFacts(1, "refrigerator", "CF-300", "2.4.1", None))]
    ['refrigerator firmware 2.4.1', 'refrigerator model CF-300']
    """
    values: dict[Dimension, str | None] = {
        "batch": device.production_batch,
        "firmware": device.firmware,
        "model": device.model,
    }
    return [
        GroupKey(dimension, device.device_type, value)
        for dimension in DIMENSIONS
        if (value := values[dimension])
    ]


@dataclass(frozen=True, slots=True)
class ProductIssueOpened(Event):
    issue_id: int
    title: str
    devices: int


@dataclass(frozen=True, slots=True)
class FaultJoinedProductIssue(Event):
    issue_id: int
    fault_id: int


@dataclass(frozen=True, slots=True)
class ProductIssueStatusChanged(Event):
    issue_id: int | None
    old: IssueStatus
    new: IssueStatus
    by: str
    comment: str


@dataclass(eq=False, slots=True, kw_only=True)
class ProductIssue:
    """A product issue. ``id`` is None until stored; entities compare by identity."""

    id: int | None = None
    key: GroupKey
    signature: str
    title: str
    status: IssueStatus
    first_fault_at: datetime
    last_fault_at: datetime
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None

    def change_status(
        self, status: IssueStatus, now: datetime, by: str, comment: str = ""
    ) -> list[Event]:
        """Move to ``status`` if :data:`TRANSITIONS` allows it; nothing when already there."""
        if self.status == status:
            return []
        allowed = TRANSITIONS[self.status]
        if status not in allowed:
            options = ", ".join(allowed) if allowed else "nothing: it is final"
            raise ProductIssueConflict(
                f"product issue {self.id} cannot go from {self.status} to {status}; "
                f"from {self.status}: {options}"
            )
        old, self.status, self.updated_at = self.status, status, now
        if status == "resolved":
            self.resolved_at = now
        return [ProductIssueStatusChanged(self.id, old, status, by, comment)]

    def saw_fault(self, opened_at: datetime, now: datetime) -> None:
        """Widen the issue's span of fault onsets to include one more."""
        self.first_fault_at = min(self.first_fault_at, opened_at)
        self.last_fault_at = max(self.last_fault_at, opened_at)
        self.updated_at = now


def new_issue(
    key: GroupKey, signature: str, first_fault_at: datetime, last_fault_at: datetime, now: datetime
) -> ProductIssue:
    """The open issue for faults of ``signature`` in group ``key``, not stored yet."""
    return ProductIssue(
        key=key,
        signature=signature,
        title=f"{key.label}: {signature}",
        status="open",
        first_fault_at=first_fault_at,
        last_fault_at=last_fault_at,
        opened_at=now,
        updated_at=now,
    )
