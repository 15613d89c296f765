"""The disclosures section of the report: the 6.2.3 projects, the 8.3.3 three CFPs and the ch. 9 scheme
information, each as an HTML page with its CSV/JSON twins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gxopt.report import disclosure
from gxopt.report.data import ReportData
from gxopt.report.files import write_csv, write_json
from gxopt.report.render import render

# What the three CFPs are, at the head of the three-CFP page (8.3.3, 7.3.3, 8.1).
THREE_CFPS_INTRO = (
    "General CFP: the product's CFP (ch. 5). 7.3.3 correction: the REPs already reflected in the General CFP, per "
    "tonne (the REPs of connected projects' calculation periods inside the CFP data period, pro rata by days, over "
    "the production of the products connected to each project). Residual CFP = General CFP + correction (8.3.2): "
    "the CFP not reflecting GX value, the one basis of both methods, and the non-GX CFP that steel without GX value "
    "carries whichever method its GX steel uses. Allocated CFP = subject part x (1 - alpha) + non-allocable upstream "
    "scope 3 (8.1.1, 8.1.2): the CFP of GX steel; it differs by certificate with alpha, so the range over the CFP "
    "certificates is shown, with the lowest possible value (alpha = 1). A mass-balance buyer may claim the basis "
    "less the REPs per tonne of its certificate (7.3.3).")

def write(data: ReportData, ctx: dict[str, Any], ddir: Path) -> list[str]:
    """Write the disclosures into ``ddir``; return the tables it wrote (relative to the report folder)."""
    projects, not_counted = disclosure.project_table(data)
    not_ended = disclosure.not_ended_table(data)
    cfps = disclosure.three_cfp_table(data)
    order_cfps = disclosure.order_cfp_table(data)
    scheme = disclosure.scheme_information(data, projects)
    notice = disclosure.non_gx_notice(data, cfps)
    claims = disclosure.claims_block(data)
    write_csv(projects, ddir / "projects.csv")
    write_csv(not_counted, ddir / "projects-not-counted.csv")
    write_csv(not_ended, ddir / "projects-not-ended.csv")
    write_json({"clause": "JISF 6.2.3", "organization": data.organization, "as_of": data.summary.get("as_of"),
                "projects": disclosure.records(projects), "not_counted": disclosure.records(not_counted),
                "not_ended": disclosure.records(not_ended),
                "not_ended_note": "calculation periods not yet ended at as_of: not disclosed as achieved"},
               ddir / "projects.json")
    write_csv(cfps, ddir / "three-cfps.csv")
    write_csv(order_cfps, ddir / "three-cfps-orders.csv")
    write_json({"clause": "JISF 8.3.3", "unit": "t-CO2e/t", "organization": data.organization,
                "products": disclosure.records(cfps), "allocation_orders": disclosure.records(order_cfps),
                "notice_7_3_3": notice, "organization_claims": claims}, ddir / "three-cfps.json")
    write_json(scheme, ddir / "scheme.json")
    projects_page(data, ctx, ddir, projects, not_counted, not_ended)
    three_cfps_page(ctx, ddir, cfps, order_cfps, notice, claims)
    (ddir / "scheme.html").write_text(render("scheme.html", **ctx, s=scheme), encoding="utf-8")
    return ["disclosures/projects.csv", "disclosures/projects.json", "disclosures/projects-not-counted.csv",
            "disclosures/projects-not-ended.csv",
            "disclosures/three-cfps.csv", "disclosures/three-cfps.json", "disclosures/three-cfps-orders.csv",
            "disclosures/scheme.json"]


def projects_page(data: ReportData, ctx: dict[str, Any], ddir: Path, projects: pd.DataFrame,
                  not_counted: pd.DataFrame, not_ended: pd.DataFrame | None = None) -> None:
    """``projects.html``: the projects and their REPs per calculation period ended by as_of (6.2.3), the periods
    not yet ended, and the projects not counted."""
    incomplete = projects[~projects["disclosure_complete"]]["project_id"].unique().tolist() if len(projects) else []
    notes = []
    if incomplete:
        notes.append("Incomplete disclosure: no reduction technology given for " + ", ".join(incomplete)
                     + " (6.2.3 requires the specific reduction technology method).")
    page = render(
        "table_page.html", **ctx, title="Emission reduction projects (JISF 6.2.3)",
        subtitle="projects subject to the calculation of REPs under GX Mass Balance and GX Allocation",
        twins=[("CSV", "projects.csv"), ("JSON", "projects.json"), ("not counted (CSV)", "projects-not-counted.csv"),
               ("not yet ended (CSV)", "projects-not-ended.csv")],
        intro=["For each emission reduction project: its name, implementation location (site and process unit), "
               "the specific reduction technology, the additionality test it passed (6.2.1.2) and the REPs "
               "achieved in each calculation period (after the 6.6 attribution share), with the gases included "
               "(6.5) and the third-party verification. Only calculation periods that ended by the run's as_of "
               f"date ({data.summary.get('as_of')}) are disclosed as achieved; a period not yet ended is listed "
               "separately and is not disclosed as achieved.",
               "The REPs achieved in a calculation period are signed: a period with a net emission increase shows "
               "the increase (ch. 6: both reductions and increases are included). Increases are netted against the "
               "same project's other periods, its latest earlier periods first, then later ones; 'Netted' is the "
               "change this made to a period and 'REPs in the pool' what the period holds after netting."],
        notes=notes,
        tables=[{"caption": "Projects and REPs per calculation period", "note": "", "empty": "no eligible projects",
                 "columns": [("project_id", "Project", "text"), ("name", "Name", "text"),
                             ("location_site", "Site", "text"), ("location_node", "Unit", "mono"),
                             ("location_unit", "Unit name", "text"), ("technology", "Technology", "text"),
                             ("project_type", "Type", "text"), ("additionality_test", "Additionality test", "text"),
                             ("additionality_passed", "Additional (6.2.1.2)", "bool"),
                             ("gases", "Gases included", "text"), ("gas", "Gas class", "text"),
                             ("period_start", "Period start", "text"), ("period_end", "Period end", "text"),
                             ("node_group_6_6", "6.6 group", "text"), ("attribution_share", "Share", "num"),
                             ("period_result", "Achieved in the period", "text"),
                             ("period_amount_t", "t-CO2e", "reps"),
                             ("netted_t", "Netted t-CO2e", "reps"), ("netting", "Netting", "text"),
                             ("reps_t", "REPs in the pool t-CO2e", "reps"), ("verifier", "Verifier", "text"),
                             ("statement_id", "Statement", "text"), ("status", "Status", "text")],
                 "rows": disclosure.records(projects)},
                {"caption": "Calculation periods not yet ended (not disclosed as achieved)",
                 "note": f"Periods of eligible projects that had not ended at as_of {data.summary.get('as_of')}: "
                         "nothing is disclosed as achieved for them, and their REPs cannot be used.",
                 "empty": "none", "columns": [("project_id", "Project", "text"), ("name", "Name", "text"),
                                              ("period_start", "Period start", "text"),
                                              ("period_end", "Period end", "text"), ("status", "Status", "text")],
                 "rows": disclosure.records(not_ended) if not_ended is not None else []},
                {"caption": "Projects not counted as REPs (and why)", "note": "", "empty": "none",
                 "columns": [("project_id", "Project", "text"), ("name", "Name", "text"),
                             ("location_site", "Site", "text"), ("location_node", "Unit", "mono"),
                             ("project_type", "Type", "text"), ("reason_not_counted", "Reason", "text")],
                 "rows": disclosure.records(not_counted)}])
    (ddir / "projects.html").write_text(page, encoding="utf-8")


def three_cfps_page(ctx: dict[str, Any], ddir: Path, cfps: pd.DataFrame, order_cfps: pd.DataFrame,
                    notice: list[dict[str, Any]], claims: dict[str, Any]) -> None:
    """``three-cfps.html``: the three CFPs per product and per CFP certificate (8.3.3), with the 7.3.3 notice and
    the organization's claims."""
    notice_text = []
    if notice:
        notice_text.append("7.3.3 notice to stakeholders: the CFP data period of the products below overlaps the "
                           "calculation periods of connected emission reduction projects, so their REPs are "
                           "reflected in the General CFP. For steel of these products to which no REPs were "
                           "assigned, the General CFP shall not be applied to customers' Scope 3 Category 1 or "
                           "product-level emissions without adding the correction value; the non-GX CFP is the "
                           "General CFP + the correction: "
                           + "; ".join(f"{n['product_id']} {n['general_cfp']:.4f} + {n['correction']:.4f} = "
                                       f"{n['non_gx_cfp']:.4f}" for n in notice) + " t-CO2e/t.")
    notice_text.append("Organization totals: " + claims["statement"])
    page = render(
        "table_page.html", **ctx, title="Three CFPs per product (JISF 8.3.3)",
        subtitle="General CFP, Residual CFP and Allocated CFP, t-CO2e per t of product",
        twins=[("CSV", "three-cfps.csv"), ("JSON", "three-cfps.json"), ("per order (CSV)", "three-cfps-orders.csv")],
        intro=[THREE_CFPS_INTRO],
        notes=notice_text,
        tables=[{"caption": "Per product", "note": "", "empty": "no products",
                 "columns": [("product_id", "Product", "text"), ("name", "Name", "text"), ("site", "Site", "text"),
                             ("general_cfp", "General CFP", "cfp"),
                             ("correction_7_3_3", "7.3.3 correction", "cfp"),
                             ("residual_cfp", "Residual CFP", "cfp"), ("non_gx_cfp", "non-GX CFP", "cfp"),
                             ("allocated_cfp_min", "Allocated CFP min", "cfp"),
                             ("allocated_cfp_max", "Allocated CFP max", "cfp"),
                             ("allocated_cfp_weighted", "Allocated CFP (tonnage-weighted)", "cfp"),
                             ("allocated_cfp_lowest_possible", "Lowest possible (alpha = 1)", "cfp"),
                             ("allocation_certificates", "CFP certificates", "int"),
                             ("gx_tonnage_t", "GX tonnage t", "t"),
                             ("mass_balance_reps_t", "REPs on reduction certificates t-CO2e", "reps"),
                             ("mass_balance_claimed_cfp_min", "Claimed CFP min (mass balance)", "cfp"),
                             ("claims_t", "Claims t-CO2e", "num0")],
                 "rows": disclosure.records(cfps)},
                {"caption": "Per CFP certificate (GX Allocation)", "note": "",
                 "empty": "no GX Allocation certificates",
                 "columns": [("certificate_id", "Certificate", "text"), ("order_id", "Order", "text"),
                             ("customer", "Customer", "text"),
                             ("product_id", "Product", "text"), ("tonnage_t", "Tonnage t", "t"),
                             ("alpha", "alpha", "num"), ("gx_tonnage_t", "GX tonnage t", "t"),
                             ("general_cfp", "General CFP", "cfp"), ("residual_cfp", "Residual CFP", "cfp"),
                             ("allocated_cfp", "Allocated CFP", "cfp"), ("reps_t", "REPs t-CO2e", "reps")],
                 "rows": disclosure.records(order_cfps)}])
    (ddir / "three-cfps.html").write_text(page, encoding="utf-8")
