"""Public disclosures: the 6.2.3 project table (REPs achieved per calculation period, increases included, and
how they were netted), the 8.3.3 three CFPs per product (with the 7.3.3 correction and non-GX CFP), the
organization's claims against its actual emissions, and the chapter 9 scheme information. Each as an HTML
page with CSV and JSON twins."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gxopt import __version__
from gxopt.report.data import GUIDELINE, ReportData
from gxopt.report.fmt import clean, missing, text

ISO_TABLE_1 = [
    {"requirement": "Calculation of CFP prior to the emission reduction project", "clauses": "5",
     "standards": ["ISO 20915:2018", "ISO 14067:2018", "ISO 14040:2006", "ISO 14044:2006", "ISO 21930:2017"]},
    {"requirement": "Calculation of REPs", "clauses": "6", "standards": ["ISO 14064-1"]},
    {"requirement": "Additionality of the emission reduction project", "clauses": "6",
     "standards": ["The GHG Protocol for Project Accounting"]},
    {"requirement": "GX Mass Balance", "clauses": "3, 7", "standards": ["ISO 22095:2020 (chain of custody)"]},
    {"requirement": "GX Allocation", "clauses": "4, 8", "standards": ["ISO 14044:2006", "ISO 14067:2018"]},
    {"requirement": "Prevention of double counting", "clauses": "6, 7, 8",
     "standards": ["ISO 14064-1", "ISO 22095:2020", "ISO 14067:2018"]},
    {"requirement": "Third-party verification", "clauses": "5, 6, 7, 8",
     "standards": ["ISO 14021:2016", "ISO 14025:2006", "ISO 14026:2017", "ISO 14064-3:2019"]},
]


def project_table(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(6.2.3 table: one row per calculation period, ended by ``as_of``, of each project subject to REP
    calculation; projects not counted with the reason). A period that has not ended is not disclosed as
    achieved: see :func:`not_ended_table`.

    ``period_reps_t`` is what the project achieved in the calculation period, signed: a period with a net
    emission increase is negative and ``period_result`` says "increase" (ch. 6: "both GHG emission reductions
    and increases ... shall be included"); ``netted_t`` is the change from netting increases against the same
    project's other periods (``netting`` says which), ``reps_t`` what the pool holds after netting."""
    s = data.scenario
    nodes = s.model.nodes.drop_duplicates("node_id").set_index("node_id")
    projects = data.tables["projects"].set_index("project_id")
    pools = data.tables["pools"]
    rows = []
    for r in pools.itertuples():
        if r.project_id not in projects.index or not bool(projects.at[r.project_id, "eligible"]):
            continue
        if not _ended(data, r):
            continue  # not yet ended by as_of: nothing achieved to disclose (not_ended_table)
        p = projects.loc[r.project_id]
        node = p["node"]
        rows.append({
            "pool_id": r.pool_id, "project_id": r.project_id, "name": text(p["name"]),
            "location_site": text(nodes["site"].get(node)), "location_node": node,
            "location_unit": text(nodes["name"].get(node)) if "name" in nodes.columns else "",
            "process": text(nodes["process"].get(node)),
            "technology": text(p.get("technology")), "project_type": text(p["kind"]),
            "additionality_test": text(p["additionality"]),
            "additionality_passed": bool(not missing(p["additionality"])),
            "gas": text(p["gas"]), "gases": text(getattr(r, "gases", "")) or ("CO2" if text(p["gas"]) == "CO2" else ""),
            "verified": bool(p["verified"]), "verifier": text(p["verifier"]),
            "statement_id": text(p["statement_id"]),
            "period_start": r.period_start.strftime("%Y-%m-%d"), "period_end": r.period_end.strftime("%Y-%m-%d"),
            "node_group_6_6": text(r.group), "attribution_share": float(r.share),
            "period_reps_t": float(r.period_reps_t),
            "period_result": "increase" if r.period_reps_t < 0 else "reduction" if r.period_reps_t > 0 else "none",
            "period_amount_t": abs(float(r.period_reps_t)),
            "netted_t": float(r.netted_t), "netting": text(r.netting),
            "reps_t": float(r.reps_t), "in_cfps_t": float(r.in_cfps_t),
            "used_t": float(r.used_t), "remaining_t": float(r.remaining_t),
            "expires_mass_balance": r.expires.strftime("%Y-%m-%d"),
            "status": text(r.reason) or "usable",
            "disclosure_complete": bool(text(p.get("technology"))),
        })
    table = pd.DataFrame(rows)
    out = []
    for pid, p in projects.iterrows():
        if bool(p["eligible"]):
            continue
        node = p["node"]
        out.append({"project_id": pid, "name": text(p["name"]), "location_site": text(nodes["site"].get(node)),
                    "location_node": node, "project_type": text(p["kind"]),
                    "additionality_test": text(p["additionality"]), "verified": bool(p["verified"]),
                    "reason_not_counted": text(p["reason"]), "reps_not_counted_t": float(p["reps_t"])})
    return table, pd.DataFrame(out)


