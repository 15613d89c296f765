"""The SteelZero lens section of the report: its tables (CSV/JSON), its page, and its per-product summary table
on the index page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gxopt.report import disclosure, lens
from gxopt.report.data import ReportData
from gxopt.report.files import write_csv, write_json
from gxopt.report.render import render

# The first columns of every per-product lens table, and the level the General CFP reaches (columns of
# table_page.html: key, heading, format).
PRODUCT_HEAD = [("product_id", "Product", "text"), ("crude_steel_site", "Crude steel made at", "text"),
                ("site", "Shipped from", "text"),
                ("scrap_share", "Scrap share", "pct"), ("general_cfp", "General CFP", "cfp")]
RS_LEVEL = ("rs_level_label", "ResponsibleSteel (General CFP)", "text")


def write(data: ReportData, ctx: dict[str, Any], ldir: Path) -> tuple[list[str], pd.DataFrame]:
    """Write the lens into ``ldir``; return the tables it wrote (relative to the report folder) and the
    per-product lens (for :func:`index_table`)."""
    lp, ls, lc, ll = (lens.product_lens(data), lens.site_lens(data), lens.certificate_lens_table(data),
                      lens.line_lens_table(data))
    write_csv(lp, ldir / "products.csv")
    write_csv(ls, ldir / "sites.csv")
    write_csv(lc if len(lc) else pd.DataFrame(columns=["certificate_id"]), ldir / "certificates.csv")
    write_csv(ll, ldir / "lines.csv")
    write_json({"boundary_note": lens.BOUNDARY_NOTE, "steelzero_position": lens.STEELZERO_POSITION,
                "claimed_cfp": lens.NOT_RECOGNISED, "scrap_recovery_condition": lens.SCRAP_CONDITION,
                "site": "crude_steel_site: where the product's crude steel is made (the route's BOF/EAF unit)",
                "allocated_above_general": [c.certificate_id for c in data.certificates if c.allocated_above_general],
                "scales": [{"key": s.key, "label": s.label, "b": s.b, "m": s.m, "formula": f"{s.b} - {s.m} * s",
                            "unit": "t-CO2e per t crude steel", "source": s.source} for s in lens.SCALES],
                "products": disclosure.records(lp), "sites": disclosure.records(ls),
                "certificates": disclosure.records(lc), "lines": disclosure.records(ll)}, ldir / "lens.json")
    _page(data, ctx, ldir, lp, ls, lc)
    return ["lens/products.csv", "lens/sites.csv", "lens/certificates.csv", "lens/lines.csv", "lens/lens.json"], lp


def index_table(lp: pd.DataFrame) -> dict[str, Any]:
    """The index page's lens table: per product the General CFP and non-GX CFP against the SteelZero and IEA
    near-zero thresholds."""
    return {"caption": "", "note": "General CFP per product (embodied) at its scrap share, judged as a proxy for the "
                                   "intensity of the site where its crude steel is made, and its non-GX CFP (General "
                                   "+ 7.3.3 correction); thresholds in t-CO2e per t of crude steel. Claimed CFPs are "
                                   "not judged: " + lens.NOT_RECOGNISED + ".",
            "columns": [*PRODUCT_HEAD, ("non_gx_cfp", "non-GX CFP", "cfp"),
                        ("steelzero_lower_emission_threshold", "SteelZero / RS2 threshold", "cfp"),
                        ("steelzero", "General CFP meets SteelZero lower-emission", "bool"),
                        ("iea_near_zero_threshold", "IEA near-zero threshold", "cfp"),
                        ("near_zero", "General CFP meets IEA near-zero", "bool"), RS_LEVEL],
            "rows": disclosure.records(lp.assign(steelzero=lp["steelzero_lower_emission_met"],
                                                 near_zero=lp["iea_near_zero_met"]))}


def _scrap_note(lp: pd.DataFrame) -> str:
    """The lens page's note on the products connected to projects that raise scrap use."""
    products = sorted(set(lp.loc[lp["scrap_recovery_condition"], "product_id"]))
    projects = sorted({x for v in lp["scrap_raising_projects"] for x in str(v).split(";") if x})
    return (f"Projects raising scrap use ({', '.join(projects)}), connected to {', '.join(products)}: "
            + lens.SCRAP_CONDITION)


