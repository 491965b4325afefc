"""The words of our EPCIS documents: the JSON-LD context, CBV values, and the URIs we make.

What EPCIS and the CBV have no field for (a leg's number in its shipment, the carrier, a
product's labelled range) travels as user extensions in our own namespace, prefix ``cl``:
the standard's way (JSON-LD compact IRIs), which the schema admits as URI property names.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from crm_core.traceability.model import TraceabilityError

GS1_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NS = "https://careline.example/epcis/"  # our extension namespace (a placeholder domain)
CONTEXT: list[str | dict[str, str]] = [GS1_CONTEXT, {"cl": NS}]

BT_PREFIX = "urn:epcglobal:cbv:bt:"
LOGGER_PREFIX = NS + "logger/"
TRANSFORMATION_PREFIX = NS + "transformation/"
VTYPE_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
VTYPE_CLASS = "urn:epcglobal:epcis:vtype:EPCClass"
MDA_NAME = "urn:epcglobal:cbv:mda#name"
MDA_EXPIRY = "urn:epcglobal:cbv:mda#itemExpirationDate"
TEMPERATURE_TYPE = "gs1:Temperature"  # GS1 Web Vocabulary measurement type
CELSIUS = "CEL"  # UN/CEFACT Rec 20 (SenML's "Cel" is mapped at this boundary)

# extension terms (cl:…)
LEG_SEQ = "cl:legSeq"
CARRIER = "cl:carrier"
VEHICLE = "cl:vehicle"
PLANNED_DEPARTURE = "cl:plannedDeparture"
PLANNED_ARRIVAL = "cl:plannedArrival"
A_KIND = NS + "siteKind"
A_EMAIL = NS + "email"
A_TEMP_CLASS = NS + "tempClass"
A_RANGE_MIN = NS + "rangeMinCelsius"
A_RANGE_MAX = NS + "rangeMaxCelsius"
A_SINGLE_LIMIT = NS + "singleLimitMinutes"
A_BUDGET = NS + "budgetMinutes"
A_PRODUCED = NS + "producedOn"
_EVENT_IDS = uuid.UUID("6f0e1b7e-6c0a-4b5e-9a43-0c1f2f4e7d21")


def bt_uri(origin_gln: str, shipment: str) -> str:
    """The bill of lading as a CBV business transaction URI: ``urn:epcglobal:cbv:bt:GLN:id``."""
    return f"{BT_PREFIX}{origin_gln}:{quote(shipment, safe='')}"


def shipment_of_bt(uri: str) -> str:
    if not uri.startswith(BT_PREFIX) or uri.count(":") < 5:
        raise TraceabilityError(f"business transaction {uri!r}: not urn:epcglobal:cbv:bt:GLN:id")
    return unquote(uri[len(BT_PREFIX) :].split(":", 1)[1])


def logger_uri(serial: str) -> str:
    return LOGGER_PREFIX + quote(serial, safe="")


def logger_of(uri: str) -> str:
    if not uri.startswith(LOGGER_PREFIX):
        raise TraceabilityError(f"sensor deviceID {uri!r}: not one of our loggers ({NS}logger/…)")
    return unquote(uri[len(LOGGER_PREFIX) :])


def transformation_uri(reference: str) -> str:
    return TRANSFORMATION_PREFIX + quote(reference, safe="")


def transformation_of(uri: str) -> str:
    if uri.startswith(TRANSFORMATION_PREFIX):
        return unquote(uri[len(TRANSFORMATION_PREFIX) :])
    return uri[-100:]  # another system's transformation ID is its reference here


def event_id(*key: object) -> str:
    """A stable event ID from the event's natural key: an export made twice is the same."""
    return "urn:uuid:" + str(uuid.uuid5(_EVENT_IDS, "\x1f".join(str(k) for k in key)))


def when(ts: datetime) -> str:
    """UTC, ISO 8601 with ``Z``: events carry ``eventTimeZoneOffset`` ``+00:00``."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TraceabilityError(f"time {value!r}: {exc}") from exc
    if parsed.tzinfo is None:
        raise TraceabilityError(f"time {value!r}: no time zone")
    return parsed.astimezone(UTC)
