"""The supply-chain network as it is imported: validated documents (GS1 identifiers checked).

One :class:`Network` document may carry any part of the chain; importing it twice changes
nothing (every row has a natural key: GTIN, GTIN + lot, GLN, shipment reference, receipt).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from crm_core.kernel.read_models import UtcDateTime
from crm_core.traceability import gs1


class TraceabilityError(ValueError):
    """A document or request about the supply chain that cannot be accepted."""


GTIN = Annotated[str, AfterValidator(gs1.gtin)]
GLN = Annotated[str, AfterValidator(gs1.gln)]
SSCC = Annotated[str, AfterValidator(gs1.sscc)]
LotCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[!-~]{1,20}$")]
TempClass = Literal["frozen", "chilled", "controlled_cold", "cool", "crt", "ambient"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductIn(_Doc):
    gtin: GTIN
    name: Annotated[str, Field(min_length=1, max_length=200)]
    temp_class: TempClass
    range_min: float
    range_max: float
    single_limit_min: Annotated[int, Field(ge=0, le=100_000)] = 30
    budget_min: Annotated[int, Field(ge=0, le=1_000_000)] = 120

    @model_validator(mode="after")
    def _range(self) -> ProductIn:
        if self.range_max <= self.range_min:
            raise ValueError("range_max must be above range_min")
        return self


class LotIn(_Doc):
    gtin: GTIN
    lot: LotCode
    produced_on: date | None = None
    expires_on: date | None = None


class SiteIn(_Doc):
    gln: GLN
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["plant", "depot", "store"]
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class LegLotIn(_Doc):
    gtin: GTIN
    lot: LotCode
    sscc: SSCC
    quantity: Annotated[int, Field(gt=0)]


class LoggerIn(_Doc):
    serial: Annotated[str, Field(min_length=1, max_length=64)]
    from_ts: UtcDateTime
    to_ts: UtcDateTime | None = None


class LegIn(_Doc):
    seq: Annotated[int, Field(ge=1, le=100)]
    origin: GLN
    destination: GLN
    carrier: Annotated[str, Field(max_length=200)] = ""
    vehicle: Annotated[str, Field(max_length=200)] = ""
    planned_departure: UtcDateTime | None = None
    planned_arrival: UtcDateTime | None = None
    departed_at: UtcDateTime
    arrived_at: UtcDateTime | None = None
    lots: list[LegLotIn] = Field(default_factory=list, max_length=10_000)
    loggers: list[LoggerIn] = Field(default_factory=list, max_length=100)


class ShipmentIn(_Doc):
    reference: Annotated[str, Field(min_length=1, max_length=100)]
    legs: list[LegIn] = Field(min_length=1, max_length=100)


class DeliveryIn(_Doc):
    gtin: GTIN
    lot: LotCode
    store: GLN
    quantity: Annotated[int, Field(gt=0)]
    delivered_at: UtcDateTime
    shipment: str | None = None
    leg_seq: int | None = None


class PurchaseIn(_Doc):
    customer_id: Annotated[int, Field(gt=0)]
    receipt: Annotated[str, Field(min_length=1, max_length=100)]
    store: GLN
    gtin: GTIN
    lot: LotCode
    quantity: Annotated[int, Field(gt=0)] = 1
    bought_at: UtcDateTime


class LotQuantity(_Doc):
    gtin: GTIN
    lot: LotCode
    quantity: Annotated[int, Field(gt=0)]


class TransformationIn(_Doc):
    """Lots repacked into new lots at a site (EPCIS TransformationEvent)."""

    reference: Annotated[str, Field(min_length=1, max_length=100)]
    site: GLN
    at: UtcDateTime
    inputs: list[LotQuantity] = Field(min_length=1, max_length=1_000)
    outputs: list[LotQuantity] = Field(min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _distinct(self) -> TransformationIn:
        ins = [(x.gtin, x.lot) for x in self.inputs]
        outs = [(x.gtin, x.lot) for x in self.outputs]
        if len(set(ins)) != len(ins) or len(set(outs)) != len(outs):
            raise ValueError("a lot is named twice on one side of the transformation")
        if set(ins) & set(outs):
            raise ValueError("a lot cannot be both an input and an output")
        return self


class Network(_Doc):
    """Any part of the chain; rows refer to each other by their GS1 keys."""

    products: list[ProductIn] = Field(default_factory=list, max_length=100_000)
    sites: list[SiteIn] = Field(default_factory=list, max_length=100_000)
    lots: list[LotIn] = Field(default_factory=list, max_length=100_000)
    shipments: list[ShipmentIn] = Field(default_factory=list, max_length=100_000)
    deliveries: list[DeliveryIn] = Field(default_factory=list, max_length=100_000)
    purchases: list[PurchaseIn] = Field(default_factory=list, max_length=100_000)
    transformations: list[TransformationIn] = Field(default_factory=list, max_length=100_000)


class ImportResult(_Doc):
    products: int
    sites: int
    lots: int
    shipments: int
    legs: int
    deliveries: int
    purchases: int
    transformations: int = 0