def _page(data: ReportData, ctx: dict[str, Any], ldir: Path, lp: pd.DataFrame, ls: pd.DataFrame,
          lc: pd.DataFrame) -> None:
    """``steelzero-lens.html``: the lens per product, per crude-steel site and per certificate."""
    scale_cols = []
    for s in lens.SCALES:
        scale_cols += [(f"{s.key}_threshold", f"{s.label} ({s.b:.2f} - {s.m:.2f} s)", "cfp"),
                       (f"{s.key}_met", "General CFP meets", "bool")]
    site_cols = [("site_intensity", "Crude-steel site intensity (given)", "cfp"),
                 ("site_rs_level_label", "Site level (given intensity)", "text")]
    cert_cols = [("certificate_id", "Certificate", "text"), ("method", "Method", "text"),
                 ("product_id", "Product", "text"), ("crude_steel_site", "Crude steel made at", "text"),
                 ("scrap_share", "Scrap share", "pct"),
                 ("general_cfp", "General CFP (embodied)", "cfp"),
                 ("physical_rs_level", "RS level (General CFP)", "int"),
                 ("physical_steelzero_lower_emission", "SteelZero lower-emission (General CFP)", "bool"),
                 ("basis_cfp", "Basis CFP", "cfp"), ("claimed_cfp", "Claimed CFP", "cfp"),
                 ("claimed_note", "Claimed CFP for SteelZero", "text"),
                 ("site_link", "Site link (crude-steel site)", "text"), ("same_site_t", "Same site t-CO2e", "reps"),
                 ("pooled_t", "Pooled t-CO2e", "reps"),
                 ("not_from_crude_steel_site", "Lines not from the crude-steel site", "text"),
                 ("scrap_raising_projects", "Projects raising scrap use", "text"),
                 ("allocated_above_general", "Allocated CFP above General CFP", "bool")]
    cert_cols += [(f"item_{k}", label, "text") for k, label in lens.DISCLOSURE_ITEMS]
    page = render(
        "table_page.html", **ctx, title="SteelZero lens", subtitle="intensities against the sliding scales buyers use",
        twins=[("products CSV", "products.csv"), ("sites CSV", "sites.csv"), ("certificates CSV", "certificates.csv"),
               ("lines CSV", "lines.csv"), ("JSON", "lens.json")],
        intro=["Scales, t-CO2e per t of crude steel at scrap share s (0..1): ResponsibleSteel levels 1-4 = 2.80 - 2.30 s, "
               "2.00 - 1.65 s, 1.20 - 1.00 s, 0.40 - 0.35 s; SteelZero lower-emission steel = ResponsibleSteel level 2; "
               "IEA near-zero = 0.40 - 0.35 s.",
               "Thresholds and levels are judged on embodied numbers only: the General CFP of each product, as a "
               "proxy for the intensity of the site where its crude steel is made (the site of its route's BOF/EAF "
               "unit, not the shipping site), and that site's own intensity where the plant model gives it "
               "(crude_steel_intensity). A certificate's claimed CFP (the Allocated CFP, or the basis less REPs "
               "per tonne) is shown beside them as " + lens.NOT_RECOGNISED + ", never with a verdict. Per product "
               "also the non-GX CFP (General CFP + 7.3.3 correction, what steel without GX value carries). Per "
               "certificate: whether each REP line comes from the product's crude-steel site or is pooled across "
               "sites, and which of SteelZero's disclosure items the certificate carries (CFP per tonne, scrap "
               "share, calculation standard, technology, how the reduction was attributed, same-site guarantee)."],
        notes=[lens.BOUNDARY_NOTE, lens.STEELZERO_POSITION]
        + ([_scrap_note(lp)] if len(lp) and lp["scrap_recovery_condition"].any() else [])
        + (["CFP certificates whose Allocated CFP is above the product's General CFP (buyer warning): "
            + ", ".join(c.certificate_id for c in data.certificates if c.allocated_above_general)]
           if any(c.allocated_above_general for c in data.certificates) else []),
        tables=[{"caption": "Per product (General CFP as a proxy)", "note": "", "empty": "no products",
                 "columns": PRODUCT_HEAD + scale_cols + [RS_LEVEL] + site_cols
                 + [("non_gx_cfp", "non-GX CFP", "cfp"), ("non_gx_rs_level", "RS level (non-GX)", "int"),
                    ("scrap_raising_projects", "Projects raising scrap use", "text")],
                 "rows": disclosure.records(lp)},
                {"caption": "Per site where crude steel is made (production-weighted proxy)", "note": "",
                 "empty": "no sites",
                 "columns": [("site", "Crude-steel site", "text"), ("product_ids", "Products", "text"),
                             ("shipped_from", "Shipped from", "text"), ("production_t", "Production t", "num0"),
                             ("weighted_scrap_share", "Scrap share", "pct"),
                             ("weighted_general_cfp", "Weighted General CFP", "cfp")] + scale_cols
                 + [RS_LEVEL] + site_cols,
                 "rows": disclosure.records(ls)},
                {"caption": "Per certificate", "note": "", "empty": "no certificates", "columns": cert_cols,
                 "rows": disclosure.records(lc)}])
    (ldir / "steelzero-lens.html").write_text(page, encoding="utf-8")
