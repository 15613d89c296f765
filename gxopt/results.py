"""Result tables from a solved allocation: allocations, orders, pools, products, projects (pandas only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gxopt.eligibility import Eligibility
from gxopt.lp.network import Built
from gxopt.lp.result import SolveResult
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


def order_cfps(products: pd.DataFrame, pcode: np.ndarray, alloc: np.ndarray, reps: np.ndarray,
               tonnage: np.ndarray) -> dict[str, np.ndarray]:
    """alpha, gx_tonnage_t and the CFPs of orders that received ``reps`` (7.3, 8.1.1, 8.1.2, 8.3.3).

    ``products`` is the product table of the eligibility step indexed by product_id; ``pcode`` the row of
    each order's product. Both methods share one basis (General CFP + the REPs reflected in it per tonne):

    - mass balance: the certificate states the General CFP, the correction ``rep_term`` and the REPs per
      tonne; the buyer may claim ``basis - reps_per_t`` (7.3.3, Figure 1);
    - GX Allocation: Allocated CFP = subject part x (1 - alpha) + non-allocable upstream scope 3 (8.1.1),
      which is the same ``basis - reps_per_t``; Residual CFP = basis (8.3.3).

    Residual and Allocated CFP are NaN for mass-balance orders.
    """
    def prod(col: str) -> np.ndarray:
        return products[col].to_numpy(float)[pcode]

    full_per_t = np.where(alloc, prod("subject_cfp"), prod("mb_cap_cfp"))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(full_per_t > 0, reps / (tonnage * full_per_t), 0.0)
    basis = prod("residual_cfp")
    allocated = prod("subject_cfp") * (1 - alpha) + prod("non_allocable")
    return {"alpha": alpha, "general_cfp": prod("general_cfp"), "rep_term": prod("rep_term"), "basis_cfp": basis,
            "residual_cfp": np.where(alloc, basis, np.nan),
            "allocated_cfp": np.where(alloc, allocated, np.nan),
            "claimed_cfp": np.where(alloc, allocated, basis - reps / tonnage),
            "gx_tonnage_t": alpha * tonnage}


def extract(s: Scenario, elig: Eligibility, built: Built, sol: SolveResult) -> Results:
    """Turn the LP's arc flows and order columns into per-order results; alpha and the three CFPs (8.1.1, 8.3.3)."""
    pools = elig.pools.set_index("pool_id")
    products = elig.products.set_index("product_id")
    lines = split(elig, sol.values["reps"], built.order_pos, sol.values["served"])
    op = lines["order_pos"].to_numpy()
    ords = elig.orders
    product = ords["product_id"].to_numpy()[op]
    pool_pos = pools.index.get_indexer(lines["pool_id"])
    project = pools["project_id"].to_numpy()[pool_pos]
    evidence = elig.connections.set_index(["project_id", "product_id"])["evidence"]
    pair = pd.MultiIndex.from_arrays([project, product])
    allocations = pd.DataFrame({
        "order_id": ords["order_id"].to_numpy()[op], "product_id": product, "method": ords["method"].to_numpy()[op],
        "project_id": project, "pool_id": lines["pool_id"].to_numpy(),
        "period_start": pools["period_start"].to_numpy()[pool_pos],
        "period_end": pools["period_end"].to_numpy()[pool_pos],
        "gas": pools["gas"].to_numpy()[pool_pos],
        "gases": pools["gases"].to_numpy()[pool_pos],
        "reps_t": lines["reps_t"].to_numpy(),
        "same_site": pools["site"].to_numpy()[pool_pos] == products["crude_steel_site"].reindex(product).to_numpy(),
        "certifiable": pools["certifiable"].to_numpy(bool)[pool_pos],
        "evidence": evidence.to_numpy()[evidence.index.get_indexer(pair)],
    })  # lines come sorted by order (orders are sorted by id) and pool

    o = elig.orders.copy()
    n = len(o)
    o["reps_t"] = np.bincount(op, weights=lines["reps_t"].to_numpy(), minlength=n)
    pc = products.index.get_indexer(o["product_id"])
    reps = o["reps_t"].to_numpy()
    tonnage = o["tonnage_t"].to_numpy(float)
    for col, values in order_cfps(products, pc, (o["method"] == "allocation").to_numpy(bool), reps, tonnage).items():
        o[col] = values
    o["reps_per_t"] = reps / tonnage
    o["value"] = reps * o["premium"].to_numpy(float)
    not_cert = np.bincount(op, weights=~allocations["certifiable"].to_numpy(bool), minlength=n) > 0
    o["certifiable"] = ~not_cert & (reps > 0)
    cap = o["cap_t"].to_numpy(float)
    status = np.select([o["reason"].to_numpy() != "", reps >= cap - FILL_TOL * np.maximum(1.0, cap), reps > 0],
                       ["ineligible", "filled", "partial"], "unfilled")
    o["status"] = status
    # buyer protection: an Allocated CFP above the General CFP is a worse number than the plain CFP
    o["allocated_above_general"] = ((o["allocated_cfp"] > o["general_cfp"] + 1e-9) & (o["reps_t"] > 0)).to_numpy(bool)
    reason = np.asarray(o["reason"], dtype=object).copy()
    reason[status == "unfilled"] = "no REPs left at equal or better value for this order"
    o["reason"] = reason
    orders = o[["order_id", "customer", "product_id", "method", "tonnage_t", "delivery_date", "premium", "gas",
                "alpha_max", "requested_reps_t", "cap_per_t", "cap_t", "reps_t", "reps_per_t", "alpha",
                "general_cfp", "rep_term", "basis_cfp", "residual_cfp", "allocated_cfp", "claimed_cfp", "gx_tonnage_t",
                "allocated_above_general", "value", "status", "certifiable", "reason"]]

    p = elig.pools.copy()  # same row order as ``pools`` above, so pool_pos indexes it
    line_reps = lines["reps_t"].to_numpy()
    line_alloc = allocations["method"].to_numpy() == "allocation"
    p = p.rename(columns={"used_t": "used_before_t", "mb_expires": "expires"})
    p["used_run_t"] = np.bincount(pool_pos, weights=line_reps, minlength=len(p))
    p["used_mass_balance_t"] = np.bincount(pool_pos, weights=line_reps * ~line_alloc, minlength=len(p))
    p["used_allocation_t"] = np.bincount(pool_pos, weights=line_reps * line_alloc, minlength=len(p))
    p["used_t"] = p["used_before_t"] + p["used_run_t"]
    p["remaining_t"] = p["reps_t"] - p["used_t"]
    p["shadow_price"] = p["pool_id"].map(sol.pool_duals).fillna(0.0)
    pools_out = p[["pool_id", "project_id", "node", "site", "gas", "gases", "period_start", "period_end", "group", "share",
                   "gross_t", "period_reps_t", "netted_t", "reps_t", "in_cfps_t", "used_before_t", "used_run_t", "used_mass_balance_t", "used_allocation_t",
                   "used_t", "remaining_t", "available_t", "alloc_limit_t", "expires", "ended", "eligible",
                   "certifiable", "shadow_price", "netting", "reason"]]

    raw = s.model.products.set_index("product_id")
    pr = elig.products.copy()
    for col in ("route", "scope1", "scope2", "scope3_upstream", "scope3_allocable", "scrap_share",
                "cfp_period_start", "cfp_period_end", "data_age_justification"):
        pr[col] = pr["product_id"].map(raw[col])
    line_prod = pc[op]  # product row of each line
    pr["allocated_reps_t"] = np.bincount(line_prod, weights=line_reps * line_alloc, minlength=len(pr))
    pr["mb_reps_t"] = np.bincount(line_prod, weights=line_reps * ~line_alloc, minlength=len(pr))
    pr["emissions_general_t"] = pr["production_t"] * pr["general_cfp"]
    pr["emissions_residual_t"] = pr["production_t"] * pr["residual_cfp"]
    pr["emissions_after_allocation_t"] = pr["emissions_residual_t"] - pr["allocated_reps_t"]
    ton = o["tonnage_t"].to_numpy(float)
    pr["gx_order_t"] = np.bincount(pc, weights=ton * (reps > 0), minlength=len(pr))
    pr["claims_gx_t"] = np.bincount(pc, weights=ton * o["claimed_cfp"].to_numpy(float) * (reps > 0), minlength=len(pr))
    pr["claims_t"] = pr["claims_gx_t"] + pr["non_gx_cfp"] * (pr["production_t"] - pr["gx_order_t"])
    st = project_status(s)
    proj = s.projects.drop(columns="src_line").merge(st[["project_id", "site", "eligible", "certifiable", "reason"]],
                                                  on="project_id")
    proj["reps_t"] = proj["project_id"].map(p.groupby("project_id")["reps_t"].sum()).fillna(0.0)
    proj["used_run_t"] = proj["project_id"].map(p.groupby("project_id")["used_run_t"].sum()).fillna(0.0)
    return Results(allocations, orders, pools_out, pr, proj.sort_values("project_id", ignore_index=True),
                   elig.connections)