def _ended(data: ReportData, pool: Any) -> bool:
    """A calculation period ended by the run's ``as_of`` (pools.csv ``ended``; the dates when it is blank)."""
    ended = getattr(pool, "ended", None)
    if ended is not None and not missing(ended):
        return bool(ended)
    return pd.Timestamp(pool.period_end) <= pd.Timestamp(data.scenario.settings.as_of)


def not_ended_table(data: ReportData) -> pd.DataFrame:
    """Calculation periods of eligible projects that had not ended by ``as_of``: not yet ended, so not
    disclosed as achieved (6.2.3 discloses the REPs achieved during a calculation period)."""
    projects = data.tables["projects"].set_index("project_id")
    rows = []
    for r in data.tables["pools"].itertuples():
        if r.project_id not in projects.index or not bool(projects.at[r.project_id, "eligible"]) or _ended(data, r):
            continue
        rows.append({"pool_id": r.pool_id, "project_id": r.project_id, "name": text(projects.at[r.project_id, "name"]),
                     "period_start": r.period_start.strftime("%Y-%m-%d"),
                     "period_end": r.period_end.strftime("%Y-%m-%d"),
                     "status": f"not yet ended at as_of {data.scenario.settings.as_of}: not disclosed as achieved"})
    return pd.DataFrame(rows, columns=["pool_id", "project_id", "name", "period_start", "period_end", "status"])


def _cert_frame(data: ReportData) -> pd.DataFrame:
    """The certificates that count (drafts, or issued ones; never void) as a frame."""
    rows = [{"certificate_id": c.certificate_id, "order_id": c.order_id, "customer": c.customer,
             "product_id": c.product_id, "method": c.method, "tonnage_t": c.tonnage_t, "alpha": c.alpha,
             "gx_tonnage_t": c.gx_tonnage_t, "general_cfp": c.general_cfp, "residual_cfp": c.residual_cfp,
             "allocated_cfp": c.allocated_cfp, "reps_t": c.reps_t, "claimed_cfp": c.claimed_cfp}
            for c in data.certificates if c.status != "void"]
    return pd.DataFrame(rows, columns=["certificate_id", "order_id", "customer", "product_id", "method", "tonnage_t",
                                       "alpha", "gx_tonnage_t", "general_cfp", "residual_cfp", "allocated_cfp",
                                       "reps_t", "claimed_cfp"])


