"""Ingest's settings groups: the broker it subscribes to, and how it batches and bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from crm_core.kernel.broker_login import BrokerLogin, BrokerTls
from crm_core.kernel.settings import Group


class MqttSettings(Group):
    host: Annotated[
        str | None,
        Field(description="Broker host. Empty: start an embedded broker (iotcore/rumqttd)."),
    ] = None
    port: Annotated[int, Field(ge=1, le=65535, description="Broker port.")] = 1883
    username: Annotated[str | None, Field(description="Broker user name, if it asks.")] = None
    password: Annotated[str | None, Field(description="Broker password.")] = None
    tls: Annotated[
        bool,
        Field(
            description="Connect to the broker over TLS (usually port 8883), verifying its "
            "certificate and host name; every MQTT client of careline does the same."
        ),
    ] = False
    ca_file: Annotated[
        Path | None,
        Field(
            description="PEM file of the CA(s) that signed the broker's certificate. "
            "Empty: the system's trusted CAs."
        ),
    ] = None
    cert_file: Annotated[
        Path | None,
        Field(description="PEM client certificate, when the broker asks for one (optional)."),
    ] = None
    key_file: Annotated[
        Path | None,
        Field(description="PEM private key of cert_file (if not inside cert_file)."),
    ] = None
    client_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=64,
            description="Fixed client id of the ingest worker: the broker keeps its "
            "persistent session (and the QoS 1 messages queued for it) under this id.",
        ),
    ] = "careline-ingest-1"
    protocol: Annotated[
        Literal["auto", "5", "3.1.1"],
        Field(description="MQTT version: auto tries 5 and falls back to 3.1.1."),
    ] = "auto"
    keepalive: Annotated[int, Field(ge=5, le=3600, description="Keep-alive seconds.")] = 30
    reconnect_max_delay_s: Annotated[
        int,
        Field(
            ge=1,
            le=120,
            description="Longest wait between two attempts to reconnect to the broker: "
            "ingest is subscribed again within about this long after the broker is back.",
        ),
    ] = 2
    session_expiry: Annotated[
        int,
        Field(ge=0, description="Seconds the broker keeps the session while we are away."),
    ] = 7 * 24 * 3600
    receive_maximum: Annotated[
        int,
        Field(
            ge=1,
            le=65535,
            description="QoS 1 messages the broker may have in flight to us (MQTT 5): "
            "what ingest holds while the database is away is bounded by this many "
            "messages (the broker keeps the rest).",
        ),
    ] = 20000
    share_group: Annotated[
        str | None,
        Field(
            description="Shared-subscription group for several ingest workers "
            "($share/<group>/...). Empty: a plain subscription."
        ),
    ] = None

    partitions: Annotated[
        str | None,
        Field(
            description="Partitions this worker owns when the broker partitions by device "
            "(NATS's subject mapping; see the README's scaling section), e.g. 0-7 or 0,2,4: "
            "one persistent session per partition, client id <client_id>-p<k>, subscribed "
            "to <partition_prefix>/<k>/<topic_root>/#. Empty: one session for every device.",
        ),
    ] = None
    partition_prefix: Annotated[
        str,
        Field(pattern=r"^[a-z0-9-]+$", description="First topic level of a partition."),
    ] = "p"

    @field_validator("partitions")
    @classmethod
    def _partition_list(cls, value: str | None) -> str | None:
        if not value:
            return None
        from ingest.partitions import parse_partitions

        parse_partitions(value)
        return value

    @model_validator(mode="after")
    def _one_way_to_share(self) -> MqttSettings:
        if self.partitions and self.share_group:
            raise ValueError(
                "partitions and share_group exclude each other: the broker partitions by "
                "device, or shares one subscription round-robin (never both)"
            )
        return self

    @field_validator("ca_file", "cert_file", "key_file", mode="before")
    @classmethod
    def _readable_file(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not Path(str(value)).is_file():
            raise ValueError("no such file")  # the value is shown with it (not for a key)
        return value

    @model_validator(mode="after")
    def _tls_files_need_tls(self) -> MqttSettings:
        if not self.tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ca_file, cert_file and key_file are used only with tls=true")
        if self.key_file and not self.cert_file:
            raise ValueError("key_file needs cert_file")
        return self

    def login(self, username: str | None = None, password: str | None = None) -> BrokerLogin:
        """This broker's TLS with an account: ``username`` if given, else ours."""
        tls = BrokerTls(self.ca_file, self.cert_file, self.key_file) if self.tls else None
        if username is None:
            username, password = self.username, self.password
        return BrokerLogin(username, password, tls)

    @field_validator("share_group", "host", "username", "password")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    topic_root: Annotated[
        str, Field(pattern=r"^[a-z0-9-]+$", description="First level of every topic.")
    ] = "dt"


