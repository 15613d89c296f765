"""Conformance check of a PACT ProductFootprint: the required fields, types, units and identifier forms of its
version (v2.3 or v3.0), and the GX extension entry."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from gxopt.report.pact import V2, V3

# Required fields as published (WBCSD PACT data-exchange-protocol, spec/v2 and spec/v3 openapi.yaml).
REQUIRED = {
    V2: {"footprint": ("id", "specVersion", "version", "created", "status", "comment", "companyName", "companyIds",
                       "productDescription", "productIds", "productCategoryCpc", "productNameCompany", "pcf"),
         "pcf": ("declaredUnit", "unitaryProductAmount", "referencePeriodStart", "referencePeriodEnd",
                 "pCfExcludingBiogenic", "fossilGhgEmissions", "fossilCarbonContent", "biogenicCarbonContent",
                 "characterizationFactors", "ipccCharacterizationFactorsSources", "crossSectoralStandardsUsed",
                 "boundaryProcessesDescription", "exemptedEmissionsPercent", "exemptedEmissionsDescription",
                 "packagingEmissionsIncluded")},
    V3: {"footprint": ("id", "specVersion", "created", "status", "companyName", "companyIds", "productDescription",
                       "productIds", "productNameCompany", "pcf"),
         "pcf": ("declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit",
                 "referencePeriodStart", "referencePeriodEnd", "pcfExcludingBiogenicUptake",
                 "pcfIncludingBiogenicUptake", "fossilGhgEmissions", "fossilCarbonContent",
                 "ipccCharacterizationFactors", "crossSectoralStandards", "exemptedEmissionsPercent")},
}
GEOGRAPHY = ("geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision")
DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def problems(doc: dict[str, Any], version: str) -> list[str]:
    """Required fields missing or of the wrong type/unit in ``doc`` (empty = conformant on those points)."""
    out = []
    req = REQUIRED[version]
    out += [f"missing {k}" for k in req["footprint"] if k not in doc]
    pcf = doc.get("pcf", {})
    out += [f"missing pcf.{k}" for k in req["pcf"] if k not in pcf]
    if not any(g in pcf for g in GEOGRAPHY):
        out.append("missing pcf geography (one of " + ", ".join(GEOGRAPHY) + ")")
    try:
        if uuid.UUID(str(doc.get("id"))).version != 4:
            out.append("id is not a UUID v4")
    except ValueError:
        out.append("id is not a UUID")
    for k in ("companyIds", "productIds"):
        v = doc.get(k)
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.lower().startswith("urn:") for x in v):
            out.append(f"{k} must be a non-empty list of URNs")
    if not DATETIME.match(str(doc.get("created", ""))):
        out.append("created is not a UTC date-time")
    if doc.get("status") not in ("Active", "Deprecated"):
        out.append("status must be Active or Deprecated")
    unit_key = "declaredUnit" if version == V2 else "declaredUnitOfMeasurement"
    if pcf.get(unit_key) != "kilogram":
        out.append(f"pcf.{unit_key} must be kilogram")
    decimals = (("unitaryProductAmount", "pCfExcludingBiogenic", "fossilGhgEmissions", "fossilCarbonContent",
                 "biogenicCarbonContent") if version == V2 else
                ("declaredUnitAmount", "productMassPerDeclaredUnit", "pcfExcludingBiogenicUptake",
                 "pcfIncludingBiogenicUptake", "fossilGhgEmissions", "fossilCarbonContent", "exemptedEmissionsPercent"))
    for k in decimals:
        if k in pcf and not (isinstance(pcf[k], str) and DECIMAL.match(pcf[k])):
            out.append(f"pcf.{k} must be a decimal string")
    for k in ("referencePeriodStart", "referencePeriodEnd"):
        if k in pcf and not DATETIME.match(str(pcf[k])):
            out.append(f"pcf.{k} is not a UTC date-time")
    if version == V2:
        if not isinstance(doc.get("version"), int):
            out.append("version must be an integer")
        if not isinstance(pcf.get("exemptedEmissionsPercent"), (int, float)):
            out.append("pcf.exemptedEmissionsPercent must be a number in v2")
        if pcf.get("characterizationFactors") not in ("AR5", "AR6"):
            out.append("pcf.characterizationFactors must be AR5 or AR6")
    ids = ("urn:pathfinder:company:", "urn:pathfinder:product:") if version == V2 else ("urn:pact:", "urn:pact:")
    for k, prefix in zip(("companyIds", "productIds"), ids):
        if isinstance(doc.get(k), list) and not all(str(x).startswith(prefix) for x in doc[k]):
            out.append(f"{k} must use the {version} identifier form ({prefix}...)")
    for ext in doc.get("extensions", []):
        for k in ("specVersion", "dataSchema", "data"):
            if k not in ext:
                out.append(f"extension missing {k}")
        if "dataSchema" in ext and urlsplit(str(ext["dataSchema"])).scheme not in ("http", "https"):
            out.append("extension dataSchema must be the URL of the published extension schema")
    return out