def three_cfp_table(data: ReportData) -> pd.DataFrame:
    """8.3.3: General, Residual and Allocated CFP per product, the 7.3.3 correction and the non-GX CFP.

    One basis for both methods: ``residual_cfp`` = General CFP + ``rep_term`` (the REPs already reflected in
    the General CFP per tonne, the 7.3.3 correction) = ``non_gx_cfp``, what steel of the product without GX
    value carries whichever method its GX steel uses. Allocated CFPs, claimed CFPs and GX volumes come from the
    certificates of the report (the ledger's issued ones, or the drafts of the served orders); ``claims_t`` is
    the run's: GX orders at their claimed CFP plus the rest of the production at the non-GX CFP."""
    cf = _cert_frame(data)
    rows = []
    for p in data.products.itertuples():
        alloc = cf[(cf["product_id"] == p.product_id) & (cf["method"] == "allocation")]
        mb = cf[(cf["product_id"] == p.product_id) & (cf["method"] == "mass_balance")]
        weighted = float((alloc["allocated_cfp"] * alloc["tonnage_t"]).sum() / alloc["tonnage_t"].sum()) \
            if len(alloc) else None
        reflected = float(p.rep_term) > 0
        rows.append({
            "product_id": p.product_id, "name": text(getattr(p, "name", "")), "site": p.site,
            "cfp_period_start": p.cfp_period_start.strftime("%Y-%m-%d"),
            "cfp_period_end": p.cfp_period_end.strftime("%Y-%m-%d"), "production_t": float(p.production_t),
            "general_cfp": float(p.general_cfp), "rep_term": float(p.rep_term), "residual_cfp": float(p.residual_cfp),
            "subject_cfp": float(p.subject_cfp), "non_allocable": float(p.non_allocable),
            "allocated_cfp_min": float(alloc["allocated_cfp"].min()) if len(alloc) else None,
            "allocated_cfp_max": float(alloc["allocated_cfp"].max()) if len(alloc) else None,
            "allocated_cfp_weighted": weighted,
            "allocated_cfp_lowest_possible": float(p.non_allocable) if reflected else None,
            "allocation_certificates": int(len(alloc)), "allocation_tonnage_t": float(alloc["tonnage_t"].sum()),
            "gx_tonnage_t": float(alloc["gx_tonnage_t"].sum()), "allocated_reps_t": float(alloc["reps_t"].sum()),
            "mass_balance_certificates": int(len(mb)), "mass_balance_reps_t": float(mb["reps_t"].sum()),
            "mass_balance_claimed_cfp_min": float(mb["claimed_cfp"].min()) if mb["claimed_cfp"].notna().any() else None,
            "mass_balance_claimed_cfp_max": float(mb["claimed_cfp"].max()) if mb["claimed_cfp"].notna().any() else None,
            "correction_7_3_3": float(p.rep_term), "non_gx_cfp": float(p.non_gx_cfp),
            "mb_cap_cfp": float(p.mb_cap_cfp), "cfp_data_usable": p.cfp_data_usable,
            "emissions_general_t": float(p.emissions_general_t),
            "gx_order_t": float(p.gx_order_t), "claims_gx_t": float(p.claims_gx_t), "claims_t": float(p.claims_t),
        })
    return pd.DataFrame(rows)


def order_cfp_table(data: ReportData) -> pd.DataFrame:
    """The three CFPs on every GX Allocation certificate of the report."""
    cf = _cert_frame(data)
    return cf[cf["method"] == "allocation"].drop(columns="method").reset_index(drop=True)


