"""EPCIS master data (the header's vocabularies) for what a document's events name.

Sites are ``BusinessLocation`` elements (SGLN, CBV name, our site kind and e-mail);
products and lots are ``EPCClass`` elements: a product as the pattern of its GTIN
(``urn:epc:idpat:sgtin:…*``) with its labelled range and budgets, a lot as its LGTIN with
its dates. With them a document re-creates the chain on a system that has none of it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from crm_core.traceability import gs1
from crm_core.traceability.epcis import terms as t
from crm_core.traceability.model import LotIn, ProductIn, SiteIn, TraceabilityError
from crm_core.traceability.queries import Conn

LGTIN = "urn:epc:class:lgtin:"
IDPAT = "urn:epc:idpat:sgtin:"
MDA_DESCRIPTION = "urn:epcglobal:cbv:mda#descriptionShort"


def _named(events: list[dict[str, Any]]) -> tuple[set[str], set[tuple[str, str]]]:
    glns: set[str] = set()
    lots: set[tuple[str, str]] = set()
    for e in events:
        for key in ("readPoint", "bizLocation"):
            if key in e:
                glns.add(gs1.parse_sgln(e[key]["id"]))
        glns |= {gs1.parse_sgln(s["source"]) for s in e.get("sourceList", [])}
        glns |= {gs1.parse_sgln(d["destination"]) for d in e.get("destinationList", [])}
        for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
            lots |= {gs1.parse_lgtin(q["epcClass"]) for q in e.get(key, [])}
    return glns, lots


def product_pattern(gtin: str) -> str:
    return IDPAT + gs1.lgtin_urn(gtin, "0")[len(LGTIN) :].rsplit(".", 1)[0] + ".*"


def gtin_of_pattern(uri: str) -> str:
    if not uri.startswith(IDPAT) or not uri.endswith(".*"):
        raise TraceabilityError(f"EPC class {uri!r}: not urn:epc:idpat:sgtin:…*")
    return gs1.parse_lgtin(LGTIN + uri[len(IDPAT) : -1] + "0")[0]


def _attrs(pairs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": k, "attribute": v} for k, v in pairs if v is not None]


def master_data(conn: Conn, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    glns, lots = _named(events)
    sites = [
        {
            "id": gs1.sgln_urn(g),
            "attributes": _attrs([(t.MDA_NAME, n), (t.A_KIND, k), (t.A_EMAIL, e)]),
        }
        for g, n, k, e in conn.execute(
            "SELECT gln, name, kind, email FROM supply_sites WHERE gln = ANY(%s) ORDER BY gln",
            (sorted(glns),),
        ).fetchall()
    ]
    classes = [
        {
            "id": product_pattern(g),
            "attributes": _attrs(
                [
                    (MDA_DESCRIPTION, n),
                    (t.A_TEMP_CLASS, c),
                    (t.A_RANGE_MIN, lo),
                    (t.A_RANGE_MAX, hi),
                    (t.A_SINGLE_LIMIT, single),
                    (t.A_BUDGET, budget),
                ]
            ),
        }
        for g, n, c, lo, hi, single, budget in conn.execute(
            "SELECT gtin, name, temp_class, range_min, range_max, single_limit_min, budget_min "
            "FROM products WHERE gtin = ANY(%s) ORDER BY gtin",
            (sorted({g for g, _ in lots}),),
        ).fetchall()
    ]
    gtins, codes = [g for g, _ in sorted(lots)], [c for _, c in sorted(lots)]
    for g, c, produced, expires in conn.execute(
        "SELECT l.gtin, l.lot_code, l.produced_on, l.expires_on FROM lots l "
        "JOIN unnest(%s::text[], %s::text[]) k(g, c) ON l.gtin = k.g AND l.lot_code = k.c "
        "ORDER BY 1, 2",
        (gtins, codes),
    ).fetchall():
        classes.append(
            {
                "id": gs1.lgtin_urn(g, c),
                "attributes": _attrs(
                    [
                        (t.A_PRODUCED, produced.isoformat() if produced else None),
                        (t.MDA_EXPIRY, expires.isoformat() if expires else None),
                    ]
                ),
            }
        )
    return [
        {"type": t.VTYPE_LOCATION, "vocabularyElementList": sites},
        {"type": t.VTYPE_CLASS, "vocabularyElementList": classes},
    ]


def _values(element: dict[str, Any]) -> dict[str, Any]:
    return {a["id"]: a.get("attribute") for a in element.get("attributes", [])}


def read_master_data(
    vocabularies: list[dict[str, Any]],
) -> tuple[list[SiteIn], list[ProductIn], list[LotIn]]:
    """Sites, products and lots from the header; elements without our attributes are left
    to what the database already knows (an import then names what is missing)."""
    sites: list[SiteIn] = []
    products: list[ProductIn] = []
    lots: list[LotIn] = []
    for vocabulary in vocabularies:
        for element in vocabulary.get("vocabularyElementList", []):
            values, uri = _values(element), element["id"]
            if vocabulary["type"] == t.VTYPE_LOCATION and t.A_KIND in values:
                sites.append(
                    SiteIn(
                        gln=gs1.parse_sgln(uri),
                        name=values.get(t.MDA_NAME) or uri,
                        kind=values[t.A_KIND],
                        email=values.get(t.A_EMAIL),
                    )
                )
            elif vocabulary["type"] == t.VTYPE_CLASS and uri.startswith(IDPAT):
                if t.A_RANGE_MIN in values:
                    products.append(
                        ProductIn(
                            gtin=gtin_of_pattern(uri),
                            name=values.get(MDA_DESCRIPTION) or uri,
                            temp_class=values.get(t.A_TEMP_CLASS),
                            range_min=values[t.A_RANGE_MIN],
                            range_max=values.get(t.A_RANGE_MAX),
                            single_limit_min=values.get(t.A_SINGLE_LIMIT, 30),
                            budget_min=values.get(t.A_BUDGET, 120),
                        )
                    )
            elif vocabulary["type"] == t.VTYPE_CLASS and uri.startswith(LGTIN):
                gtin, lot = gs1.parse_lgtin(uri)
                produced, expires = values.get(t.A_PRODUCED), values.get(t.MDA_EXPIRY)
                lots.append(
                    LotIn(
                        gtin=gtin,
                        lot=lot,
                        produced_on=date.fromisoformat(produced) if produced else None,
                        expires_on=date.fromisoformat(expires) if expires else None,
                    )
                )
    return sites, products, lots
