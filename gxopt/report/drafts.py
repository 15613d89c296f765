"""Draft certificates: one per served order of a result folder, with the run's numbers (never issued)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from gxopt.report.certificate import Certificate, Line
from gxopt.report.facts import gases_included, product_facts_once, project_facts
from gxopt.report.fmt import missing, opt_float
from gxopt.scenario import Scenario


def draft_certificates(s: Scenario, tables: dict[str, pd.DataFrame], summary: dict[str, Any],
                       notes: list[str]) -> list[Certificate]:
    """One draft certificate per served order of the result folder (never issued)."""
    orders = tables["orders"]
    al = tables["allocations"]
    projects = project_facts(s)
    served = orders[orders["reps_t"] > 0].sort_values("order_id")
    what_if = what_if_reason(summary)
    if what_if:
        notes.append(f"{what_if}: none of these drafts can ever be issued")
    out = []
    facts_of = product_facts_once(s, tables)
    for o in served.itertuples():
        facts = facts_of(o.product_id)
        rows = al[al["order_id"] == o.order_id].sort_values("pool_id")
        lines = []
        for i, r in enumerate(rows.itertuples(), start=1):
            pf = projects.get(r.project_id, {})
            lines.append(Line(i, r.pool_id, r.project_id, pf.get("name", ""), pf.get("technology", ""),
                              pf.get("additionality", ""), pf.get("node", ""), pf.get("site", ""),
                              r.period_start.strftime("%Y-%m-%d"), r.period_end.strftime("%Y-%m-%d"), r.gas,
                              float(r.reps_t), r.evidence, bool(r.same_site) if r.same_site is not None else None,
                              pf.get("verifier", ""), pf.get("statement_id", ""),
                              gases=gases_included(r.gas, r.gases),
                              product_site=facts.get("crude_steel_site", ""),
                              raises_scrap_use=bool(pf.get("raises_scrap_use"))))
        verified = bool(o.certifiable)  # every line from a third-party verified pool
        reason = what_if or ("" if verified else "some REPs come from pools that are not third-party verified (6.8)")
        out.append(Certificate(
            certificate_id=f"DRAFT-{o.order_id}", status="draft", method=o.method, order_id=o.order_id,
            customer=o.customer, product_id=o.product_id, tonnage_t=float(o.tonnage_t), reps_t=float(o.reps_t),
            general_cfp=float(o.general_cfp), residual_cfp=opt_float(o.residual_cfp),
            allocated_cfp=opt_float(o.allocated_cfp), alpha=float(o.alpha), gx_tonnage_t=float(o.gx_tonnage_t),
            lines=lines, product=facts,
            delivery_date=o.delivery_date.strftime("%Y-%m-%d") if not missing(o.delivery_date) else "",
            verified=verified, certifiable=not reason, not_certifiable_reason=reason, basis_cfp=opt_float(o.basis_cfp),
            stated_claimed_cfp=opt_float(o.claimed_cfp)))
    return out


def what_if_reason(summary: dict[str, Any]) -> str:
    """Why the run of ``summary`` is a what-if, whose drafts are never certifiable ("" for a plan that may be
    issued): unverified REPs allowed (``what_if``, 6.8) or inputs patched (``patch``, a hypothetical)."""
    why = []
    if summary.get("what_if"):
        why.append("unverified REPs may feed orders (allow_unverified: true, 6.8)")
    patch = summary.get("patch")
    if patch:
        what = patch.get("patch") if isinstance(patch, dict) else None
        why.append(f"its inputs are the base patched by {what}" if what else "its inputs are patched")
    return "what-if run: " + "; ".join(why) if why else ""
