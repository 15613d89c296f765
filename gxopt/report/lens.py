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

The numbers are the certificates' own: the physical intensity is the General CFP (embodied); the claimed
intensity of a certificate is its ``claimed_cfp`` (the Allocated CFP, or the basis less the REPs per tonne);
steel of a product without GX value carries the non-GX CFP (the basis, 7.3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from gxopt.report.data import Certificate, ReportData
from gxopt.report.fmt import missing


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
                 "site's total emissions over its saleable crude steel). The product CFP is cradle-to-gate and "
                 "includes rolling and finishing, so it is only a proxy; a mass-balance or allocation claim does "
                 "not change any site's emissions. The lens reports only: it never changes an allocation.")
STEELZERO_POSITION = ("SteelZero does not automatically recognise mass balance claims; it does not accept a mass "
                      "balance credit approach (avoided emissions accounting), and asks for a site-level production "
                      "link between the reduction project and the product (SteelZero mass balance position).")

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


def product_lens(data: ReportData) -> pd.DataFrame:
    """One row per product: its General CFP (embodied, physical) on every scale, as a site-level proxy, and
    where its non-GX CFP (the basis that steel without GX value carries, 7.3.3) stands."""
    p = data.products
    rows = []
    for r in p.itertuples():
        a = assess(r.general_cfp, r.scrap_share)
        n = assess(r.non_gx_cfp, r.scrap_share)
        rows.append({"product_id": r.product_id, "name": getattr(r, "name", ""), "site": r.site,
                     "production_t": r.production_t, "general_cfp": r.general_cfp, "scrap_share": r.scrap_share,
                     **{k: v for k, v in a.items() if k not in ("intensity", "scrap_share")},
                     "rep_term": r.rep_term, "non_gx_cfp": r.non_gx_cfp, "non_gx_rs_level": n["rs_level"],
                     "non_gx_steelzero_lower_emission_met": n["steelzero_lower_emission_met"],
                     "basis": "product CFP (cradle-to-gate) as a proxy for site-level crude-steel intensity"})
    return pd.DataFrame(rows)


def site_lens(data: ReportData) -> pd.DataFrame:
    """One row per site: production-weighted General CFP and scrap share of its products (still a proxy)."""
    p = data.products
    rows = []
    for site, g in p.groupby("site", sort=True):
        w = g["production_t"]
        cfp_w = float((g["general_cfp"] * w).sum() / w.sum())
        scrap_w = float((g["scrap_share"] * w).sum() / w.sum())
        a = assess(cfp_w, scrap_w)
        rows.append({"site": site, "products": int(len(g)), "production_t": float(w.sum()),
                     "weighted_general_cfp": cfp_w, "weighted_scrap_share": scrap_w,
                     **{k: v for k, v in a.items() if k not in ("intensity", "scrap_share")},
                     "basis": "production-weighted product CFPs of the site's products: a proxy, not the site's "
                              "crude-steel intensity"})
    return pd.DataFrame(rows)


def certificate_lens(c: Certificate) -> dict[str, Any]:
    """The lens of one certificate: intensities on the scales, site link of each REP line, disclosure items."""
    s = c.product.get("scrap_share")
    physical = assess(c.general_cfp, s)
    claimed = assess(c.claimed_cfp, s)
    same = sum(ln.reps_t for ln in c.lines if ln.same_site)
    pooled = sum(ln.reps_t for ln in c.lines if ln.same_site is False)
    unknown = sum(ln.reps_t for ln in c.lines if ln.same_site is None)
    total = same + pooled + unknown
    items = disclosure_items(c)
    return {
        "certificate_id": c.certificate_id, "method": c.method, "product_id": c.product_id,
        "site": c.product.get("site", ""), "scrap_share": s,
        "physical": physical, "claimed": claimed,
        "claimed_basis": ("Allocated CFP (GX Allocation)" if c.method == "allocation"
                          else "basis CFP (General CFP + 7.3.3 correction) less REPs per tonne (7.3.3, 7.5)"),
        "same_site_t": same, "pooled_t": pooled, "unknown_site_t": unknown,
        "same_site_share": (same / total) if total else None,
        "site_link": ("same site" if total and same == total else
                      "pooled across sites" if total and pooled == total else
                      "partly pooled across sites" if total else "no REP lines"),
        "lines": [{"line_no": ln.line_no, "pool_id": ln.pool_id, "project_id": ln.project_id,
                   "project_site": ln.project_site, "reps_t": ln.reps_t, "link": ln.link,
                   "connection": ln.connection,
                   "evidence": ln.evidence} for ln in c.lines],
        "items": items,
        "items_carried": sum(1 for i in items if i["status"] == "carried"),
    }


