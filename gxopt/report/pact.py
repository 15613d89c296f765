"""WBCSD PACT ProductFootprint export of each certificate, in the v2.3 and v3.0 field sets.

Units: the declared unit is ``kilogram``, every emission value is kg CO2e per kg of product, which is
numerically the same as gxopt's t-CO2e per t of product. Decimals are strings, as PACT requires.

Which CFP goes into the PCF value:

- GX Mass Balance (ch. 7): the **basis CFP** = General CFP + the REPs already reflected in it per tonne
  (the 7.3.3 correction): the steel's footprint on the pre-project basis, which no certificate may lower.
  REPs are not part of a CFP (7.1: the product is supplied with a reduction certificate stating the
  General CFP and the assigned REPs); the REPs per tonne, the correction and the CFP the buyer may claim
  (basis - REPs per tonne, 7.3.3) travel in the GX extension.
- GX Allocation (ch. 8): the **Allocated CFP**, the CFP of GX steel under GX Allocation (8.1.1, 8.5);
  General and Residual CFP travel in the GX extension (8.3.3).

PACT has no field for mass-balance or certificate-based reductions, so the GX details (method,
REPs by pool, the three CFPs, basis, correction and claimed CFP, alpha, certificate id, verifiers) go into one
``extensions`` entry whose data schema is written next to the documents (``jisf-gx-extension.schema.json``).
Its ``dataSchema`` is the URL at which the steelmaker publishes that file: a base URL
(``gxopt report --pact-base-url URL``) with the file name appended. The default base
``https://example.invalid/gxopt/`` is a placeholder (``.invalid`` never resolves): set the real one before
exchanging the footprints.

Identifiers: v2.3 documents use v2's URN forms (``urn:pathfinder:company:customcode:vendor-assigned:...``,
``urn:pathfinder:product:customcode:vendor-assigned:...``); v3.0 documents use v3's
(``urn:pact:company:customcode:supplier-id:...``, ``urn:pact:product:customcode:supplier-id:...``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from gxopt.errors import InputError, Issue
from gxopt.report.data import GUIDELINE, Certificate, ReportData
from gxopt.report.disclosure import claims_sentence
from gxopt.report.fmt import decimal_str, missing

V2 = "2.3.0"
V3 = "3.0.0"
EXTENSION_SPEC_VERSION = "2.0.0"
EXTENSION_SCHEMA_FILE = "jisf-gx-extension.schema.json"
DEFAULT_BASE_URL = "https://example.invalid/gxopt/"  # a placeholder: .invalid never resolves (RFC 2606)
DEFAULT_SCHEMA_URL = DEFAULT_BASE_URL + EXTENSION_SCHEMA_FILE
DEFAULT_CPC = "412"  # UN CPC group 412 "Products of iron or steel"
DEFAULT_COUNTRY = "JP"  # JISF scheme: projects under a consistent domestic framework (6.2.1.1, fn. 6)
UNITS_NOTE = ("All PCF values are kg CO2e per kg of product (declared unit kilogram, amount 1); gxopt computes "
              "t-CO2e per t of product, which is numerically the same.")
JISF_RULE = {"operator": "Other",
             "ruleNames": ["JISF Guidelines for Calculating Product Carbon Footprint by Product for Steel Products",
                           GUIDELINE],
             "otherOperatorName": "The Japan Iron and Steel Federation (JISF)"}

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


def schema_url(base_url: str | None = None) -> str:
    """The URL of the published extension schema: ``base_url`` (an absolute http(s) URL; the placeholder
    :data:`DEFAULT_BASE_URL` when None) with :data:`EXTENSION_SCHEMA_FILE` appended. Raises InputError for a
    URL that is not absolute http(s)."""
    base = DEFAULT_BASE_URL if base_url is None else str(base_url).strip()
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or " " in base:
        raise InputError([Issue("--pact-base-url", None, None,
                                f"{base_url!r} is not an absolute http(s) base URL (e.g. "
                                "https://steel.example.com/pact/): the GX extension's dataSchema must be the URL "
                                "of the published extension schema")])
    return (base if base.endswith("/") else base + "/") + EXTENSION_SCHEMA_FILE


def pf_id(*parts: str) -> str:
    """A stable UUID in version-4 format from ``parts`` (the same certificate always gets the same id)."""
    h = hashlib.sha256("|".join(parts).encode()).digest()
    return str(uuid.UUID(bytes=h[:16], version=4))


def _utc(ts: str | None) -> str:
    if not ts:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    t = dt.datetime.fromisoformat(ts)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start(day: str) -> str:
    return f"{day}T00:00:00Z"


def _after(day: str) -> str:
    """The exclusive end of a period ending on ``day``: midnight of the next day."""
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat() + "T00:00:00Z"


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def pcf_value(c: Certificate) -> tuple[float, str]:
    """(PCF value, which CFP it is): the Allocated CFP under GX Allocation; under GX Mass Balance the basis CFP
    (General + 7.3.3 correction; REPs never lower a PCF); the General CFP as issued when the basis is unknown."""
    if c.method == "allocation" and c.allocated_cfp is not None:
        return c.allocated_cfp, "allocatedCfp"
    if c.method == "mass_balance" and c.basis_cfp is not None:
        return c.basis_cfp, "basisCfp"
    return c.general_cfp, "generalCfp"


class _Facts:
    """The per-certificate values both versions share."""

    def __init__(self, data: ReportData, c: Certificate, created: str | None) -> None:
        p = c.product
        self.c = c
        self.value, self.value_is = pcf_value(c)
        self.created = _utc(c.issued_at or created)
        self.country = data.country or DEFAULT_COUNTRY
        self.assumptions: list[str] = []
        if not data.country:
            self.assumptions.append(f"geographyCountry {DEFAULT_COUNTRY}: model.yaml gives no country; the JISF "
                                    "scheme covers projects under a consistent domestic (Japanese) framework")
        self.cpc = str(p.get("cpc")) if not missing(p.get("cpc")) else DEFAULT_CPC
        if missing(p.get("cpc")):
            self.assumptions.append(f"product category UN CPC {DEFAULT_CPC} (products of iron or steel): no 'cpc' "
                                    "column in the plant model's products.csv")
        gen = float(p.get("general_cfp", c.general_cfp))
        if not missing(p.get("primary_data_share")):
            self.primary = float(p["primary_data_share"])
        else:
            s12 = float(p.get("scope1", 0.0)) + float(p.get("scope2", 0.0))
            self.primary = round(100.0 * s12 / gen, 1) if gen > 0 else 0.0
            self.assumptions.append("primaryDataShare = scope 1+2 share of the General CFP (the organization's own "
                                    "measured data, JISF 5.2.1); upstream scope 3 counted as secondary - replace with "
                                    "the CFP study's value via a 'primary_data_share' column")
        self.exempted = float(p["exempted_emissions_percent"]) if not missing(p.get("exempted_emissions_percent")) else 0.0
        if missing(p.get("exempted_emissions_percent")):
            self.assumptions.append("exemptedEmissionsPercent 0: no exemption recorded in the inputs "
                                    "('exempted_emissions_percent' column)")
        self.fossil_c = float(p["fossil_carbon_content"]) if not missing(p.get("fossil_carbon_content")) else 0.0
        if missing(p.get("fossil_carbon_content")):
            self.assumptions.append("fossilCarbonContent 0: the carbon dissolved in the steel is not given in the "
                                    "inputs ('fossil_carbon_content' column, kg C per kg)")
        self.ref_start = _start(p.get("cfp_period_start") or "1970-01-01")
        self.ref_end = _after(p.get("cfp_period_end") or "1970-01-01")
        self.validity: tuple[str, str] | None = None
        op = data.scenario.settings.operational_period
        if c.method == "allocation" and p.get("cfp_period_end"):
            ref_end = dt.date.fromisoformat(p["cfp_period_end"]) + dt.timedelta(days=1)
            if op.start >= ref_end and op.end + dt.timedelta(days=1) <= _add_years(ref_end, 3):
                self.validity = (_start(op.start.isoformat()), _after(op.end.isoformat()))
        name = p.get("name") or c.product_id
        self.name = name
        self.description = (f"{name} (product {c.product_id}) of {data.organization}, shipped from "
                            f"{p.get('site') or 'an unknown site'}; process route "
                            f"{p.get('route_names') or p.get('route') or 'not in the plant model'}; scrap share "
                            + (f"{100 * float(p['scrap_share']):.1f} %" if not missing(p.get("scrap_share")) else "n/a")
                            + " of the metallic input.")
        self.boundary = (
            "Cradle-to-gate per the JISF product-specific CFP guideline for steel products (ISO 20915 basis), "
            "excluding the recycling effect of scrap (JISF 5.1): raw material extraction and transport (upstream "
            f"scope 3 {p.get('scope3_upstream', float('nan')):.4f}), the organization's own processes on the route "
            f"{p.get('route') or '?'} (scope 1 {p.get('scope1', float('nan')):.4f}, purchased electricity and "
            f"energy scope 2 {p.get('scope2', float('nan')):.4f}); kg CO2e per kg of product."
            if p.get("known") else "Cradle-to-gate per the JISF product-specific CFP guideline for steel products.")
        if c.method == "allocation":
            self.allocation = (
                f"GX Allocation ({GUIDELINE}, ch. 8; ISO 14067 6.4.6.2 / ISO 14044 allocation): Allocated CFP = "
                "(scope 1 + scope 2 + allocable upstream scope 3 + REPs/production) x (1 - alpha) + non-allocable "
                f"upstream scope 3 with alpha = {c.alpha:.6f}; Residual CFP = General CFP + REPs reflected in it "
                f"per tonne = {_f(c.residual_cfp)}; General CFP {_f(c.general_cfp)}; Allocated CFP "
                f"{_f(c.allocated_cfp)} (kg CO2e/kg). Non-GX steel carries the Residual CFP (8.1, 8.3.1). "
                + claims_sentence(data)
                + (" WARNING: the Allocated CFP is above the General CFP." if c.allocated_above_general else ""))
        elif self.value_is == "basisCfp":
            self.allocation = (
                f"No GX allocation in this PCF: it is the basis CFP {_f(c.basis_cfp)} = General CFP "
                f"{_f(c.general_cfp)} + {_f(c.rep_term)}, the REPs already reflected in the General CFP per kg "
                f"(the 7.3.3 correction): the steel's footprint on the pre-project basis. {c.reps_t:,.3f} t-CO2e of "
                f"REPs ({_f(c.reps_per_t)} per kg) were assigned to this delivery by GX Mass Balance ({GUIDELINE}, "
                f"ch. 7) and are stated in reduction certificate {c.certificate_id}; they are not netted in the PCF. "
                f"The buyer may claim basis - REPs per kg = {_f(c.claimed_cfp)} (GX extension claimedCfp, 7.3.3).")
        else:
            self.allocation = (
                f"No GX allocation in this PCF: it is the General CFP as issued (the REPs reflected in it are not "
                f"known here). {c.reps_t:,.3f} t-CO2e of REPs were assigned to this delivery by GX Mass Balance "
                f"({GUIDELINE}, ch. 7) and are stated in reduction certificate {c.certificate_id} (GX extension); "
                "they are not netted in the PCF.")
        status = "DRAFT — NOT ISSUED. " if c.draft else ("VOID. " if c.status == "void" else "")
        self.comment = (
            f"{status}{'CFP certificate' if c.method == 'allocation' else 'Reduction certificate'} "
            f"{c.certificate_id} ({GUIDELINE}) for order {c.order_id} of {c.customer}, {c.tonnage_t:,.3f} t. "
            f"{UNITS_NOTE} PCF value = {VALUE_LABEL[self.value_is]}. "
            + (("Assumptions: " + "; ".join(self.assumptions) + ".") if self.assumptions else ""))
        # v3.0 identifier forms (urn:pact:...); v2.3 uses v2's (urn:pathfinder:..., see v2_ids)
        self.company_ids = [f"urn:pact:company:customcode:supplier-id:{_urn_part(data.org_code)}"]
        self.product_ids = [f"urn:pact:product:customcode:supplier-id:{_urn_part(c.product_id)}"]
        self.v2_company_ids = [f"urn:pathfinder:company:customcode:vendor-assigned:{_urn_part(data.org_code)}"]
        self.v2_product_ids = [f"urn:pathfinder:product:customcode:vendor-assigned:{_urn_part(c.product_id)}"]
        self.classifications = [f"urn:pact:productclassification:un-cpc:{self.cpc}"]


VALUE_LABEL = {"allocatedCfp": "Allocated CFP (GX Allocation)",
               "basisCfp": "basis CFP (General CFP + 7.3.3 correction; REPs are not netted)",
               "generalCfp": "General CFP"}


def _f(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.6f}"


def _urn_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9()+,\-.:=@;$_!*'%/?#]", "_", text)


def extension(data: ReportData, c: Certificate, schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """The GX extension entry: method, the three CFPs, REPs by pool, certificate id, verifiers; ``schema`` is
    the URL of the published extension schema (:func:`schema_url`)."""
    r6 = lambda v: None if v is None else round(float(v), 6)  # noqa: E731
    return {
        "specVersion": EXTENSION_SPEC_VERSION,
        "dataSchema": schema,
        "data": {
            "scheme": GUIDELINE,
            "schemeOwner": data.organization,
            "method": "GX Mass Balance" if c.method == "mass_balance" else "GX Allocation",
            "methodClauses": "7.3, 7.5" if c.method == "mass_balance" else "8.1.1, 8.3.3, 8.5",
            "certificateType": "reduction certificate" if c.method == "mass_balance" else "CFP certificate",
            "certificateId": c.certificate_id,
            "certificateStatus": c.status,
            "orderId": c.order_id,
            "customer": c.customer,
            "purchasedVolumeT": r6(c.tonnage_t),
            "unit": "t-CO2e per t of product (numerically equal to kg CO2e per kg)",
            "pcfValueIs": pcf_value(c)[1],
            "generalCfp": r6(c.general_cfp),
            "repTerm": r6(c.rep_term),
            "basisCfp": r6(c.basis_cfp),
            "claimedCfp": r6(c.claimed_cfp),
            "residualCfp": r6(c.residual_cfp),
            "allocatedCfp": r6(c.allocated_cfp),
            "alpha": r6(c.alpha),
            "gxTonnageT": r6(c.gx_tonnage_t),
            "repsT": r6(c.reps_t),
            "repsPerTonne": r6(c.reps_per_t),
            "reductionAchievedT": r6(c.reduction_t),
            "gasTypes": sorted({ln.gas for ln in c.lines}),
            "gasesIncluded": [g for g in c.gases_included.split(";") if g and g != "–"],
            "allocatedAboveGeneral": c.allocated_above_general,
            "warnings": c.warnings,
            "crudeSteelSite": c.crude_steel_site or None,
            "repLines": [{"lineNo": ln.line_no, "poolId": ln.pool_id, "projectId": ln.project_id,
                          "projectName": ln.project_name, "technology": ln.technology or None,
                          "periodStart": ln.period_start or None, "periodEnd": ln.period_end, "gas": ln.gas,
                          "gases": ln.gases or None,
                          "repsT": r6(ln.reps_t), "physicalConnection": ln.evidence, "sameSite": ln.same_site,
                          "projectSite": ln.project_site or None,
                          "verifier": ln.verifier or None, "statementId": ln.statement_id or None}
                         for ln in c.lines],
            "boundToProduct": True,
            "transferableToOtherProduct": False,
            "downstreamAttributes": ("the customer may pass attributes on with its own attribute certificate, "
                                     "keeping traceability; the total passed downstream never exceeds repsT (7.5)"),
            "massBalancing": {"massBalancingUsed": c.method == "mass_balance",
                              "massBalancingCertificateScheme": "JISF GX Mass Balance" if c.method == "mass_balance"
                              else None,
                              "freeAttributionInMassBalancing": c.method == "mass_balance"},
            "ledgerDigest": c.digest or None,
            "issuedAt": c.issued_at or None,
        },
    }


def v2(data: ReportData, c: Certificate, created: str | None = None,
       schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """The certificate's footprint as a PACT v2.3 ProductFootprint (v2 identifier forms)."""
    f = _Facts(data, c, created)
    val = decimal_str(f.value)
    doc: dict[str, Any] = {
        "id": pf_id("v2", data.org_code, c.certificate_id, c.digest or str(data.summary.get("input_sha256", ""))),
        "specVersion": V2,
        "version": 1,
        "created": f.created,
        "status": "Active",
    }
    if c.draft:
        doc["statusComment"] = "DRAFT — not issued: computed from a gxopt result folder, no certificate exists yet"
    if f.validity:
        doc["validityPeriodStart"], doc["validityPeriodEnd"] = f.validity
    doc.update({
        "companyName": data.organization,
        "companyIds": f.v2_company_ids,
        "productDescription": f.description,
        "productIds": f.v2_product_ids,
        "productCategoryCpc": f.cpc,
        "productClassifications": f.classifications,
        "productNameCompany": f.name,
        "comment": f.comment,
        "pcf": {
            "declaredUnit": "kilogram",
            "unitaryProductAmount": "1",
            "productMassPerDeclaredUnit": "1",
            "pCfExcludingBiogenic": val,
            "pCfIncludingBiogenic": val,
            "fossilGhgEmissions": val,
            "fossilCarbonContent": decimal_str(f.fossil_c),
            "biogenicCarbonContent": "0",
            "characterizationFactors": "AR6",
            "ipccCharacterizationFactorsSources": ["AR6"],
            "crossSectoralStandardsUsed": ["ISO Standard 14067", "ISO Standard 14044"],
            "crossSectoralStandards": ["ISO14067", "ISO14040-44"],
            "productOrSectorSpecificRules": [JISF_RULE],
            "boundaryProcessesDescription": f.boundary,
            "referencePeriodStart": f.ref_start,
            "referencePeriodEnd": f.ref_end,
            "geographyCountry": f.country,
            "exemptedEmissionsPercent": f.exempted,
            "exemptedEmissionsDescription": "" if f.exempted == 0 else "see the CFP study",
            "packagingEmissionsIncluded": False,
            "allocationRulesDescription": f.allocation,
            "primaryDataShare": f.primary,
        },
        "extensions": [extension(data, c, schema)],
    })
    return doc


