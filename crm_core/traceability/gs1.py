"""GS1 identifiers, validated by ``biip`` (check digits, element strings), never by hand;
their EPC URNs (Tag Data Standard: company prefix split, lot escaping) made and read by
``epcpy``.

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
from epcpy.epc_schemes.lgtin import LGTIN
from epcpy.epc_schemes.sgln import SGLN
from epcpy.epc_schemes.sscc import SSCC
from epcpy.utils.common import ConvertException


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


def _company_prefix_length(company: str | None) -> int:
    # biip knows the GS1 prefix ranges but not every member's company prefix length; where
    # it does not, 7 digits is the most common length and gives a valid (if arbitrary) split
    return len(company) if company else 7


def lgtin_urn(gtin14: str, lot: str) -> str:
    """The EPC class URN of a lot (conventions §3.2), the lot escaped as the TDS says."""
    parsed = Gtin.parse(gtin14)
    company = parsed.company_prefix.value if parsed.company_prefix else None
    try:
        return str(
            LGTIN.from_gs1_element_string(
                f"(01){gtin14}(10){lot}",
                company_prefix_length=_company_prefix_length(company),
            ).epc_uri
        )
    except ConvertException as exc:
        raise InvalidIdentifier(f"lot {lot!r} of GTIN {gtin14}: {exc}") from exc


def sgln_urn(gln13: str) -> str:
    parsed = Gln.parse(gln13)
    company = parsed.company_prefix.value if parsed.company_prefix else None
    return str(
        SGLN.from_gs1_element_string(
            f"(414){gln13}(254)0", company_prefix_length=_company_prefix_length(company)
        ).epc_uri
    )


def sscc_urn(sscc18: str) -> str:
    parsed = Sscc.parse(sscc18)
    company = parsed.company_prefix.value if parsed.company_prefix else None
    return str(
        SSCC.from_gs1_element_string(
            f"(00){sscc18}", company_prefix_length=_company_prefix_length(company)
        ).epc_uri
    )


def parse_lgtin(urn: str) -> tuple[str, str]:
    """``urn:epc:class:lgtin:…`` as (GTIN-14, lot).

    >>> parse_lgtin("urn:epc:class:lgtin:703206.0980498.LOT%2F42")
    ('07032069804988', 'LOT/42')
    """
    try:
        parsed = LGTIN(urn)
        element = GS1Message.parse_hri(parsed.gs1_element_string())
    except (ConvertException, ParseError) as exc:
        raise InvalidIdentifier(f"LGTIN {urn!r}: {exc}") from exc
    values = {e.ai.ai: e.value for e in element.element_strings}
    return gtin(values["01"]), values["10"]


def parse_sgln(urn: str) -> str:
    """``urn:epc:id:sgln:…`` (extension 0: the location itself) as its GLN."""
    try:
        parsed = SGLN(urn)
    except ConvertException as exc:
        raise InvalidIdentifier(f"SGLN {urn!r}: {exc}") from exc
    if not urn.endswith(".0"):
        raise InvalidIdentifier(f"SGLN {urn!r}: a sub-location (extension) is not a site")
    return gln(parsed.gs1_key())


def parse_sscc(urn: str) -> str:
    try:
        return sscc(SSCC(urn).gs1_key())
    except ConvertException as exc:
        raise InvalidIdentifier(f"SSCC {urn!r}: {exc}") from exc
