"""Result tables from a solved allocation: allocations, orders, pools, products, projects (pandas only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gxopt.eligibility import Eligibility
from gxopt.lp.solve import SolveResult
from gxopt.reps import project_status
from gxopt.scenario import Scenario
from gxopt.split import split

FILL_TOL = 1e-6


@dataclass(frozen=True)
class Results:
    """All result tables of one run, keyed by the file name they are written to."""

    allocations: pd.DataFrame
    orders: pd.DataFrame
    pools: pd.DataFrame
    products: pd.DataFrame
    projects: pd.DataFrame
    connections: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables as ``{file stem: frame}``."""
        return {"allocations": self.allocations, "orders": self.orders, "pools": self.pools,
                "products": self.products, "projects": self.projects, "connections": self.connections}


def extract(s: Scenario, elig: Eligibility, sol: SolveResult) -> Results:
    """Turn the LP's class flows into per-order results; derives alpha and the three CFPs (8.1.1, 8.3.3)."""
    pools = elig.pools.set_index("pool_id")
    products = elig.products.set_index("product_id")
    lines = split(elig, sol.reps)
    ords = elig.orders.set_index("order_id")
    product = lines["order_id"].map(ords["product_id"])
    project = lines["pool_id"].map(pools["project_id"])
    evidence = elig.connections.set_index(["project_id", "product_id"])["evidence"]
    allocations = pd.DataFrame({
        "order_id": lines["order_id"], "product_id": product, "method": lines["order_id"].map(ords["method"]),
        "project_id": project, "pool_id": lines["pool_id"],
        "period_start": lines["pool_id"].map(pools["period_start"]),
        "period_end": lines["pool_id"].map(pools["period_end"]),
        "gas": lines["pool_id"].map(pools["gas"]),
        "reps_t": lines["reps_t"],
        "same_site": (lines["pool_id"].map(pools["site"]) == product.map(products["site"])).astype(bool),
        "certifiable": lines["pool_id"].map(pools["certifiable"]).astype(bool),
        "evidence": evidence.reindex(pd.MultiIndex.from_arrays([project, product])).to_numpy(),
    }).sort_values(["order_id", "pool_id"], ignore_index=True)

    o = elig.orders.copy()
    drawn = allocations.groupby("order_id")["reps_t"].sum()
    o["reps_t"] = o["order_id"].map(drawn).fillna(0.0)
    alloc = o["method"] == "allocation"
    prod = o["product_id"].map
    full_per_t = np.where(alloc, prod(products["subject_cfp"]), prod(products["mb_cap_cfp"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(full_per_t > 0, o["reps_t"] / (o["tonnage_t"] * full_per_t), 0.0)
    o["alpha"] = alpha
    o["general_cfp"] = prod(products["general_cfp"])
    o["residual_cfp"] = prod(products["residual_cfp"]).where(alloc)
    o["allocated_cfp"] = (prod(products["subject_cfp"]) * (1 - o["alpha"]) + prod(products["non_allocable"])
                          ).where(alloc)
    o["reps_per_t"] = o["reps_t"] / o["tonnage_t"]
    o["gx_tonnage_t"] = o["alpha"] * o["tonnage_t"]
    o["value"] = o["reps_t"] * o["premium"]
    cert = allocations.groupby("order_id")["certifiable"].all()
    o["certifiable"] = o["order_id"].isin(cert.index[cert.astype(bool)]) & (o["reps_t"] > 0)
    status = np.select(
        [o["reason"] != "", o["reps_t"] >= o["cap_t"] - FILL_TOL * np.maximum(1.0, o["cap_t"]), o["reps_t"] > 0],
        ["ineligible", "filled", "partial"], "unfilled")
    o["status"] = status
    o.loc[(o["status"] == "unfilled"), "reason"] = "no REPs left at equal or better value for this order"
    orders = o[["order_id", "customer", "product_id", "method", "tonnage_t", "delivery_date", "premium", "gas",
                "alpha_max", "requested_reps_t", "cap_per_t", "cap_t", "reps_t", "reps_per_t", "alpha",
                "general_cfp", "residual_cfp", "allocated_cfp", "gx_tonnage_t", "value", "status", "certifiable",
                "reason"]]

    p = elig.pools.copy()
    run_use = allocations.groupby("pool_id")["reps_t"].sum()
    by_method = allocations.pivot_table(index="pool_id", columns="method", values="reps_t", aggfunc="sum")
    p = p.rename(columns={"used_t": "used_before_t", "mb_expires": "expires"})
    p["used_run_t"] = p["pool_id"].map(run_use).fillna(0.0)
    p["used_mass_balance_t"] = p["pool_id"].map(by_method.get("mass_balance", pd.Series(dtype=float))).fillna(0.0)
    p["used_allocation_t"] = p["pool_id"].map(by_method.get("allocation", pd.Series(dtype=float))).fillna(0.0)
    p["used_t"] = p["used_before_t"] + p["used_run_t"]
    p["remaining_t"] = p["reps_t"] - p["used_t"]
    p["shadow_price"] = p["pool_id"].map(sol.pool_duals).fillna(0.0)
    pools_out = p[["pool_id", "project_id", "node", "site", "gas", "period_start", "period_end", "group", "share",
                   "gross_t", "reps_t", "used_before_t", "used_run_t", "used_mass_balance_t", "used_allocation_t",
                   "used_t", "remaining_t", "available_t", "alloc_limit_t", "expires", "ended", "eligible",
                   "certifiable", "shadow_price", "reason"]]

    raw = s.model.products.set_index("product_id")
    pr = elig.products.copy()
    for col in ("route", "scope1", "scope2", "scope3_upstream", "scope3_allocable", "scrap_share",
                "cfp_period_start", "cfp_period_end"):
        pr[col] = pr["product_id"].map(raw[col])
    a_alloc = allocations[allocations["method"] == "allocation"].groupby("product_id")["reps_t"].sum()
    a_mb = allocations[allocations["method"] == "mass_balance"].groupby("product_id")["reps_t"].sum()
    pr["allocated_reps_t"] = pr["product_id"].map(a_alloc).fillna(0.0)
    pr["mb_reps_t"] = pr["product_id"].map(a_mb).fillna(0.0)
    pr["emissions_general_t"] = pr["production_t"] * pr["general_cfp"]
    pr["emissions_residual_t"] = pr["production_t"] * pr["residual_cfp"]
    pr["emissions_after_allocation_t"] = pr["emissions_residual_t"] - pr["allocated_reps_t"]

    st = project_status(s)
    proj = s.projects.drop(columns="src_line").merge(st[["project_id", "site", "eligible", "certifiable", "reason"]],
                                                  on="project_id")
    proj["reps_t"] = proj["project_id"].map(p.groupby("project_id")["reps_t"].sum()).fillna(0.0)
    proj["used_run_t"] = proj["project_id"].map(p.groupby("project_id")["used_run_t"].sum()).fillna(0.0)
    return Results(allocations, orders, pools_out, pr, proj.sort_values("project_id", ignore_index=True),
                   elig.connections)


def summary(s: Scenario, res: Results, sol: SolveResult) -> dict[str, object]:
    """Totals and solver facts of a run (written to ``summary.json``)."""
    o, p, pr = res.orders, res.pools, res.products
    by_method = {
        m: {"orders": int((o["method"] == m).sum()), "served": int(((o["method"] == m) & (o["reps_t"] > 0)).sum()),
            "reps_t": float(o.loc[o["method"] == m, "reps_t"].sum()),
            "gx_tonnage_t": float(o.loc[o["method"] == m, "gx_tonnage_t"].sum()),
            "value": float(o.loc[o["method"] == m, "value"].sum())}
        for m in ("mass_balance", "allocation")}
    usable = p[p["eligible"] & p["ended"]]
    return {
        "scenario": s.name,
        "organization": s.model.meta.organization,
        "model": {"organization": s.model.meta.organization, "country": s.model.meta.country,
                  "description": s.model.meta.description},
        "settings": s.settings.model_dump(mode="json"),
        "as_of": str(s.settings.as_of),
        "what_if": bool(s.settings.allow_unverified),
        "solver": {"status": sol.status, "name": sol.solver, "stage_objectives": sol.stage_values,
                   "stage_seconds": sol.seconds},
        "objective_value": sol.stage_values.get("value", 0.0),
        "totals": {
            "pools": int(len(p)), "usable_pools": int(len(usable)),
            "reps_t": float(p["reps_t"].sum()), "usable_available_t": float(usable["available_t"].sum()),
            "used_run_t": float(p["used_run_t"].sum()), "orders": int(len(o)),
            "orders_by_status": {k: int(v) for k, v in o["status"].value_counts().sort_index().items()},
            "value": float(o["value"].sum()),
            "emissions_general_t": float(pr["emissions_general_t"].sum()),
            "emissions_after_allocation_t": float(pr["emissions_after_allocation_t"].sum()),
        },
        "by_method": by_method,
    }
