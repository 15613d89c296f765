"""The GX extension of a PACT ProductFootprint: its ``data`` (method, the three CFPs, basis, correction and claimed
CFP, REPs by pool, certificate id, verifiers), the JSON Schema of that data, and the URL it is published at.

PACT has no field for mass-balance or certificate-based reductions, so the GX details go into one
``extensions`` entry whose data schema is written next to the documents (``jisf-gx-extension.schema.json``).
Its ``dataSchema`` is the URL at which the steelmaker publishes that file: a base URL
(``gxopt report --pact-base-url URL``) with the file name appended. The default base
``https://example.invalid/gxopt/`` is a placeholder (``.invalid`` never resolves): set the real one before
exchanging the footprints.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gxopt.errors import InputError, Issue
from gxopt.report.certificate import Certificate
from gxopt.report.data import GUIDELINE

EXTENSION_SPEC_VERSION = "2.0.0"
EXTENSION_SCHEMA_FILE = "jisf-gx-extension.schema.json"
DEFAULT_BASE_URL = "https://example.invalid/gxopt/"  # a placeholder: .invalid never resolves (RFC 2606)
DEFAULT_SCHEMA_URL = DEFAULT_BASE_URL + EXTENSION_SCHEMA_FILE


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


def pcf_value(c: Certificate) -> tuple[float, str]:
    """(PCF value, which CFP it is): the Allocated CFP under GX Allocation; under GX Mass Balance the basis CFP
    (General + 7.3.3 correction; REPs never lower a PCF); the General CFP as issued when the basis is unknown."""
    if c.method == "allocation" and c.allocated_cfp is not None:
        return c.allocated_cfp, "allocatedCfp"
    if c.method == "mass_balance" and c.basis_cfp is not None:
        return c.basis_cfp, "basisCfp"
    return c.general_cfp, "generalCfp"


def extension(organization: str, c: Certificate, schema: str = DEFAULT_SCHEMA_URL) -> dict[str, Any]:
    """The GX extension entry of ``organization``'s certificate ``c``: method, the three CFPs, REPs by pool,
    certificate id, verifiers; ``schema`` is the URL of the published extension schema (:func:`schema_url`)."""
    r6 = lambda v: None if v is None else round(float(v), 6)  # noqa: E731
    return {
        "specVersion": EXTENSION_SPEC_VERSION,
        "dataSchema": schema,
        "data": {
            "scheme": GUIDELINE,
            "schemeOwner": organization,
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