def scheme_information(data: ReportData, projects: pd.DataFrame) -> dict[str, Any]:
    """Chapter 9 (ISO 14021:2016 6.1.2): scheme owner, methods, standards, data quality, scope, verification."""
    s = data.scenario
    st = s.settings
    summ = data.summary
    nodes = s.model.nodes
    products = data.products
    sites = []
    for site, g in nodes.groupby("site", sort=True):
        made = products["crude_steel_site"] == site
        sites.append({"site": site, "units": int(len(g)), "steel_units": int(g["steel"].fillna(False).astype(bool).sum()),
                      "non_steel_units": int((~g["steel"].fillna(False).astype(bool)).sum()),
                      "products": int((products["site"] == site).sum()),
                      "production_t": float(products.loc[products["site"] == site, "production_t"].sum()),
                      "crude_steel_products": int(made.sum()),
                      "crude_steel_production_t": float(products.loc[made, "production_t"].sum())})
    methods = []
    for m, label, ch in (("mass_balance", "GX Mass Balance", "7"), ("allocation", "GX Allocation", "8")):
        d = summ.get("by_method", {}).get(m, {})
        methods.append({"method": label, "chapter": ch, "orders": d.get("orders", 0), "served": d.get("served", 0),
                        "reps_t": d.get("reps_t", 0.0), "gx_tonnage_t": d.get("gx_tonnage_t", 0.0),
                        "how": ("REPs pooled in the account and assigned to selected products, supplied with a "
                                "reduction certificate stating the General CFP, the 7.3.3 correction and the "
                                "basis; the buyer may claim the basis less the REPs per tonne; at most the "
                                "product's scope 1+2 intensity on that basis per tonne; "
                                f"REPs expire {st.mass_balance.expiry_years} years after their calculation period "
                                "(7.2.2)" if m == "mass_balance" else
                                "emissions allocated within the REPs: GX steel at the Allocated CFP, non-GX steel at "
                                "the Residual CFP (the basis), so buyers' claims are never below actual emissions "
                                "(see the claims below); valid in the CFP operational period "
                                f"{st.operational_period.start} to {st.operational_period.end} (8.2.3)")})
    verifiers: dict[str, dict[str, Any]] = {}
    for r in projects.itertuples() if len(projects) else []:
        v = verifiers.setdefault(r.verifier or "(none)", {"verifier": r.verifier or "(none)", "statements": set(),
                                                         "projects": set()})
        if r.statement_id:
            v["statements"].add(r.statement_id)
        v["projects"].add(r.project_id)
    ver = [{"verifier": v["verifier"], "statement_ids": sorted(v["statements"]), "projects": sorted(v["projects"])}
           for v in sorted(verifiers.values(), key=lambda x: x["verifier"])]
    periods = {"earliest_start": projects["period_start"].min() if len(projects) else None,
               "latest_end": projects["period_end"].max() if len(projects) else None,
               "per_project": ([{"project_id": pid, "periods": [f"{a} to {b}" for a, b in
                                                                zip(g["period_start"], g["period_end"])]}
                                for pid, g in projects.groupby("project_id", sort=True)] if len(projects) else [])}
    ledger = None
    if data.ledger is not None:
        ledger = {"database": data.ledger.url, "journal_entries": len(data.ledger.journal_rows),
                  "journal_head": data.ledger.head["hash"], "audit_problems": data.ledger.audit_problems,
                  "batches": int(len(data.ledger.batches))}
    return {
        "clause": "JISF 9 (ISO 14021:2016 clause 6.1.2)",
        "scheme_owner": data.organization,
        "country": data.country,
        "scheme": GUIDELINE,
        "usage_methods": methods,
        "international_standards": ISO_TABLE_1,
        "data_quality": [
            "General CFPs are cradle-to-gate product CFPs per the JISF product-specific CFP guideline for steel "
            "(ISO 20915 basis), excluding the recycling effect of scrap (5.1); electricity per supplier or PPA (5.2.1).",
            "Primary data ideally within the last five years, secondary data within ten years (5.2.2). CFP data "
            "periods of the products: " + _period_span(products) + "; " + _data_age(products) + ".",
            "A General CFP whose data period overlaps a connected project's calculation periods already contains "
            "the project's effect (7.3.3): the REPs of those periods (pro rata by days) per tonne of the connected "
            "products are added back, giving one basis for both methods (the Residual CFP, 8.3.2), which steel "
            "without GX value carries.",
            "REPs are calculated from the organization's actual data before and after each project with an "
            "intensity baseline, per calculation period and signed: (baseline intensity x output - project "
            "emissions) x (1 - uncertainty) for a reduction, x (1 + uncertainty) for an increase, or with the "
            "uncertainties of each side baseline x (1 - u_b) - project emissions x (1 + u_e); so volume changes "
            "earn nothing (6.2.1.2) and uncertainty never overstates them (6.5).",
            "Increases are included (ch. 6): a period with a net emission increase is netted against the same "
            "project's other periods (its latest earlier periods first, then later ones), so a project's pools "
            "never hold more than its cumulative net reduction.",
            "Several projects at one unit in overlapping periods are calculated once at unit level and split by "
            "attribution share, never counted twice (6.6).",
            "Calculation periods are at most one year (6.2.2.2); external certificates, non-steel operations, "
            "operational improvements, maintenance and production changes are never counted (6.2.1, 6.3).",
        ],
        "organizational_scope": {
            "organization": data.organization,
            "statement": "REPs are calculated and accumulated within the organization and assigned or allocated "
                         "across its sites only to products physically connected to the project's process "
                         "(6.7, 7.2.3, 8.2.4).",
            "sites": sites, "process_units": int(len(nodes)), "products": int(len(products)),
        },
        "projects": {"subject_to_calculation": int(projects["project_id"].nunique()) if len(projects) else 0,
                     "additionality": sorted({f"{r.project_id}: {r.additionality_test} test"
                                              for r in projects.itertuples()}) if len(projects) else [],
                     "disclosure": "projects.html (6.2.3)"},
        "reduction_periods": periods,
        "verification": {"standard": "ISO 14064-3:2019 (6.8, 7.4, 8.4)", "verifiers": ver,
                         "third_party": "The REPs of the projects were verified by the third-party verifiers below "
                                        "under ISO 14064-3:2019 (verifier and verification statement as recorded in "
                                        "projects.csv)",
                         "re_performable": "the verifier pack (verifier-pack/, verifier-pack.zip) re-performs every "
                                           "REP calculation (increases netted), pool balance, physical connection, "
                                           "7.3.3 correction, order cap and claimed CFP, and the claims against "
                                           "actual emissions"},
        "settings": {"as_of": str(st.as_of), "operational_period": f"{st.operational_period.start} to "
                                                                   f"{st.operational_period.end}",
                     "mass_balance_expiry_years": st.mass_balance.expiry_years,
                     "expiry_justification": st.mass_balance.justification,
                     "what_if_unverified_allowed": bool(st.allow_unverified)},
        "run": {"scenario": data.scenario_name, "input_sha256": summ.get("input_sha256"),
                "gxopt_version": summ.get("gxopt_version", __version__),
                # kept for compatibility: it is gxopt's own re-check (summary.json "verified"), see gxopt_recheck
                "independently_verified": summ.get("verified"),
                "independently_verified_means": "gxopt's own re-check of the run (gxopt verify), NOT a third-party "
                                                "verification; see verification.verifiers for that",
                "rechecked_by_gxopt": summ.get("verified")},
        "gxopt_recheck": {"ok": summ.get("verified"),
                          "what": "Re-checked by gxopt: the software's own verification of the run (gxopt verify) "
                                  "and the verifier pack's recheck/; not an independent (third-party) verification"},
        "third_party_verification": {"standard": "ISO 14064-3:2019", "verifiers": ver},
        "ledger": ledger,
        "claims": claims_block(data),
        "disclaimer": "The treatment of GX value related to GX Steel rests entirely with the customer (JISF 10).",
    }


