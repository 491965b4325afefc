"""The service team's notices and reminders, wired from settings for the scheduler.

* :func:`sla_notices`: the handler that mails staff about SLA warnings, breaches and
  escalations (:mod:`alerts.sla_notices`), subscribed on the SLA job's bus so each notice
  is written in the transaction that raised its alert;
* :func:`fault_reminders`: the every-minute job that reminds the service desk of open
  faults nobody acknowledged and escalates to the lead (:mod:`alerts.fault_reminders`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from alerts.fault_reminders import Recipients, Reminder, send_reminders
from alerts.reminder_policy import ReminderPolicy
from alerts.sla_notices import SlaNotices
from careline.bootstrap import Pool
from careline.settings import Settings
from crm_core.kernel.clock import Clock
from crm_core.kernel.errors import StorageError, database_errors
from crm_core.kernel.events import EventBus
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.tickets.model import SlaBreached, SlaWarning, TicketEscalated
from crm_core.tickets.postgres import PostgresTicketRepository
from crm_core.tickets.settings import ServiceSettings

log = logging.getLogger(__name__)


def sla_notices(settings: Settings, clock: Clock) -> SlaNotices:
    return SlaNotices(
        tickets=lambda uow: PostgresTicketRepository(uow.connection),
        outbox=lambda uow: PostgresOutbox(uow.connection),
        escalation_email=settings.service.escalation_email,
        public_url=settings.notifications.public_url,
        clock=clock,
    )


def subscribe_sla_notices(bus: EventBus, notices: SlaNotices) -> EventBus:
    bus.subscribe(SlaWarning, notices)
    bus.subscribe(SlaBreached, notices)
    bus.subscribe(TicketEscalated, notices)
    return bus


def reminder_policy(service: ServiceSettings) -> ReminderPolicy:
    return ReminderPolicy(
        first_after=timedelta(minutes=service.reminder_first_after_min),
        growth=service.reminder_growth,
        max_interval=timedelta(minutes=service.reminder_max_interval_min),
        escalate_after=service.reminder_escalate_after,
    )


def fault_reminders(pool: Pool, settings: Settings, clock: Clock) -> Callable[[], list[Reminder]]:
    """The reminder job: one transaction per run; the reminders it sent (none on a rerun)."""
    policy = reminder_policy(settings.service)
    recipients = Recipients(desk=settings.service.desk_email, lead=settings.service.lead_email)
    public_url = settings.notifications.public_url

    def run() -> list[Reminder]:
        try:
            with database_errors(), pool.connection() as conn, conn.transaction():
                sent = send_reminders(conn, policy, recipients, public_url, clock())
        except StorageError as exc:
            log.warning("fault reminders did not run: %s; trying again in a minute", exc)
            return []
        for reminder in sent:
            log.info(
                "fault %d: reminder %d sent to %s%s",
                reminder.fault_id,
                reminder.seq,
                reminder.recipient,
                " (escalated)" if reminder.escalated else "",
            )
        return sent

    return run
