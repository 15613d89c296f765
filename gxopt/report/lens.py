"""SteelZero lens: how a product's intensity compares with the sliding scales buyers use. It reports only.

The scales are linear in the scrap share ``s`` of the metallic input (0..1), in t-CO2e per t of crude
steel: ``threshold(s) = b - m * s``.

- ResponsibleSteel Decarbonisation Progress Levels 1-4: (2.80, 2.30), (2.00, 1.65), (1.20, 1.00), (0.40, 0.35)
- SteelZero "lower emission steel" = ResponsibleSteel level 2: 2.00 - 1.65 s
- IEA near-zero emission steel: 0.40 - 0.35 s (= ResponsibleSteel level 4)

These scales are defined for **crude steel at site level** (cradle-to-crude-steel, up to casting, the
site's total emissions over its saleable crude steel). A product CFP is cradle-to-gate and includes
rolling and finishing, so it is only a **proxy**; and a mass-balance or allocation claim never changes a
site's emissions. Nothing here changes an allocation.

Thresholds and levels are judged on **embodied numbers only**: the General CFP and, where the plant model
gives it (``crude_steel_intensity`` in products.csv), the intensity of the site where the product's crude
steel is made. SteelZero's framework "does not accept a mass balance credit approach", so a certificate's
claimed CFP (the Allocated CFP, or the basis less the REPs per tonne) is shown beside them as "not recognised
by SteelZero (mass-balance credit)" and is never judged against a threshold.

The site is where the crude steel is made (``crude_steel_site``: the site of the route's BOF/EAF unit), not
the shipping site: SteelZero's site-level link and its thresholds are about that site. A project that raises
scrap use carries SteelZero's scrap-recovery condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from gxopt.report.certificate import Certificate
from gxopt.report.data import ReportData
from gxopt.report.facts import product_facts
from gxopt.report.fmt import missing, opt_float, pct


@dataclass(frozen=True)
class Scale:
    """A sliding-scale threshold ``b - m * s`` in t-CO2e per t of crude steel."""

    key: str
    label: str
    b: float
    m: float
    source: str

    def threshold(self, scrap_share: float) -> float:
        """Threshold at scrap share ``scrap_share`` (0..1)."""
        return self.b - self.m * scrap_share


SCALES: tuple[Scale, ...] = (
    Scale("rs_level_1", "ResponsibleSteel level 1", 2.80, 2.30, "ResponsibleSteel Decarbonisation Progress Level 1"),
    Scale("rs_level_2", "ResponsibleSteel level 2", 2.00, 1.65, "ResponsibleSteel Decarbonisation Progress Level 2"),
    Scale("rs_level_3", "ResponsibleSteel level 3", 1.20, 1.00, "ResponsibleSteel Decarbonisation Progress Level 3"),
    Scale("rs_level_4", "ResponsibleSteel level 4", 0.40, 0.35, "ResponsibleSteel Decarbonisation Progress Level 4"),
    Scale("steelzero_lower_emission", "SteelZero lower-emission steel", 2.00, 1.65,
          "SteelZero Commitment Framework: lower emission steel = ResponsibleSteel level 2 (2000 -> 350 kg/t)"),
    Scale("iea_near_zero", "IEA near-zero", 0.40, 0.35,
          "IEA near-zero emission steel (400 -> 50 kg/t), = ResponsibleSteel level 4"),
)
RS_LEVELS = SCALES[:4]

BOUNDARY_NOTE = ("These scales are defined for crude steel at site level (cradle-to-crude-steel, up to casting, a "
                 "site's total emissions over its saleable crude steel), the site where the crude steel is made. "
                 "The product CFP is cradle-to-gate and includes rolling and finishing, so it is only a proxy; a "
                 "mass-balance or allocation claim does not change any site's emissions. Thresholds and levels are "
                 "judged on embodied numbers only (the General CFP, and the crude-steel site's intensity where "
                 "given); a claimed or allocated CFP is never judged. The lens reports only: it never changes an "
                 "allocation.")
STEELZERO_POSITION = ("SteelZero takes the position of \"not automatically recognising procurement of any mass "
                      "balance steel claims\"; its framework \"does not accept a mass balance credit approach "
                      "(avoided emissions accounting)\", and it asks for \"a site-level production link between "
                      "the emissions reduction project and any/all products\" (SteelZero mass balance position "
                      "paper). GX Mass Balance and GX Allocation pool REPs across the organization: a mass-balance "
                      "credit in SteelZero's terms.")
NOT_RECOGNISED = "not recognised by SteelZero (mass-balance credit)"
SCRAP_CONDITION = ("SteelZero's condition where a project raises scrap use: \"If there has been an increase in the use "
                   "of constrained resources, e.g. scrap, this has been enabled by an equal or greater sustainable "
                   "increase in the recovery and/or recycling of scrap material. SteelZero will then require the "
                   "proportion of scrap input and steel emissions intensity to meet our lower emission steel "
                   "threshold.\" (SteelZero mass balance position paper, Additionality.) gxopt holds no data on scrap "
                   "recovery: the condition is stated, not checked.")

DISCLOSURE_ITEMS: tuple[tuple[str, str], ...] = (
    ("cfp_per_tonne", "CFP of the steel product per tonne"),
    ("scrap_share", "Scrap share of the metallic inputs"),
    ("calculation_standard", "Standard followed for calculating the emissions reduction"),
    ("technology", "Implemented reduction technology or low-carbon inputs"),
    ("attribution", "How the reduction was allocated to the steel product"),
    ("same_site", "Guarantee that the steel product is from the same site"),
)


def thresholds(scrap_share: float) -> dict[str, float]:
    """Every scale's threshold at ``scrap_share``, t-CO2e/t."""
    return {sc.key: sc.threshold(scrap_share) for sc in SCALES}


