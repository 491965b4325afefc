"""Consent use cases: record changes, and answer "may we send?" at the moment of sending.

A change is recorded only when it changes something (granting what is granted adds no
row), so a form submitted twice or a redelivered import leaves one record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from crm_core.consent.model import (
    Channel,
    ConsentRecord,
    ConsentState,
    Decision,
    Purpose,
    check_change,
    current_state,
    decide,
    objection,
)
from crm_core.consent.ports import ConsentLedger, ConsentUnitOfWork
from crm_core.kernel.errors import NotFound


def _changes_something(history: list[ConsentRecord], change: ConsentRecord) -> bool:
    if change.action in ("object", "lift_objection"):
        in_force = objection(history) is not None
        return in_force != (change.action == "object")
    assert change.purpose is not None
    assert change.channel is not None
    latest = None
    for record in history:
        if (record.purpose, record.channel) == (change.purpose, change.channel):
            latest = record
    if latest is None:  # nothing said yet: a grant or withdrawal is news unless it is the default
        default = decide([], change.purpose, change.channel).allowed
        return default != (change.action == "grant")
    return latest.action != change.action


def record_changes(
    uow: ConsentUnitOfWork, customer_id: int, changes: Iterable[ConsentRecord], now: datetime
) -> list[ConsentRecord]:
    """Append the ``changes`` that change something, in one transaction; the ones stored.

    :class:`NotFound` for an unknown customer, :class:`~crm_core.consent.model.ConsentError`
    for a change the ledger refuses (nothing is stored then).
    """
    changes = [replace(c, customer_id=customer_id, at=now) for c in changes]
    for change in changes:
        check_change(change)
    stored: list[ConsentRecord] = []
    with uow:
        if not uow.consents.customer_exists(customer_id, lock=True):
            raise NotFound(f"customer {customer_id} does not exist")
        history = uow.consents.history(customer_id)
        for change in changes:
            if _changes_something(history, change):
                record = uow.consents.append(change)
                history.append(record)
                stored.append(record)
        uow.commit()
    return stored


def may_send(
    ledger: ConsentLedger, customer_id: int, purpose: Purpose, channel: Channel
) -> Decision:
    """The decision for one message now, with the record behind it."""
    return decide(ledger.history(customer_id), purpose, channel)


def consent_state(
    ledger: ConsentLedger, customer_id: int
) -> tuple[ConsentState, list[ConsentRecord]]:
    """The customer's current state and the ledger it was derived from."""
    if not ledger.customer_exists(customer_id):
        raise NotFound(f"customer {customer_id} does not exist")
    history = ledger.history(customer_id)
    return current_state(history), history
