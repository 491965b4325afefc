"""The notifications settings group: SMTP, webhooks, MQTT push, the outbox's retry policy."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from crm_core.kernel.settings import Group
from crm_core.notifications.model import OutboxPolicy


class NotificationSettings(Group):
    smtp_host: Annotated[
        str | None,
        Field(description="SMTP server for e-mail. Empty: the demo starts an embedded one."),
    ] = None
    smtp_port: Annotated[int, Field(ge=1, le=65535, description="SMTP port.")] = 8025
    smtp_starttls: Annotated[bool, Field(description="Upgrade SMTP with STARTTLS.")] = False
    smtp_username: Annotated[str | None, Field(description="SMTP user, if it asks for one.")] = None
    smtp_password: Annotated[str | None, Field(description="SMTP password.")] = None
    mail_from: Annotated[str, Field(description="Sender of customer e-mail.")] = (
        "Careline Service <service@careline.example>"
    )
    webhook_url: Annotated[
        str | None,
        Field(description="Endpoint that receives the customer notifications as signed webhooks."),
    ] = None
    webhook_secret: Annotated[
        str | None,
        Field(description="Standard Webhooks secret (whsec_ + base64) that signs webhooks."),
    ] = None
    push: Annotated[
        bool,
        Field(description="Push to customers' apps over MQTT (app/{customer_id}/notifications)."),
    ] = True
    push_username: Annotated[
        str | None,
        Field(
            description="Broker account the push channel publishes with (the shipped ACL's "
            "careline-push may publish app/+/notifications only). Empty: mqtt.username."
        ),
    ] = None
    push_password: Annotated[str | None, Field(description="Its broker password.")] = None
    push_ttl_s: Annotated[
        int, Field(ge=60, description="Seconds a push stays deliverable (MQTT 5 message expiry).")
    ] = 86400
    public_url: Annotated[
        str, Field(description="Base URL customers reach the console at (links in mail).")
    ] = "http://127.0.0.1:8000"
    link_max_age_days: Annotated[
        int, Field(ge=1, le=365, description="Days a preference link stays valid.")
    ] = 30
    dispatch_every_s: Annotated[
        int, Field(ge=1, le=3600, description="Seconds between outbox dispatcher runs.")
    ] = 3
    retry_base_s: Annotated[float, Field(gt=0, description="First retry delay (doubles).")] = 30.0
    retry_max_s: Annotated[float, Field(gt=0, description="Longest retry delay.")] = 3600.0
    max_attempts: Annotated[
        int, Field(ge=1, le=100, description="Attempts before a message is failed.")
    ] = 8
    lease_s: Annotated[
        float, Field(gt=0, description="Seconds a claimed message is ours before it is retried.")
    ] = 60.0

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> NotificationSettings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "CARELINE_NOTIFICATIONS__WEBHOOK_URL needs CARELINE_NOTIFICATIONS__WEBHOOK_SECRET "
                "(whsec_ + base64): webhooks are always signed"
            )
        if self.webhook_secret:
            from standardwebhooks import Webhook

            try:
                Webhook(self.webhook_secret)
            except Exception as exc:
                raise ValueError(
                    "CARELINE_NOTIFICATIONS__WEBHOOK_SECRET must be whsec_ + base64"
                ) from exc
        return self

    def policy(self) -> OutboxPolicy:
        return OutboxPolicy(
            base_delay_s=self.retry_base_s,
            max_delay_s=self.retry_max_s,
            max_attempts=self.max_attempts,
            lease_s=self.lease_s,
        )