def assess(intensity: float | None, scrap_share: float | None) -> dict[str, Any]:
    """Where ``intensity`` (t-CO2e/t) stands on every scale at ``scrap_share``; missing inputs give None."""
    out: dict[str, Any] = {"intensity": intensity, "scrap_share": scrap_share}
    if missing(intensity) or missing(scrap_share):
        for sc in SCALES:
            out[f"{sc.key}_threshold"] = None
            out[f"{sc.key}_met"] = None
        out["rs_level"] = None
        out["rs_level_label"] = "not assessable (intensity or scrap share missing)"
        return out
    x, s = float(intensity), float(scrap_share)
    for sc in SCALES:
        t = sc.threshold(s)
        out[f"{sc.key}_threshold"] = t
        out[f"{sc.key}_met"] = bool(x <= t + 1e-12)
    level = 0
    for i, sc in enumerate(RS_LEVELS, start=1):
        if out[f"{sc.key}_met"]:
            level = i
    out["rs_level"] = level
    out["rs_level_label"] = f"ResponsibleSteel level {level}" if level else "below ResponsibleSteel level 1"
    nxt = RS_LEVELS[level] if level < len(RS_LEVELS) else None
    out["gap_to_next_level"] = (x - nxt.threshold(s)) if nxt else 0.0
    return out


def site_intensity(facts: dict[str, Any]) -> tuple[float | None, float | None]:
    """(intensity, scrap share) of the site where the product's crude steel is made, when the plant model gives
    them (``crude_steel_intensity``, ``crude_steel_scrap_share``; the product's scrap share by default)."""
    x = opt_float(facts.get("crude_steel_intensity"))
    if x is None:
        return None, None
    s = opt_float(facts.get("crude_steel_scrap_share"))
    return x, (s if s is not None else opt_float(facts.get("scrap_share")))


def _site_cols(x: float | None, s: float | None) -> dict[str, Any]:
    """The crude-steel site's own intensity on the scales (embodied, site level), or None when not given."""
    if x is None:
        return {"site_intensity": None, "site_scrap_share": None, "site_rs_level": None,
                "site_steelzero_lower_emission_met": None, "site_iea_near_zero_met": None,
                "site_rs_level_label": "not given (crude_steel_intensity in the plant model's products.csv)"}
    a = assess(x, s)
    return {"site_intensity": x, "site_scrap_share": s, "site_rs_level": a["rs_level"],
            "site_steelzero_lower_emission_met": a["steelzero_lower_emission_met"],
            "site_iea_near_zero_met": a["iea_near_zero_met"], "site_rs_level_label": a["rs_level_label"]}


