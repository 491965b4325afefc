"""The traceability settings group: where GS1's EPCIS JSON schema is found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from crm_core.kernel.settings import Group


class EpcisSettings(Group):
    schema_file: Annotated[
        Path,
        Field(
            description="GS1's EPCIS 2.0 JSON schema, which EPCIS imports and exports are "
            "validated against; scripts/fetch-epcis-schema.sh puts it there from the npm "
            "registry (it is not part of this repository)."
        ),
    ] = Path("~/.cache/careline/epcis/epcis-json-schema.json")
