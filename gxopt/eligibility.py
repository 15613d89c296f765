"""Which pool may feed which order, and how much each order and product may take (ch. 7, 8).

Everything here is vectorized pandas: pools x connections x orders joined, then filtered by the rules.
The result is an :class:`Eligibility` of plain tables that the LP layer turns into variables and
constraints; nothing here knows about the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gxopt.graph import ProcessGraph, connections
from gxopt.scenario import Scenario


@dataclass(frozen=True)
class Eligibility:
    """Inputs of the LP.

    Attributes
    ----------
    pools : pool table of :func:`gxopt.reps.compute_pools` plus ``alloc_limit_t`` (8.1, 8.3.1).
    products : per product: ``rep_term`` (REPs / production, 8.3.2), ``residual_cfp``,
        ``subject_cfp`` (the part GX Allocation may move), ``mb_cap_cfp`` (scope 1+2, 7.3.2),
        ``non_allocable`` (upstream scope 3 that stays, 8.1.2), ``mb_correction`` (7.3.3).
    orders : per order: ``cap_per_t``, ``cap_t`` (largest REPs the order may take), ``reason`` when the
        order cannot be served at all.
    arcs : one row per eligible (pool, order) pair: ``pool_id, order_id, method, premium, evidence,
        same_site, expiry_days, order_rank``.
    connections : every physically connected (project, product) pair with its evidence path.
    """

    pools: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    arcs: pd.DataFrame
    connections: pd.DataFrame


def product_cfps(s: Scenario, pools: pd.DataFrame, conn: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Residual and capped CFP parts per product, and the allocation limit per pool.

    Residual CFP (8.1.1, 8.3.2) of a post-project product k::

        residual_k = general_k + sum_{p: project j(p) connected to k, period(p) inside CFP period(k)}
                                     reps_p / production_of_products_connected_to_j

    A pre-project product's General CFP does not yet contain the project's effect, so its residual
    equals its General CFP. The allocation limit of a pool is the part of its REPs that was added to
    residual CFPs: GX Allocation may move no more than that, so total emissions never fall (8.1, 8.3.1).
    """
    prod = s.model.products.set_index("product_id")
    usable = pools[pools["eligible"]]
    links = conn.merge(usable[["pool_id", "project_id", "period_start", "period_end", "reps_t"]], on="project_id")
    denom = conn.assign(production_t=conn["product_id"].map(prod["production_t"])).groupby("project_id")[
        "production_t"].sum()
    links["production_j"] = links["project_id"].map(denom)
    links["production_k"] = links["product_id"].map(prod["production_t"])
    inside = (links["period_start"] >= links["product_id"].map(prod["cfp_period_start"])) & (
        links["period_end"] <= links["product_id"].map(prod["cfp_period_end"]))
    post = links["product_id"].map(prod["cfp_basis"]) == "post_project"
    counted = links[inside & post]
    term = (counted["reps_t"] / counted["production_j"]).groupby(counted["product_id"]).sum()
    added = (counted["reps_t"] * counted["production_k"] / counted["production_j"]).groupby(counted["pool_id"]).sum()

    out = pd.DataFrame(index=prod.index)
    out["site"] = prod["site"]
    out["production_t"] = prod["production_t"]
    out["cfp_basis"] = prod["cfp_basis"]
    out["general_cfp"] = prod["general_cfp"]
    out["rep_term"] = term.reindex(prod.index).astype("float64").fillna(0.0)  # no connected REPs: no term
    out["residual_cfp"] = out["general_cfp"] + out["rep_term"]
    out["mb_cap_cfp"] = prod["scope1"] + prod["scope2"]
    out["non_allocable"] = prod["scope3_upstream"] - prod["scope3_allocable"]
    out["subject_cfp"] = prod["scope1"] + prod["scope2"] + prod["scope3_allocable"] + out["rep_term"]
    # 7.3.3: a post-project CFP already contains the projects' effect; a non-GX product of that CFP
    # carries the correction (REPs per t) when customers apply it, so nothing is counted twice.
    out["mb_correction"] = np.where(out["cfp_basis"] == "post_project", out["rep_term"], 0.0)
    return out.reset_index(), added


