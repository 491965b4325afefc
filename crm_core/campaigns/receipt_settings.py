"""The receipts settings group: the subscription to stores' POS receipts."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.kernel.settings import Group


class ReceiptSettings(Group):
    enabled: Annotated[
        bool, Field(description="Subscribe to stores' POS receipts (pos/<store>/receipts).")
    ] = True
    client_id: Annotated[
        str,
        Field(min_length=1, max_length=64, description="MQTT client id of the receipts worker."),
    ] = "careline-receipts-1"