def disclosure_items(c: Certificate) -> list[dict[str, str]]:
    """Which of SteelZero's disclosure items the certificate carries (carried / partly / not carried)."""
    out = []
    for key, label in DISCLOSURE_ITEMS:
        if key == "cfp_per_tonne":
            status, detail = "carried", f"General CFP {c.general_cfp:.4f} t-CO2e/t"
            if c.method == "allocation":
                detail += ", Residual and Allocated CFP"
            elif c.basis_cfp is not None and c.claimed_cfp is not None:
                detail += (f", basis {c.basis_cfp:.4f} (7.3.3 correction {c.rep_term:.4f}) and the CFP the buyer "
                           f"may claim {c.claimed_cfp:.4f}")
        elif key == "scrap_share":
            s = c.product.get("scrap_share")
            status, detail = ("not carried", "no scrap share in the plant model") if missing(s) else (
                "carried", f"{100 * float(s):.1f} % of the metallic input")
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
        else:  # same_site
            same = [ln for ln in c.lines if ln.same_site]
            if c.lines and len(same) == len(c.lines):
                status, detail = "carried", "every REP line comes from the product's own site"
            elif same:
                status, detail = "partly", f"{len(same)} of {len(c.lines)} REP lines from the product's own site"
            else:
                status, detail = "not carried", "REPs pooled across sites (organization-level, physical connection only)"
        out.append({"key": key, "item": label, "status": status, "detail": detail})
    return out


def certificate_lens_table(data: ReportData) -> pd.DataFrame:
    """One row per certificate: the lens in flat form (CSV twin)."""
    rows = []
    for c in data.certificates:
        lz = certificate_lens(c)
        row = {"certificate_id": c.certificate_id, "status": c.status, "method": c.method, "product_id": c.product_id,
               "site": lz["site"], "scrap_share": lz["scrap_share"], "general_cfp": c.general_cfp,
               "basis_cfp": c.basis_cfp, "rep_term": c.rep_term,
               "claimed_cfp": c.claimed_cfp, "claimed_basis": lz["claimed_basis"],
               "physical_rs_level": lz["physical"]["rs_level"],
               "physical_steelzero_lower_emission": lz["physical"]["steelzero_lower_emission_met"],
               "physical_iea_near_zero": lz["physical"]["iea_near_zero_met"],
               "claimed_rs_level": lz["claimed"]["rs_level"],
               "claimed_steelzero_lower_emission": lz["claimed"]["steelzero_lower_emission_met"],
               "claimed_iea_near_zero": lz["claimed"]["iea_near_zero_met"],
               "site_link": lz["site_link"], "same_site_t": lz["same_site_t"], "pooled_t": lz["pooled_t"],
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
                         "product_site": c.product.get("site", ""), "pool_id": ln.pool_id,
                         "project_id": ln.project_id, "project_site": ln.project_site, "reps_t": ln.reps_t,
                         "link": ln.link, "connection": ln.connection,
                         "evidence": ln.evidence})
    return pd.DataFrame(rows, columns=["certificate_id", "line_no", "product_id", "product_site", "pool_id",
                                       "project_id", "project_site", "reps_t", "link", "connection", "evidence"])
