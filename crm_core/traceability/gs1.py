"""GS1 identifiers, validated by ``biip`` (check digits, element strings), never by hand.

>>> gtin("629104150021" + "3")
'06291041500213'
>>> gtin("6291041500214")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
crm_core.traceability.gs1.InvalidIdentifier: GTIN '6291041500214': ... Expected 3, got 4.
>>> parse_element_string("(01)07032069804988(10)LOT42(17)261231")
ElementString(gtin='07032069804988', lot='LOT42', expiry=datetime.date(2026, 12, 31))
>>> lgtin_urn("07032069804988", "LOT42")
'urn:epc:class:lgtin:703206.0980498.LOT42'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from biip import ParseError
from biip.gln import Gln
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.sscc import Sscc


class InvalidIdentifier(ValueError):
    """A GTIN, GLN, SSCC or element string that is not valid."""


def gtin(value: str) -> str:
    """A GTIN-8/12/13/14 as its 14-digit form."""
    try:
        return Gtin.parse(value.strip()).as_gtin_14()
    except ParseError as exc:
        raise InvalidIdentifier(f"GTIN {value!r}: {exc}") from exc


def gln(value: str) -> str:
    try:
        return Gln.parse(value.strip()).value
    except ParseError as exc:
        raise InvalidIdentifier(f"GLN {value!r}: {exc}") from exc


def sscc(value: str) -> str:
    try:
        return Sscc.parse(value.strip()).value
    except ParseError as exc:
        raise InvalidIdentifier(f"SSCC {value!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ElementString:
    gtin: str
    lot: str | None
    expiry: date | None


def parse_element_string(value: str) -> ElementString:
    """``(01)…(10)…(17)…`` (human-readable) or a GS1 Digital Link URI, as GTIN, lot, expiry."""
    text = value.strip()
    try:
        message = GS1Message.parse(text) if not text.startswith("(") else GS1Message.parse_hri(text)
    except ParseError as exc:
        raise InvalidIdentifier(f"GS1 element string {value!r}: {exc}") from exc
    found: dict[str, str] = {}
    expiry: date | None = None
    for element in message.element_strings:
        found[element.ai.ai] = element.value
        if element.ai.ai == "17":
            expiry = element.date
    if "01" not in found:
        raise InvalidIdentifier(f"GS1 element string {value!r}: no GTIN (01)")
    return ElementString(gtin(found["01"]), found.get("10"), expiry)


def _prefix_split(gtin14: str) -> tuple[str, str]:
    parsed = Gtin.parse(gtin14)
    company = parsed.company_prefix.value if parsed.company_prefix else gtin14[1:8]
    item = gtin14[0] + gtin14[1 + len(company) : 13]
    return company, item


def lgtin_urn(gtin14: str, lot: str) -> str:
    """The EPC class URN of a lot (conventions §3.2)."""
    company, item = _prefix_split(gtin14)
    return f"urn:epc:class:lgtin:{company}.{item}.{lot}"


def sgln_urn(gln13: str) -> str:
    parsed = Gln.parse(gln13)
    company = parsed.company_prefix.value if parsed.company_prefix else gln13[:7]
    return f"urn:epc:id:sgln:{company}.{gln13[len(company) : 12]}.0"


def sscc_urn(sscc18: str) -> str:
    parsed = Sscc.parse(sscc18)
    company = parsed.company_prefix.value if parsed.company_prefix else sscc18[1:8]
    return f"urn:epc:id:sscc:{company}.{sscc18[0]}{sscc18[1 + len(company) : 17]}"