class IngestSettings(Group):
    batch_max_messages: Annotated[
        int, Field(ge=1, le=100000, description="Most messages in one committed batch.")
    ] = 2000
    batch_max_bytes: Annotated[
        int,
        Field(
            ge=1024,
            description="Most bytes of messages in one batch: a batch of large messages "
            "is cut sooner, so that its decoded readings stay a few hundred MB at most.",
        ),
    ] = 2 * 1024 * 1024
    batch_max_wait_ms: Annotated[
        int, Field(ge=1, le=10000, description="Longest a message waits for its batch.")
    ] = 15
    future_tolerance_s: Annotated[
        float,
        Field(ge=0, description="Device clocks may run this far ahead of ours; more is rejected."),
    ] = 300.0
    past_tolerance_s: Annotated[
        float,
        Field(
            gt=0,
            description="Oldest reading accepted, in seconds before it was received "
            "(90 days): a device may send what it buffered while offline, not years.",
        ),
    ] = 90 * 86400.0
    detection: Annotated[bool, Field(description="Run the anomaly detectors.")] = True
    checkpoint_every_s: Annotated[
        float,
        Field(
            gt=0,
            description="How often detector state is saved, so a restart does not "
            "start the detectors' warm-up again.",
        ),
    ] = 60.0
    tuning_poll_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="How often the worker checks for changed detector overrides and "
            "baseline resets (one small query): a change is in force for readings taken in "
            "this long after it was saved, without a restart.",
        ),
    ] = 2.0
    retry_max_delay_s: Annotated[
        float,
        Field(
            gt=0,
            le=60,
            description="Longest wait between two tries of a batch while the database is "
            "away: ingest writes again within about this long (plus "
            "database.reconnect_max_delay_s) after it is back.",
        ),
    ] = 1.0
    max_message_bytes: Annotated[
        int,
        Field(
            ge=1024,
            le=256 * 1024 * 1024,
            description="Largest payload accepted. A larger one is dead-lettered "
            "(reason too_large) with its size, digest and first 4 KiB, never whole.",
        ),
    ] = 1024 * 1024
    max_readings_per_message: Annotated[
        int,
        Field(
            ge=1,
            le=1_000_000,
            description="Most readings (SenML records, JSON values) in one message; "
            "more is dead-lettered (too_large).",
        ),
    ] = 10_000
    inbox_max_bytes: Annotated[
        int,
        Field(
            ge=64 * 1024,
            description="Bytes of messages held received but not yet acknowledged past "
            "which QoS 0 messages are dropped; QoS 1 ones are bounded by the broker's "
            "in-flight window (mqtt.receive_maximum), and the broker keeps the rest.",
        ),
    ] = 64 * 1024 * 1024
    max_reason_chars: Annotated[
        int,
        Field(
            ge=100,
            le=100_000,
            description="Longest reason text kept with a dead letter; longer ones are cut.",
        ),
    ] = 2000
    unknown_device_cache_size: Annotated[
        int,
        Field(
            ge=1,
            description="Unknown serials remembered (least recently used ones are forgotten).",
        ),
    ] = 10_000
    unknown_device_ttl_s: Annotated[
        float,
        Field(
            gt=0,
            description="How long an unknown serial is remembered before the registry "
            "is asked again.",
        ),
    ] = 30.0
    dead_letter_retention_days: Annotated[
        int,
        Field(
            ge=1,
            description="Dead letters not seen again for this many days are deleted "
            "(by the scheduler's daily job).",
        ),
    ] = 30