def _data_age(products: pd.DataFrame) -> str:
    bad = products.loc[products["cfp_data_usable"].map(lambda v: v is False), "product_id"].tolist()
    if bad:
        return "older than five years without a stated justification (not usable for GX steel): " + ", ".join(bad)
    return "every product's CFP data is within five years of the as-of date or has a stated justification"


def claims_block(data: ReportData) -> dict[str, Any]:
    """The run's claims against actual emissions (summary.json ``claims``), with the sentence that says it.

    claims = GX steel of both methods at its claimed CFP + the rest of each product's production at its
    non-GX CFP - REPs claimed under earlier certificates; actual = General CFPs x production - verified REPs
    of ended pools that no CFP contains. A margin >= 0 means nothing is counted twice."""
    c = {k: float(v) for k, v in (data.summary.get("claims") or {}).items() if isinstance(v, (int, float))}
    c["reps_not_allocated_t"] = reps_not_allocated(data)
    margin = c.get("claims_margin_t", 0.0)
    ok = margin >= -1e-6 * max(1.0, abs(c.get("actual_emissions_t", 0.0)))
    statement = (f"Buyers may claim {c.get('claims_t', 0.0):,.0f} t-CO2e in total across GX Mass Balance and GX "
                 "Allocation (GX steel at the CFP its certificate lets the buyer claim, all other steel at its non-GX "
                 f"CFP, less {c.get('reps_claimed_before_t', 0.0):,.0f} t-CO2e of REPs claimed under earlier "
                 f"certificates). The organization's actual emissions are {c.get('actual_emissions_t', 0.0):,.0f} "
                 f"t-CO2e (General CFPs x production {c.get('emissions_general_t', 0.0):,.0f}, less "
                 f"{c.get('reps_not_in_cfps_t', 0.0):,.0f} t-CO2e of verified REPs that no CFP contains). ")
    statement += (f"What buyers claim is never below actual emissions: the claims exceed them by "
                  f"{max(margin, 0.0):,.0f} t-CO2e, and {c['reps_not_allocated_t']:,.0f} t-CO2e of REPs of usable "
                  "pools are not allocated (they remain in the account): no emission is counted twice (7.3.3, 8.1, "
                  "8.3.1)." if ok else
                  f"The claims fall {-margin:,.0f} t-CO2e below actual emissions: that much would be counted twice.")
    return {**c, "no_double_counting": ok, "statement": statement}