def eligibility(s: Scenario, pg: ProcessGraph, pools: pd.DataFrame) -> Eligibility:
    """Build the eligible arcs, the per-order caps and the per-pool allocation limits."""
    conn = connections(pg, s.projects, s.model.products)
    products, added = product_cfps(s, pools, conn)
    pools = pools.copy()
    added_t = pools["pool_id"].map(added).astype("float64").fillna(0.0)  # pools added to no residual CFP
    pools["alloc_limit_t"] = np.maximum(added_t - pools["used_t"], 0.0)

    prod = products.set_index("product_id")
    o = s.orders.drop(columns="src_line")
    settings = s.settings
    op_start, op_end = pd.Timestamp(settings.operational_period.start), pd.Timestamp(settings.operational_period.end)
    as_of = pd.Timestamp(settings.as_of)
    alloc = o["method"] == "allocation"
    alpha = o["alpha_max"].where(o["alpha_max"].notna(), 1.0)
    cap_per_t = np.where(alloc, alpha * o["product_id"].map(prod["subject_cfp"]),
                         o["product_id"].map(prod["mb_cap_cfp"]))
    cap = o["tonnage_t"] * cap_per_t
    cap = np.fmin(cap, o["requested_reps_t"].to_numpy(float))  # an empty request caps nothing
    orders = o.assign(alpha_max=alpha.where(alloc), cap_per_t=cap_per_t, cap_t=cap)

    reason = pd.Series("", index=o.index, dtype=object)
    basis = o["product_id"].map(prod["cfp_basis"])
    reason[alloc & (basis != "post_project")] = (
        "GX Allocation needs a CFP calculated from data after the project started (ch. 4, 8.2.2); "
        "this product's CFP is pre_project")
    outside = alloc & ((o["delivery_date"] < op_start) | (o["delivery_date"] > op_end))
    reason[(reason == "") & outside] = "delivery outside the operational period of the allocated CFP (8.2.3)"
    reason[(reason == "") & alloc & (as_of > op_end)] = "operational period over as of the run date (8.2.3)"

    # candidate arcs, stage by stage, so an order without any can say which rule removed the last one
    ok_pools = pools[pools["eligible"] & pools["ended"] & (pools["available_t"] > 0)]
    cand = (ok_pools[["pool_id", "project_id", "site", "gas", "period_start", "period_end", "mb_expires",
                      "available_t"]]
            .merge(conn, on="project_id")
            .merge(orders[["order_id", "product_id", "method", "gas", "delivery_date", "premium"]]
                   [reason == ""], on="product_id", suffixes=("", "_order")))
    stages = []
    stages.append(("no usable pool of an eligible, verified project is physically connected to the product "
                   "(6.7, 7.2.3)", cand))
    cand = cand[cand["gas_order"].isna() | (cand["gas_order"] == cand["gas"])]
    stages.append(("no connected pool has the gas type the order asks for (7.3.1)", cand))
    is_mb = cand["method"] == "mass_balance"
    mb_ok = (cand["delivery_date"] <= cand["mb_expires"]) & (as_of <= cand["mb_expires"])
    raw_prod = s.model.products.set_index("product_id")
    pstart = cand["product_id"].map(raw_prod["cfp_period_start"])
    pend = cand["product_id"].map(raw_prod["cfp_period_end"])
    al_ok = (cand["period_start"] >= pstart) & (cand["period_end"] <= pend)
    cand = cand[(is_mb & mb_ok) | (~is_mb & al_ok)]
    stages.append(("every connected pool has expired (7.2.2) or lies outside the product's CFP data period "
                   "(8.2.2)", cand))
    for text, frame in stages:
        has = orders["order_id"].isin(frame["order_id"])
        reason[(reason == "") & ~has] = text
    reason[(reason == "") & (orders["cap_t"] <= 0)] = "the order's cap is zero (alpha_max, requested_reps_t or CFP)"
    orders["reason"] = reason

    product_site = cand["product_id"].map(prod["site"])
    rank = orders.sort_values(["delivery_date", "order_id"])["order_id"]
    rank = pd.Series(np.arange(len(rank)), index=rank.to_numpy())
    arcs = pd.DataFrame({
        "pool_id": cand["pool_id"].to_numpy(),
        "order_id": cand["order_id"].to_numpy(),
        "project_id": cand["project_id"].to_numpy(),
        "product_id": cand["product_id"].to_numpy(),
        "method": cand["method"].to_numpy(),
        "premium": cand["premium"].to_numpy(),
        "evidence": cand["evidence"].to_numpy(),
        "same_site": (cand["site"] == product_site).to_numpy(),
        "expiry_days": (cand["mb_expires"] - as_of).dt.days.to_numpy(),
        "order_rank": cand["order_id"].map(rank).to_numpy(),
    })
    arcs = arcs[arcs["order_id"].isin(orders.loc[orders["reason"] == "", "order_id"])]
    arcs = arcs.sort_values(["order_id", "pool_id"], ignore_index=True)
    orders = orders.sort_values("order_id", ignore_index=True)
    return Eligibility(pools, products, orders, arcs, conn)