def scrap_projects(data: ReportData) -> dict[str, list[str]]:
    """Per product: the eligible projects physically connected to it that raise scrap use."""
    facts = data.project_facts
    projects = data.tables["projects"]
    eligible = set(projects.loc[projects["eligible"].map(bool), "project_id"]) if len(projects) else set()
    out: dict[str, list[str]] = {}
    for r in data.tables["connections"].itertuples():
        if r.project_id in eligible and facts.get(r.project_id, {}).get("raises_scrap_use"):
            out.setdefault(r.product_id, [])
            if r.project_id not in out[r.product_id]:
                out[r.product_id].append(r.project_id)
    return out


def product_lens(data: ReportData) -> pd.DataFrame:
    """One row per product: its General CFP (embodied) on every scale, as a proxy for the intensity of the site
    where its crude steel is made; that site's own intensity on the scales where the plant model gives it; where
    its non-GX CFP (the basis that steel without GX value carries, 7.3.3) stands; and the projects connected to
    it that raise scrap use (SteelZero's scrap-recovery condition)."""
    p = data.products
    scrap = scrap_projects(data)
    rows = []
    for r in p.itertuples():
        a = assess(r.general_cfp, r.scrap_share)
        n = assess(r.non_gx_cfp, r.scrap_share)
        facts = product_facts(r.product_id, data.scenario, data.tables)
        sp = scrap.get(r.product_id, [])
        rows.append({"product_id": r.product_id, "name": getattr(r, "name", ""), "site": r.site,
                     "crude_steel_site": r.crude_steel_site,
                     "production_t": r.production_t, "general_cfp": r.general_cfp, "scrap_share": r.scrap_share,
                     **{k: v for k, v in a.items() if k not in ("intensity", "scrap_share")},
                     **_site_cols(*site_intensity(facts)),
                     "rep_term": r.rep_term, "non_gx_cfp": r.non_gx_cfp, "non_gx_rs_level": n["rs_level"],
                     "non_gx_steelzero_lower_emission_met": n["steelzero_lower_emission_met"],
                     "scrap_raising_projects": ";".join(sp),
                     "scrap_recovery_condition": bool(sp),
                     "basis": "General CFP (embodied, cradle-to-gate) as a proxy for the crude-steel site's intensity"})
    return pd.DataFrame(rows)


def site_lens(data: ReportData) -> pd.DataFrame:
    """One row per site where crude steel is made (``crude_steel_site``): production-weighted General CFP and
    scrap share of the products whose crude steel it makes (a proxy), and the site's own intensity on the scales
    where the plant model gives it."""
    p = data.products
    rows = []
    for site, g in p.groupby("crude_steel_site", sort=True):
        w = g["production_t"]
        cfp_w = float((g["general_cfp"] * w).sum() / w.sum())
        scrap_w = float((g["scrap_share"] * w).sum() / w.sum())
        a = assess(cfp_w, scrap_w)
        given = [site_intensity(product_facts(pid, data.scenario, data.tables)) for pid in g["product_id"]]
        given = [(x, s) for x, s in given if x is not None]
        x, s = max(given) if given else (None, None)  # one value per site; several: the highest, conservatively
        rows.append({"site": site, "products": int(len(g)), "product_ids": ";".join(g["product_id"]),
                     "shipped_from": ";".join(sorted(set(g["site"]))), "production_t": float(w.sum()),
                     "weighted_general_cfp": cfp_w, "weighted_scrap_share": scrap_w,
                     **{k: v for k, v in a.items() if k not in ("intensity", "scrap_share")},
                     **_site_cols(x, s),
                     "basis": "production-weighted General CFPs of the products whose crude steel the site makes: a "
                              "proxy, not the site's crude-steel intensity"})
    return pd.DataFrame(rows)