def v3(data: ReportData, c: Certificate, created: str | None = None,
       schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """The certificate's footprint as a PACT v3.0 ProductFootprint (v3 identifier forms)."""
    f = _Facts(data, c, created)
    val = decimal_str(f.value)
    doc: dict[str, Any] = {
        "id": pf_id("v3", data.org_code, c.certificate_id, c.digest or str(data.summary.get("input_sha256", ""))),
        "specVersion": V3,
        "created": f.created,
        "status": "Active",
    }
    if f.validity:
        doc["validityPeriodStart"], doc["validityPeriodEnd"] = f.validity
    doc.update({
        "companyName": data.organization,
        "companyIds": f.company_ids,
        "productDescription": f.description,
        "productIds": f.product_ids,
        "productClassifications": f.classifications,
        "productNameCompany": f.name,
        "comment": f.comment,
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": "1",
            "referencePeriodStart": f.ref_start,
            "referencePeriodEnd": f.ref_end,
            "geographyCountry": f.country,
            "boundaryProcessesDescription": f.boundary,
            "pcfExcludingBiogenicUptake": val,
            "pcfIncludingBiogenicUptake": val,
            "fossilGhgEmissions": val,
            "fossilCarbonContent": decimal_str(f.fossil_c),
            "biogenicCarbonContent": "0",
            "packagingEmissionsIncluded": False,
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067", "ISO14040-44"],
            "productOrSectorSpecificRules": [JISF_RULE],
            "exemptedEmissionsPercent": decimal_str(f.exempted),
            "exemptedEmissionsDescription": "" if f.exempted == 0 else "see the CFP study",
            "allocationRulesDescription": f.allocation,
            "primaryDataShare": decimal_str(f.primary, 1),
        },
        "extensions": [extension(data, c, schema)],
    })
    return doc


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


