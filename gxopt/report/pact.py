"""WBCSD PACT ProductFootprint export of each certificate, in the v2.3 and v3.0 field sets.

Units: the declared unit is ``kilogram``, every emission value is kg CO2e per kg of product, which is
numerically the same as gxopt's t-CO2e per t of product. Decimals are strings, as PACT requires.

Which CFP goes into the PCF value (:func:`gxopt.report.pact_extension.pcf_value`):

- GX Mass Balance (ch. 7): the **basis CFP** = General CFP + the REPs already reflected in it per tonne
  (the 7.3.3 correction): the steel's footprint on the pre-project basis, which no certificate may lower.
  REPs are not part of a CFP (7.1: the product is supplied with a reduction certificate stating the
  General CFP and the assigned REPs); the REPs per tonne, the correction and the CFP the buyer may claim
  (basis - REPs per tonne, 7.3.3) travel in the GX extension.
- GX Allocation (ch. 8): the **Allocated CFP**, the CFP of GX steel under GX Allocation (8.1.1, 8.5);
  General and Residual CFP travel in the GX extension (8.3.3).

PACT has no field for mass-balance or certificate-based reductions, so the GX details go into one
``extensions`` entry (:mod:`gxopt.report.pact_extension`); :mod:`gxopt.report.pact_check` checks the
documents against the required fields of their version.

Identifiers: v2.3 documents use v2's URN forms (``urn:pathfinder:company:customcode:vendor-assigned:...``,
``urn:pathfinder:product:customcode:vendor-assigned:...``); v3.0 documents use v3's
(``urn:pact:company:customcode:supplier-id:...``, ``urn:pact:product:customcode:supplier-id:...``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Any

from gxopt.report.certificate import Certificate
from gxopt.report.data import GUIDELINE, ReportData
from gxopt.report.fmt import decimal_str, missing
from gxopt.report.issuer import Issuer, issuer
from gxopt.report.pact_extension import DEFAULT_SCHEMA_URL, extension, pcf_value

V2 = "2.3.0"
V3 = "3.0.0"
DEFAULT_CPC = "412"  # UN CPC group 412 "Products of iron or steel"
DEFAULT_COUNTRY = "JP"  # JISF scheme: projects under a consistent domestic framework (6.2.1.1, fn. 6)
UNITS_NOTE = ("All PCF values are kg CO2e per kg of product (declared unit kilogram, amount 1); gxopt computes "
              "t-CO2e per t of product, which is numerically the same.")
JISF_RULE = {"operator": "Other",
             "ruleNames": ["JISF Guidelines for Calculating Product Carbon Footprint by Product for Steel Products",
                           GUIDELINE],
             "otherOperatorName": "The Japan Iron and Steel Federation (JISF)"}


def pf_id(*parts: str) -> str:
    """A stable UUID in version-4 format from ``parts`` (the same certificate always gets the same id)."""
    h = hashlib.sha256("|".join(parts).encode()).digest()
    return str(uuid.UUID(bytes=h[:16], version=4))


def utc(ts: str | None) -> str:
    """``ts`` (ISO 8601; naive = UTC) as PACT's UTC timestamp ``YYYY-MM-DDTHH:MM:SSZ``; now when empty."""
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


class _Facts:
    """The per-certificate values both versions share."""

    def __init__(self, data: Issuer, c: Certificate, created: str | None) -> None:
        p = c.product
        self.c = c
        self.value, self.value_is = pcf_value(c)
        self.created = utc(c.issued_at or created)
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
        if c.method == "allocation" and p.get("cfp_period_end"):
            ref_end = dt.date.fromisoformat(p["cfp_period_end"]) + dt.timedelta(days=1)
            if data.period_start >= ref_end and data.period_end + dt.timedelta(days=1) <= _add_years(ref_end, 3):
                self.validity = (_start(data.period_start.isoformat()), _after(data.period_end.isoformat()))
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
                + data.claims
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



def _footprint(source: ReportData | Issuer, c: Certificate, version: str, created: str | None, schema: str,
               pcf: Callable[[_Facts], dict[str, Any]]) -> dict[str, Any]:
    """The certificate's ProductFootprint in the fields, field order and identifier forms of ``version``, with
    ``pcf`` of its facts as the ``pcf`` object."""
    data = source if isinstance(source, Issuer) else issuer(source)
    f = _Facts(data, c, created)
    v2 = version == V2
    doc: dict[str, Any] = {
        "id": pf_id("v2" if v2 else "v3", data.org_code, c.certificate_id,
                    c.digest or data.input_sha256),
        "specVersion": version,
        **({"version": 1} if v2 else {}),
        "created": f.created,
        "status": "Active",
    }
    if v2 and c.draft:
        doc["statusComment"] = "DRAFT — not issued: computed from a gxopt result folder, no certificate exists yet"
    if f.validity:
        doc["validityPeriodStart"], doc["validityPeriodEnd"] = f.validity
    doc.update({
        "companyName": data.organization,
        "companyIds": f.v2_company_ids if v2 else f.company_ids,
        "productDescription": f.description,
        "productIds": f.v2_product_ids if v2 else f.product_ids,
        **({"productCategoryCpc": f.cpc} if v2 else {}),
        "productClassifications": f.classifications,
        "productNameCompany": f.name,
        "comment": f.comment,
        "pcf": pcf(f),
        "extensions": [extension(data.organization, c, schema)],
    })
    return doc


def v2(data: ReportData | Issuer, c: Certificate, created: str | None = None,
       schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """The certificate's footprint as a PACT v2.3 ProductFootprint (v2 identifier forms)."""
    return _footprint(data, c, V2, created, schema, _v2_pcf)


def v3(data: ReportData | Issuer, c: Certificate, created: str | None = None,
       schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """The certificate's footprint as a PACT v3.0 ProductFootprint (v3 identifier forms)."""
    return _footprint(data, c, V3, created, schema, _v3_pcf)


def _v2_pcf(f: _Facts) -> dict[str, Any]:
    """The v2.3 ``pcf`` object (CarbonFootprint): decimals as strings, exemptedEmissionsPercent a number."""
    val = decimal_str(f.value)
    return {
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
    }


def _v3_pcf(f: _Facts) -> dict[str, Any]:
    """The v3.0 ``pcf`` object: every decimal a string."""
    val = decimal_str(f.value)
    return {
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
    }