def claims_sentence(data: ReportData) -> str:
    """What the run shows about the organization's totals, with its numbers (summary.json ``claims`` and the
    pools' remaining REPs): never "unchanged" - the claims are never below actual emissions."""
    c = claims_block(data)
    if not c.get("no_double_counting", True):
        return (f"In this run what buyers may claim ({c.get('claims_t', 0.0):,.0f} t-CO2e) falls "
                f"{-c.get('claims_margin_t', 0.0):,.0f} t-CO2e below the organization's actual emissions "
                f"({c.get('actual_emissions_t', 0.0):,.0f} t-CO2e): that much would be counted twice.")
    return (f"What buyers may claim across the organization is never below its actual emissions: in this run "
            f"{c.get('claims_t', 0.0):,.0f} t-CO2e of claims against {c.get('actual_emissions_t', 0.0):,.0f} t-CO2e "
            f"of actual emissions; {c.get('reps_not_allocated_t', 0.0):,.0f} t-CO2e of REPs are not allocated "
            "(they remain in the account), so nothing is counted twice.")


def reps_not_allocated(data: ReportData) -> float:
    """REPs of usable pools (eligible, calculation period ended by as_of) left in the account after the run:
    the sum of their ``remaining_t`` (pools.csv)."""
    p = data.tables["pools"]
    if not len(p):
        return 0.0
    usable = p["eligible"].map(bool) & p.apply(lambda r: _ended(data, r), axis=1).astype(bool)
    return float(p.loc[usable, "remaining_t"].sum())


def _period_span(products: pd.DataFrame) -> str:
    if products.empty:
        return "none"
    return f"{products['cfp_period_start'].min():%Y-%m-%d} to {products['cfp_period_end'].max():%Y-%m-%d}"


def non_gx_notice(data: ReportData, cfps: pd.DataFrame) -> list[dict[str, Any]]:
    """7.3.3: every product whose General CFP already reflects REPs (rep_term > 0): the correction value and the
    non-GX CFP that steel of it without REPs carries (General CFP + correction)."""
    rows = cfps[cfps["correction_7_3_3"] > 0]
    return [{"product_id": r.product_id, "general_cfp": r.general_cfp, "correction": r.correction_7_3_3,
             "non_gx_cfp": r.non_gx_cfp} for r in rows.itertuples()]


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe list of row dicts."""
    return [{k: clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