def certificate_lens(c: Certificate) -> dict[str, Any]:
    """The lens of one certificate: the embodied intensities on the scales (General CFP; the crude-steel site's
    intensity where given), the claimed CFP beside them (not recognised by SteelZero, never judged), the site
    link of each REP line to the site where the product's crude steel is made, SteelZero's disclosure items."""
    s = c.product.get("scrap_share")
    physical = assess(c.general_cfp, s)
    site = _site_cols(*site_intensity(c.product))
    claimed = {"intensity": c.claimed_cfp, "recognised_by_steelzero": False, "note": NOT_RECOGNISED}
    same = sum(ln.reps_t for ln in c.lines if ln.same_site)
    pooled = sum(ln.reps_t for ln in c.lines if ln.same_site is False)
    unknown = sum(ln.reps_t for ln in c.lines if ln.same_site is None)
    total = same + pooled + unknown
    items = disclosure_items(c)
    scrap = sorted({ln.project_id for ln in c.lines if ln.raises_scrap_use})
    return {
        "certificate_id": c.certificate_id, "method": c.method, "product_id": c.product_id,
        "site": c.product.get("site", ""), "crude_steel_site": c.crude_steel_site, "scrap_share": s,
        "physical": physical, "site_intensity": site, "claimed": claimed,
        "claimed_basis": ("Allocated CFP (GX Allocation)" if c.method == "allocation"
                          else "basis CFP (General CFP + 7.3.3 correction) less REPs per tonne (7.3.3, 7.5)"),
        "same_site_t": same, "pooled_t": pooled, "unknown_site_t": unknown,
        "same_site_share": (same / total) if total else None,
        "site_link": ("same site" if total and same == total else
                      "pooled across sites" if total and pooled == total else
                      "partly pooled across sites" if total else "no REP lines"),
        "lines": [{"line_no": ln.line_no, "pool_id": ln.pool_id, "project_id": ln.project_id,
                   "project_site": ln.project_site, "product_crude_steel_site": ln.product_site,
                   "reps_t": ln.reps_t, "link": ln.link, "link_detail": ln.link_detail,
                   "connection": ln.connection, "evidence": ln.evidence} for ln in c.lines],
        "not_from_crude_steel_site": [f"line {ln.line_no} {ln.project_id} ({ln.project_site or 'unknown site'})"
                                      for ln in c.lines if ln.same_site is False],
        "items": items,
        "items_carried": sum(1 for i in items if i["status"] == "carried"),
        "scrap_raising_projects": scrap,
        "scrap_recovery_condition": (SCRAP_CONDITION + " " + _scrap_threshold(c.general_cfp, physical)) if scrap
        else None,
        "allocated_above_general": c.allocated_above_general,
        "warnings": c.warnings,
    }


def _scrap_threshold(general_cfp: float, physical: dict[str, Any]) -> str:
    """The second half of SteelZero's scrap condition on the embodied number: scrap share and General CFP against
    the lower emission steel threshold."""
    t = physical.get("steelzero_lower_emission_threshold")
    if t is None:
        return "The product's scrap share or General CFP is missing: the threshold cannot be judged."
    ok = physical.get("steelzero_lower_emission_met")
    share = pct(physical.get("scrap_share"))
    return (f"On its embodied General CFP {general_cfp:.4f} t-CO2e/t at scrap share {share}, "
            f"this product {'is within' if ok else 'is above'} the lower emission steel threshold {t:.4f} t-CO2e/t.")


def disclosure_items(c: Certificate) -> list[dict[str, str]]:
    """Which of SteelZero's disclosure items the certificate carries (carried / partly / not carried)."""
    out = []
    for key, label in DISCLOSURE_ITEMS:
        if key == "cfp_per_tonne":
            status, detail = "carried", f"General CFP {c.general_cfp:.4f} t-CO2e/t (embodied)"
            if c.method == "allocation":
                detail += ", Residual and Allocated CFP"
            elif c.basis_cfp is not None and c.claimed_cfp is not None:
                detail += (f", basis {c.basis_cfp:.4f} (7.3.3 correction {c.rep_term:.4f}) and the CFP the buyer "
                           f"may claim {c.claimed_cfp:.4f} ({NOT_RECOGNISED})")
        elif key == "scrap_share":
            s = c.product.get("scrap_share")
            status, detail = ("not carried", "no scrap share in the plant model") if missing(s) else (
                "carried", f"{pct(s)} of the metallic input")
        elif key == "calculation_standard":
            status, detail = "carried", "JISF GX Steel Guidelines v4.1 (REPs per ISO 14064-1:2018, ch. 6)"
        elif key == "technology":
            have = [ln for ln in c.lines if ln.technology]
            status = "carried" if c.lines and len(have) == len(c.lines) else "partly" if have else "not carried"
            detail = "; ".join(sorted({ln.technology for ln in have})) or "no technology given for the projects"
        elif key == "attribution":
            status = "carried"
            detail = ("GX Mass Balance: REPs assigned from the account, physical-connection path per line (7.2.3)"
                      if c.method == "mass_balance" else
                      "GX Allocation: emissions allocated within the REPs, alpha and three CFPs (8.1.1)")
        else:  # same_site: the site where the product's crude steel is made
            same = [ln for ln in c.lines if ln.same_site]
            other = [ln for ln in c.lines if not ln.same_site]
            where = c.crude_steel_site or "unknown"
            not_from = "; ".join(f"line {ln.line_no} {ln.project_id} ({ln.project_site or 'unknown site'}) is NOT "
                                 "from the product's crude-steel site" for ln in other)
            if c.lines and len(same) == len(c.lines):
                status, detail = "carried", (f"every REP line comes from the product's crude-steel site ({where}, "
                                             "where its crude steel is made)")
            elif same:
                status, detail = "partly", (f"{len(same)} of {len(c.lines)} REP lines from the product's crude-steel "
                                            f"site ({where}); {not_from}")
            else:
                status, detail = "not carried", (f"no REP line comes from the product's crude-steel site ({where}): "
                                                 f"{not_from or 'no REP lines'}; REPs pooled across sites "
                                                 "(organization-level, physical connection only)")
        out.append({"key": key, "item": label, "status": status, "detail": detail})
    return out


