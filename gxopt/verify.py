"""Independent re-check of a solved allocation from the result tables and the raw inputs alone.

Nothing here uses the LP or :mod:`gxopt.eligibility`: caps, residual CFPs and eligibility windows are
recomputed the plain way, row by row where that is clearest, so a bug in the fast path shows up as a
violation. Returns a list of violations (empty = every constraint holds).
"""

from __future__ import annotations

import pandas as pd

from gxopt.graph import build_graph, evidence_is_valid, split_route
from gxopt.results import Results
from gxopt.scenario import Scenario

ABS_TOL = 1e-6
REL_TOL = 1e-7


def _tol(x: float) -> float:
    return ABS_TOL + REL_TOL * abs(x)


def verify(s: Scenario, res: Results, stage_values: dict[str, float] | None = None) -> list[str]:
    """Every constraint of ch. 6-8 re-checked on the results; returns human-readable violations."""
    v: list[str] = []
    al, orders, pools = res.allocations, res.orders.set_index("order_id"), res.pools.set_index("pool_id")
    prod = s.model.products.set_index("product_id")
    proj = s.projects.set_index("project_id")
    pg = build_graph(s.model.nodes, s.model.edges)
    settings = s.settings
    as_of = pd.Timestamp(settings.as_of)
    op_start = pd.Timestamp(settings.operational_period.start)
    op_end = pd.Timestamp(settings.operational_period.end)

    # per-line rules: eligibility, physical connection, gas, windows
    for r in al.itertuples():
        o = orders.loc[r.order_id]
        p = pools.loc[r.pool_id]
        where = f"allocation {r.order_id} <- {r.pool_id}"
        if r.reps_t < -ABS_TOL:
            v.append(f"{where}: negative REPs {r.reps_t}")
        if not p["eligible"]:
            v.append(f"{where}: pool is not eligible ({p['reason']})")
        if p["period_end"] > as_of:
            v.append(f"{where}: calculation period not ended by as_of")
        if not evidence_is_valid(pg, r.evidence, proj.at[r.project_id, "node"], split_route(prod.at[o["product_id"],
                                                                                                   "route"])):
            v.append(f"{where}: evidence path '{r.evidence}' does not prove a physical connection (6.7)")
        if isinstance(o["gas"], str) and o["gas"] != p["gas"]:
            v.append(f"{where}: gas {p['gas']} but the order asks for {o['gas']} (7.3.1)")
        if o["method"] == "mass_balance":
            if o["delivery_date"] > p["expires"] or as_of > p["expires"]:
                v.append(f"{where}: pool expired {p['expires'].date()} (7.2.2)")
        else:
            if prod.at[o["product_id"], "cfp_basis"] != "post_project":
                v.append(f"{where}: allocation on a pre-project CFP (8.2.2)")
            if p["period_start"] < prod.at[o["product_id"], "cfp_period_start"] or \
                    p["period_end"] > prod.at[o["product_id"], "cfp_period_end"]:
                v.append(f"{where}: pool period outside the product's CFP data period (8.2.2)")
            if not op_start <= o["delivery_date"] <= op_end:
                v.append(f"{where}: delivery outside the operational period (8.2.3)")
        if r.certifiable and not (bool(proj.at[r.project_id, "verified"])):
            v.append(f"{where}: marked certifiable but the project is not verified (6.8)")

    # account: no pool overdrawn, ever (7.2.1, 7.3.1, 8.2.1)
    drawn = al.groupby("pool_id")["reps_t"].sum()
    for pid, p in pools.iterrows():
        total = p["used_before_t"] + drawn.get(pid, 0.0)
        if total > p["reps_t"] + _tol(p["reps_t"]):
            v.append(f"pool {pid}: {total:.6f} t-CO2e used of {p['reps_t']:.6f} (7.3.1: account exceeded)")
        if abs(p["remaining_t"] - (p["reps_t"] - total)) > _tol(p["reps_t"]):
            v.append(f"pool {pid}: remaining_t does not reconcile")

    # residual CFP term per product, recomputed: sum over usable pools of connected eligible projects
    conn = res.connections
    production = prod["production_t"]
    term = {k: 0.0 for k in prod.index}
    added = {}
    for pid, p in pools.iterrows():
        if not p["eligible"]:
            continue
        linked = conn.loc[conn["project_id"] == p["project_id"], "product_id"].tolist()
        denom = sum(production[k] for k in linked)
        added[pid] = 0.0
        for k in linked:
            inside = prod.at[k, "cfp_period_start"] <= p["period_start"] and p["period_end"] <= prod.at[
                k, "cfp_period_end"]
            if inside and prod.at[k, "cfp_basis"] == "post_project":
                term[k] += p["reps_t"] / denom
                added[pid] += p["reps_t"] * production[k] / denom

    # per-order caps, alpha, the three CFPs (7.3.2, 8.1.1, 8.3.2)
    by_order = al.groupby("order_id")["reps_t"].sum()
    for oid, o in orders.iterrows():
        k = o["product_id"]
        got = by_order.get(oid, 0.0)
        s12 = prod.at[k, "scope1"] + prod.at[k, "scope2"]
        if o["method"] == "mass_balance":
            full = s12
            amax = 1.0
        else:
            full = s12 + prod.at[k, "scope3_allocable"] + term[k]
            amax = 1.0 if pd.isna(o["alpha_max"]) else o["alpha_max"]
        cap = amax * o["tonnage_t"] * full
        if pd.notna(o["requested_reps_t"]):
            cap = min(cap, o["requested_reps_t"])
        if got > cap + _tol(cap):
            v.append(f"order {oid}: {got:.6f} t-CO2e exceeds its cap {cap:.6f} (7.3.2 / 8.3.2)")
        alpha = got / (o["tonnage_t"] * full) if full > 0 else 0.0
        if not -ABS_TOL <= alpha <= 1 + ABS_TOL:
            v.append(f"order {oid}: alpha {alpha} outside [0, 1] (8.1.1)")
        if abs(alpha - o["alpha"]) > 1e-6:
            v.append(f"order {oid}: reported alpha {o['alpha']} differs from {alpha}")
        if o["method"] == "allocation":
            residual = prod.at[k, "general_cfp"] + term[k]
            allocated = full * (1 - alpha) + prod.at[k, "scope3_upstream"] - prod.at[k, "scope3_allocable"]
            if abs(residual - o["residual_cfp"]) > 1e-6 or abs(allocated - o["allocated_cfp"]) > 1e-6:
                v.append(f"order {oid}: residual/allocated CFP do not follow 8.1.1 "
                         f"(expected {residual:.6f} / {allocated:.6f})")
            if allocated < prod.at[k, "scope3_upstream"] - prod.at[k, "scope3_allocable"] - ABS_TOL:
                v.append(f"order {oid}: allocated CFP below its non-allocable upstream part (8.1.1)")
        if abs(o["gx_tonnage_t"] - alpha * o["tonnage_t"]) > _tol(o["tonnage_t"]):
            v.append(f"order {oid}: gx_tonnage_t does not equal alpha x tonnage")

    # total emissions never fall (8.1, 8.3.1): per pool and organization-wide
    moved = al[al["method"] == "allocation"].groupby("pool_id")["reps_t"].sum()
    for pid, x in moved.items():
        limit = added.get(pid, 0.0) - pools.at[pid, "used_before_t"]
        if x > limit + _tol(limit):
            v.append(f"pool {pid}: GX Allocation moved {x:.6f} but only {max(limit, 0):.6f} was added to "
                     "residual CFPs (8.1: total emissions would fall)")
    before = float((production * prod["general_cfp"]).sum())
    after = float(sum(production[k] * (prod.at[k, "general_cfp"] + term[k]) for k in prod.index)) - float(moved.sum())
    if after < before - _tol(before):
        v.append(f"organization total after allocation {after:.3f} < actual {before:.3f} t-CO2e (8.1, 8.3.1)")

    # lexicographic objective: the first stage lost nothing
    if stage_values:
        value = float((orders["premium"] * orders["reps_t"]).sum())
        best = stage_values.get("value", 0.0)
        if value < best - _tol(best) * 10:
            v.append(f"objective value {value} below the first-stage optimum {best}")
    return v