def extension_schema(schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """JSON Schema (2020-12) of the GX extension's ``data`` object, identified by the URL it is published at."""
    num = {"type": ["number", "null"]}
    txt = {"type": ["string", "null"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema,
        "title": "JISF GX Steel certificate details (gxopt PACT extension)",
        "description": "GX Mass Balance / GX Allocation details of a PACT ProductFootprint. CFPs are t-CO2e per t "
                       "of product (= kg CO2e per kg); REPs and reductions are t-CO2e.",
        "type": "object",
        "required": ["scheme", "method", "certificateId", "certificateStatus", "orderId", "generalCfp", "repsT",
                     "repLines", "pcfValueIs", "boundToProduct"],
        "properties": {
            "scheme": {"type": "string"}, "schemeOwner": {"type": "string"},
            "method": {"enum": ["GX Mass Balance", "GX Allocation"]}, "methodClauses": {"type": "string"},
            "certificateType": {"enum": ["reduction certificate", "CFP certificate"]},
            "certificateId": {"type": "string"}, "certificateStatus": {"enum": ["draft", "issued", "void"]},
            "orderId": {"type": "string"}, "customer": {"type": "string"}, "purchasedVolumeT": num,
            "unit": {"type": "string"}, "pcfValueIs": {"enum": ["generalCfp", "basisCfp", "allocatedCfp"]},
            "generalCfp": num, "repTerm": num, "basisCfp": num, "claimedCfp": num, "residualCfp": num, "allocatedCfp": num, "alpha": num, "gxTonnageT": num,
            "repsT": num, "repsPerTonne": num, "reductionAchievedT": num,
            "gasTypes": {"type": "array", "items": {"enum": ["CO2", "GHG"]},
                         "description": "gas classes of the REP lines (CO2 only, or GHG)"},
            "gasesIncluded": {"type": "array", "items": {"type": "string"},
                              "description": "greenhouse gases included in the REPs (JISF 6.5, 7.3.1)"},
            "allocatedAboveGeneral": {"type": "boolean",
                                      "description": "the Allocated CFP is above the product's General CFP"},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "crudeSteelSite": txt,
            "repLines": {"type": "array", "items": {"type": "object", "required": ["poolId", "projectId", "periodEnd",
                                                                                  "gas", "repsT",
                                                                                  "physicalConnection"],
                                                    "properties": {"lineNo": {"type": "integer"}, "poolId": txt,
                                                                   "projectId": txt, "projectName": txt,
                                                                   "technology": txt, "periodStart": txt,
                                                                   "periodEnd": txt, "gas": txt, "gases": txt,
                                                                   "repsT": num, "physicalConnection": txt,
                                                                   "sameSite": {"type": ["boolean", "null"]},
                                                                   "projectSite": txt,
                                                                   "verifier": txt, "statementId": txt}}},
            "boundToProduct": {"type": "boolean"}, "transferableToOtherProduct": {"type": "boolean"},
            "downstreamAttributes": {"type": "string"},
            "massBalancing": {"type": "object"}, "ledgerDigest": txt, "issuedAt": txt,
        },
    }