def certificate_lens_table(data: ReportData) -> pd.DataFrame:
    """One row per certificate: the lens in flat form (CSV twin)."""
    rows = []
    for c in data.certificates:
        lz = certificate_lens(c)
        row = {"certificate_id": c.certificate_id, "status": c.status, "method": c.method, "product_id": c.product_id,
               "site": lz["site"], "crude_steel_site": lz["crude_steel_site"], "scrap_share": lz["scrap_share"],
               "general_cfp": c.general_cfp, "basis_cfp": c.basis_cfp, "rep_term": c.rep_term,
               "physical_rs_level": lz["physical"]["rs_level"],
               "physical_steelzero_lower_emission": lz["physical"]["steelzero_lower_emission_met"],
               "physical_iea_near_zero": lz["physical"]["iea_near_zero_met"],
               "site_intensity": lz["site_intensity"]["site_intensity"],
               "site_rs_level": lz["site_intensity"]["site_rs_level"],
               "site_steelzero_lower_emission": lz["site_intensity"]["site_steelzero_lower_emission_met"],
               "claimed_cfp": c.claimed_cfp, "claimed_basis": lz["claimed_basis"],
               "claimed_recognised_by_steelzero": False, "claimed_note": NOT_RECOGNISED,
               "site_link": lz["site_link"], "same_site_t": lz["same_site_t"], "pooled_t": lz["pooled_t"],
               "not_from_crude_steel_site": "; ".join(lz["not_from_crude_steel_site"]),
               "scrap_raising_projects": ";".join(lz["scrap_raising_projects"]),
               "allocated_above_general": c.allocated_above_general,
               "items_carried": lz["items_carried"]}
        for sc in SCALES:
            row[f"{sc.key}_threshold"] = lz["physical"][f"{sc.key}_threshold"]
        for it in lz["items"]:
            row[f"item_{it['key']}"] = it["status"]
        rows.append(row)
    return pd.DataFrame(rows)


def line_lens_table(data: ReportData) -> pd.DataFrame:
    """One row per certificate line: same site or pooled across sites, and how it is connected."""
    rows = []
    for c in data.certificates:
        for ln in c.lines:
            rows.append({"certificate_id": c.certificate_id, "line_no": ln.line_no, "product_id": c.product_id,
                         "product_site": c.product.get("site", ""), "product_crude_steel_site": ln.product_site,
                         "pool_id": ln.pool_id, "project_id": ln.project_id, "project_site": ln.project_site,
                         "reps_t": ln.reps_t, "link": ln.link, "link_detail": ln.link_detail,
                         "connection": ln.connection, "evidence": ln.evidence, "gases": ln.gases_label})
    return pd.DataFrame(rows, columns=["certificate_id", "line_no", "product_id", "product_site",
                                       "product_crude_steel_site", "pool_id", "project_id", "project_site", "reps_t",
                                       "link", "link_detail", "connection", "evidence", "gases"])