def claims_balance(products: pd.DataFrame, pools: pd.DataFrame) -> dict[str, float]:
    """What buyers may claim against the organization's actual emissions, across both methods (8.1, 7.3.3).

    ``claims = sum_k [ sum_{GX orders o of k} claimed_cfp_o * T_o + non_gx_cfp_k * (P_k - sum_o T_o) ]
    - REPs claimed under earlier certificates`` (on those pools); ``actual = sum_k P_k * general_k - the verified REPs (eligible,
    ended pools) that no CFP contains``. docs/formulation.md proves ``claims - actual`` is what those pools
    still hold (plus the reflected part of pools not yet ended), which the pool accounts keep at or above zero.
    """
    usable = pools[pools["eligible"] & pools["ended"]]
    general = float(products["emissions_general_t"].sum())
    not_in = float((usable["reps_t"] - usable["in_cfps_t"]).sum())
    before = float(usable["used_before_t"].sum())  # earlier certificates on the pools compared here
    claims = float(products["claims_t"].sum()) - before
    actual = general - not_in
    return {"emissions_general_t": general, "reps_in_cfps_t": float(pools.loc[pools["eligible"], "in_cfps_t"].sum()),
            "emissions_basis_t": float(products["emissions_residual_t"].sum()),
            "reps_claimed_run_t": float(pools["used_run_t"].sum()), "reps_claimed_before_t": before,
            "claims_t": claims, "reps_not_in_cfps_t": not_in, "actual_emissions_t": actual,
            "claims_margin_t": claims - actual}


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
        "claims": claims_balance(pr, p),
        "by_method": by_method,
    }
