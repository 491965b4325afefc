"""The CSV import's limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_core.kernel.settings import Group


class ImportSettings(Group):
    max_bytes: Annotated[
        int, Field(ge=1024, description="Largest CSV file an import accepts, in bytes.")
    ] = 5 * 1024 * 1024
    max_rows: Annotated[
        int, Field(ge=1, le=1_000_000, description="Most data rows in one CSV import.")
    ] = 10_000
