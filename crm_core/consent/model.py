"""The consent ledger's rules: what a customer allowed, derived from what they did.

Pure: no I/O. The ledger is append-only; each :class:`ConsentRecord` is one change (a
purpose on a channel granted or withdrawn, an objection to direct marketing made or
lifted). :func:`decide` answers "may we send purpose P on channel C now?" with the record
that decided it, so that a message or an offer can cite it.

The defaults (where the customer has said nothing):

* ``safety`` (recalls, hazards) is always sent: a legal duty, not a preference. It cannot
  be withdrawn (:func:`check_change` refuses), and an objection does not touch it;
* ``service`` (about the customer's own appliances and tickets) is sent unless withdrawn
  for that channel: it is part of the service they bought (legitimate interest);
* ``marketing`` and ``location_marketing`` need an explicit grant per channel (opt-in,
  ePrivacy), and an objection to direct marketing (GDPR Art. 21(2)-(3)) overrides every
  grant, at once and until the customer lifts it.

>>> from datetime import datetime, UTC
>>> at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
>>> ledger = [ConsentRecord(1, 7, "grant", "marketing", "email", "api", "v1", "agent", at)]
>>> decide(ledger, "marketing", "email").allowed
True
>>> ledger.append(ConsentRecord(2, 7, "object", None, None, "app", "v1", "customer", at))
>>> verdict = decide(ledger, "marketing", "email")
>>> verdict.allowed, verdict.record.id if verdict.record else None
(False, 2)
>>> decide(ledger, "service", "email").allowed, decide(ledger, "safety", "sms").allowed
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

Purpose = Literal["service", "safety", "marketing", "location_marketing"]
Channel = Literal["email", "sms", "push", "webhook"]
Source = Literal["console", "api", "preference_page", "import", "app"]
Action = Literal["grant", "withdraw", "object", "lift_objection"]

PURPOSES: Final[tuple[Purpose, ...]] = get_args(Purpose)
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
SOURCES: Final[tuple[Source, ...]] = get_args(Source)
MARKETING: Final[frozenset[Purpose]] = frozenset({"marketing", "location_marketing"})
CURRENT_POLICY: Final = "2026-12"
"""The version of the privacy notice the preference page shows (recorded with each change)."""


class ConsentError(ValueError):
    """A change the ledger refuses (withdrawing safety notices, a channel without purpose)."""


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One change in the ledger. ``purpose`` and ``channel`` are None for an objection."""

    id: int | None
    customer_id: int
    action: Action
    purpose: Purpose | None
    channel: Channel | None
    source: Source
    policy_version: str
    actor: str
    at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to "may we send?": yes or no, why, and the record that decided it."""

    allowed: bool
    reason: str
    record: ConsentRecord | None

    @property
    def cited(self) -> str:
        """The reason, naming the ledger record that decided it (for a suppressed message)."""
        cite = f" (consent record #{self.record.id})" if self.record else ""
        return self.reason + cite


def check_change(record: ConsentRecord) -> None:
    """Refuse what the ledger must not hold: :class:`ConsentError`."""
    if record.action in ("grant", "withdraw"):
        if record.purpose is None or record.channel is None:
            raise ConsentError(f"a {record.action} names a purpose and a channel")
        if record.purpose == "safety" and record.action == "withdraw":
            raise ConsentError(
                "safety notices (recalls, hazards) cannot be switched off: the law requires them"
            )
    elif record.purpose is not None or record.channel is not None:
        raise ConsentError("an objection to direct marketing covers every purpose and channel")


def _latest(
    records: Iterable[ConsentRecord],
    want: set[Action],
    purpose: Purpose | None = None,
    channel: Channel | None = None,
) -> ConsentRecord | None:
    found: ConsentRecord | None = None
    for record in records:
        if record.action not in want:
            continue
        if purpose is not None and (record.purpose, record.channel) != (purpose, channel):
            continue
        if found is None or (record.at, record.id or 0) >= (found.at, found.id or 0):
            found = record
    return found


def objection(records: Iterable[ConsentRecord]) -> ConsentRecord | None:
    """The objection to direct marketing in force, if any (the latest, unless lifted)."""
    latest = _latest(records, {"object", "lift_objection"})
    return latest if latest is not None and latest.action == "object" else None


def decide(records: Iterable[ConsentRecord], purpose: Purpose, channel: Channel) -> Decision:
    """May ``purpose`` go out on ``channel``, given the customer's ledger ``records``?"""
    records = list(records)
    if purpose == "safety":
        return Decision(True, "safety notices are always sent", None)
    if purpose in MARKETING:
        objected = objection(records)
        if objected is not None:
            return Decision(False, "the customer objected to direct marketing", objected)
    latest = _latest(records, {"grant", "withdraw"}, purpose, channel)
    if latest is not None:
        verb = "granted" if latest.action == "grant" else "withdrew"
        return Decision(
            latest.action == "grant", f"the customer {verb} {purpose} by {channel}", latest
        )
    if purpose == "service":
        return Decision(True, "service messages are sent unless withdrawn", None)
    return Decision(False, f"no consent to {purpose} by {channel}", None)


@dataclass(frozen=True, slots=True)
class ConsentState:
    """Where a customer stands now: per purpose and channel, and the objection."""

    decisions: dict[tuple[Purpose, Channel], Decision]
    objection: ConsentRecord | None


def current_state(records: Iterable[ConsentRecord]) -> ConsentState:
    """The state derived from the ledger, for every purpose and channel."""
    records = list(records)
    return ConsentState(
        {(p, c): decide(records, p, c) for p in PURPOSES for c in CHANNELS},
        objection(records),
    )
