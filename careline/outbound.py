"""Wiring of what careline sends: the signed links in customer mail, the heads-up and
survey handlers, the mail server, the outbox dispatcher with its channels, and the waker
that drains the outbox when a writer commits a message."""

from __future__ import annotations

import functools
import logging
import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from alerts.heads_up import HeadsUp
from alerts.survey_request import SurveyRequest
from careline.embedded.smtp import MAIL_FOLDER, EmbeddedSmtp
from careline.settings import Settings
from crm_core.consent.links import PreferenceLinks
from crm_core.consent.postgres import PostgresConsentLedger
from crm_core.kernel.clock import Clock, utc_now
from crm_core.kernel.links import LinkSigner
from crm_core.notifications.channels.email import SmtpChannel
from crm_core.notifications.channels.push import MqttPushChannel
from crm_core.notifications.channels.webhook import WebhookChannel
from crm_core.notifications.dispatcher import Dispatcher
from crm_core.notifications.ports import ChannelAdapter
from crm_core.notifications.postgres import PostgresOutbox
from crm_core.notifications.recipients import PostgresRecipients
from crm_core.notifications.wake import OutboxWaker
from crm_core.surveys.links import SurveyLinks
from crm_core.tickets.postgres import PostgresTicketRepository
from devices.faults.queries import ticket_diagnosis

log = logging.getLogger(__name__)

Pool = ConnectionPool[psycopg.Connection[TupleRow]]


def kept_secret(path: Path) -> str:
    """A random key made once and kept (owner-only) in the data folder."""
    if path.exists():
        return path.read_text("utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value + "\n", "utf-8")
    path.chmod(0o600)
    return value


SESSION_SECRET_FILE = "session-secret"  # noqa: S105 - a file name, not a secret


def link_signer(settings: Settings) -> LinkSigner:
    """Signs the links in customer mail with the installation's secret (the console's
    session secret, or the one the demo keeps in the data folder), so the web app accepts
    them; every process that writes mail (ingest, scheduler, demo) makes the same links."""
    return LinkSigner(
        settings.api.session_secret or kept_secret(settings.data_dir / SESSION_SECRET_FILE)
    )


def preference_links(settings: Settings) -> PreferenceLinks:
    days = settings.notifications.link_max_age_days
    return PreferenceLinks(link_signer(settings), max_age_s=days * 86400)


def heads_up(settings: Settings, clock: Clock = utc_now) -> HeadsUp:
    """The proactive-ticket heads-up handler, with its links and webhook target."""
    group = settings.notifications
    return HeadsUp(
        recipients=lambda uow: PostgresRecipients(uow.connection),
        tickets=lambda uow: PostgresTicketRepository(uow.connection),
        consents=lambda uow: PostgresConsentLedger(uow.connection),
        outbox=lambda uow: PostgresOutbox(uow.connection),
        # the secret is read (or made, for the demo) when the first message needs a link
        links=functools.cache(lambda: preference_links(settings)),
        diagnosis=lambda uow, ticket_id: ticket_diagnosis(uow.connection, ticket_id),
        public_url=group.public_url,
        clock=clock,
        webhook_url=group.webhook_url if group.webhook_secret else None,
    )


def survey_request(settings: Settings, clock: Clock = utc_now) -> SurveyRequest:
    """The handler that mails the satisfaction survey when a ticket is resolved."""

    def links() -> tuple[SurveyLinks, PreferenceLinks]:
        return SurveyLinks(link_signer(settings)), preference_links(settings)

    return SurveyRequest(
        recipients=lambda uow: PostgresRecipients(uow.connection),
        consents=lambda uow: PostgresConsentLedger(uow.connection),
        outbox=lambda uow: PostgresOutbox(uow.connection),
        links=functools.cache(links),
        public_url=settings.notifications.public_url,
        clock=clock,
    )


@dataclass(frozen=True, slots=True)
class MailEndpoint:
    host: str
    port: int
    maildir: Path | None  # the embedded server's mailbox; None for a real server


def start_mail(settings: Settings, stack: ExitStack) -> MailEndpoint:
    """The configured SMTP server, or an embedded one storing mail in the data folder."""
    group = settings.notifications
    if group.smtp_host:
        return MailEndpoint(group.smtp_host, group.smtp_port, None)
    folder = settings.data_dir / MAIL_FOLDER
    server = EmbeddedSmtp(folder, group.smtp_port)
    port = server.start()
    stack.callback(server.stop)
    return MailEndpoint("127.0.0.1", port, folder)


def build_dispatcher(
    settings: Settings,
    pool: Pool,
    mail: MailEndpoint | None,
    mqtt: tuple[str, int, Literal["5", "3.1.1"]] | None,
    stack: ExitStack,
    clock: Clock = utc_now,
) -> Dispatcher:
    """The outbox dispatcher with every channel the settings (and services) allow."""
    group = settings.notifications
    channels: dict[str, ChannelAdapter] = {}
    if mail is not None:
        channels["email"] = SmtpChannel(
            mail.host,
            mail.port,
            group.mail_from,
            starttls=group.smtp_starttls,
            username=group.smtp_username,
            password=group.smtp_password,
        )
    if group.webhook_secret:
        channels["webhook"] = WebhookChannel(group.webhook_secret, clock)
    if group.push and mqtt is not None:
        push = MqttPushChannel(
            mqtt[0],
            mqtt[1],
            clock=clock,
            protocol=mqtt[2],
            default_ttl_s=group.push_ttl_s,
            login=settings.mqtt.login(group.push_username or None, group.push_password),
        )
        stack.callback(push.close)
        channels["push"] = push
    log.info("outbox channels: %s", ", ".join(sorted(channels)) or "none")
    return Dispatcher(pool, channels, policy=group.policy(), clock=clock)


def push_protocol(settings: Settings) -> Literal["5", "3.1.1"]:
    return "3.1.1" if settings.mqtt.protocol == "3.1.1" else "5"


def start_waker(database_url: str, dispatcher: Dispatcher, stack: ExitStack) -> OutboxWaker:
    """Drain the outbox as soon as a writer NOTIFYs (offers go out at once)."""
    waker = OutboxWaker(database_url, dispatcher).start()
    stack.callback(waker.stop)
    return waker
