"""The broker settings group: where careline writes the broker's accounts, how it reloads it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from crm_core.kernel.settings import Group
from devices.credentials.broker_file import BrokerFile, BrokerKind


class BrokerSettings(Group):
    kind: Annotated[
        BrokerKind,
        Field(
            description="Which broker's form password_file is written in: mosquitto "
            "(a password file; the ACL is deploy/mosquitto/acl) or nats (a users list with "
            "each account's permissions, included by deploy/nats/nats.conf)."
        ),
    ] = "mosquitto"
    password_file: Annotated[
        Path | None,
        Field(
            description="The broker's accounts file that `careline devices provision` and "
            "`careline broker account|sync` rewrite from the database: Mosquitto's "
            "password_file, or the users file nats.conf includes. Empty: only the "
            "database is updated."
        ),
    ] = None
    pid_file: Annotated[
        Path | None,
        Field(
            description="PID file of Mosquitto: after a change careline sends it SIGHUP "
            "so it reloads the password file. Empty: reload it yourself (the command "
            "says so). Not used for NATS, which must be restarted."
        ),
    ] = None

    acl_file: Annotated[
        Path | None,
        Field(
            description="Mosquitto only: the ACL file careline writes beside the password "
            "file (the shipped rules from acl_base plus one block per shopper app account, "
            "`careline apps provision`); point Mosquitto's acl_file at it. Empty: the ACL "
            "is the static deploy/mosquitto/acl, which gives app accounts nothing."
        ),
    ] = None
    acl_base: Annotated[
        Path | None,
        Field(
            description="The shipped ACL (deploy/mosquitto/acl) that the written acl_file "
            "starts from. Required with acl_file."
        ),
    ] = None

    simulator_password: Annotated[
        str | None,
        Field(
            description="Password of the careline-simulator account (development fleets), "
            "registered by `careline broker sync --services`. Empty: no simulator account."
        ),
    ] = None

    def file(self) -> BrokerFile | None:
        """Where the accounts go, or None (only the database is updated)."""
        if self.password_file is None:
            return None
        return BrokerFile(self.password_file, self.kind, self.acl_file, self.acl_base)

    @model_validator(mode="after")
    def _acl_needs_its_base(self) -> BrokerSettings:
        if self.acl_file is not None and self.acl_base is None:
            raise ValueError(
                "acl_file is set but acl_base is not: name the shipped ACL "
                "(deploy/mosquitto/acl) that the written ACL starts from"
            )
        return self

    @field_validator("password_file", "pid_file", "acl_file", "acl_base", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value
