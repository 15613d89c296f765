"""Independent re-check of a solved allocation from the result tables and the raw inputs alone.

Nothing here uses the LP, :mod:`gxopt.eligibility` or :mod:`gxopt.split`: caps, residual CFPs and the
eligibility windows are recomputed from the input tables with their own (vectorized) formulas, so a
bug in the fast path shows up as a violation. Returns a list of violations (empty = every constraint
holds); at most ``limit`` lines per rule are listed, with the count of the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxopt.graph import build_graph, evidence_is_valid, split_route
from gxopt.results import Results
from gxopt.scenario import Scenario

ABS_TOL = 1e-6
REL_TOL = 1e-7


def _tol(x: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | float:
    return ABS_TOL + REL_TOL * np.abs(x)


class _Report:
    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        self.limit = limit

    def add(self, mask: pd.Series | np.ndarray, ids: pd.Series, text: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if not n:
            return
        shown = list(pd.Series(ids)[mask].astype(str)[: self.limit])
        more = f" (and {n - len(shown)} more)" if n > len(shown) else ""
        self.lines.append(f"{text}: {', '.join(shown)}{more}")


def verify(s: Scenario, res: Results, stage_values: dict[str, float] | None = None, limit: int = 10) -> list[str]:
    """Every constraint of ch. 6-8 re-checked on the results; returns human-readable violations."""
    rep = _Report(limit)
    al, orders, pools = res.allocations, res.orders, res.pools
    prod = s.model.products.set_index("product_id")
    proj = s.projects.set_index("project_id")
    st = s.settings
    as_of = pd.Timestamp(st.as_of)
    op_start, op_end = pd.Timestamp(st.operational_period.start), pd.Timestamp(st.operational_period.end)
    expiry_years = st.mass_balance.expiry_years

    # --- per allocation line: eligibility, physical connection, gas, windows (from raw inputs)
    o_in = s.orders.set_index("order_id")
    line_order = o_in.iloc[o_in.index.get_indexer(al["order_id"])].reset_index()
    p_idx = pools.set_index("pool_id")
    per = p_idx.loc[al["pool_id"]].reset_index()
    ids = al["order_id"].astype(str) + " <- " + al["pool_id"].astype(str)
    rep.add(al["reps_t"] < -ABS_TOL, ids, "negative REPs on allocation lines")
    rep.add(~per["eligible"].to_numpy(bool), ids, "allocation from an ineligible pool (6.2.1, 6.3, 6.8)")
    rep.add(per["period_end"] > as_of, ids, "allocation from a pool whose period had not ended by as_of")
    gas = line_order["gas"]
    rep.add(gas.notna().to_numpy() & (gas.to_numpy() != per["gas"].to_numpy()), ids,
            "gas type differs from what the order asks for (7.3.1)")
    mb = (line_order["method"] == "mass_balance").to_numpy()
    expires = per["period_end"] + pd.DateOffset(years=expiry_years)
    rep.add(mb & ((line_order["delivery_date"] > expires) | (as_of > expires)).to_numpy(), ids,
            "mass balance from an expired pool (7.2.2)")
    lp = line_order["product_id"]
    rep.add(~mb & (lp.map(prod["cfp_basis"]) != "post_project").to_numpy(), ids,
            "GX Allocation on a pre-project CFP (ch. 4, 8.2.2)")
    rep.add(~mb & ((per["period_start"] < lp.map(prod["cfp_period_start"]).to_numpy()) |
                   (per["period_end"] > lp.map(prod["cfp_period_end"]).to_numpy())).to_numpy(), ids,
            "GX Allocation from a pool outside the product's CFP data period (8.2.2)")
    rep.add(~mb & ((line_order["delivery_date"] < op_start) | (line_order["delivery_date"] > op_end)).to_numpy(),
            ids, "GX Allocation delivered outside the operational period (8.2.3)")
    verified = al["project_id"].map(proj["verified"]).fillna(False).astype(bool)
    rep.add(al["certifiable"].to_numpy(bool) & ~verified.to_numpy(), ids,
            "marked certifiable but the project is not third-party verified (6.8)")
    pg = build_graph(s.model.nodes, s.model.edges)
    pairs = al[["project_id", "product_id", "evidence"]].drop_duplicates()
    bad_pairs = [not evidence_is_valid(pg, str(ev), proj.at[j, "node"], split_route(prod.at[k, "route"]))
                 for j, k, ev in pairs.itertuples(index=False)]
    rep.add(np.array(bad_pairs, dtype=bool), pairs["project_id"] + " -> " + pairs["product_id"],
            "evidence path does not prove a physical connection (6.7, 7.2.3)")

    # --- account: no pool overdrawn, remaining reconciles (7.2.1, 7.3.1, 8.2.1)
    drawn = al.groupby("pool_id")["reps_t"].sum().reindex(pools["pool_id"]).fillna(0.0).to_numpy()
    total = pools["used_before_t"].to_numpy() + drawn
    rep.add(total > pools["reps_t"].to_numpy() + _tol(pools["reps_t"].to_numpy()), pools["pool_id"],
            "pool account exceeded (7.3.1)")
    rep.add(np.abs(pools["remaining_t"].to_numpy() - (pools["reps_t"].to_numpy() - total)) >
            _tol(pools["reps_t"].to_numpy()), pools["pool_id"], "pool remaining_t does not reconcile")

    # --- residual CFP term per product and the part of each pool added to residual CFPs (8.1.1, 8.3.2)
    conn = res.connections
    elig_pools = pools[pools["eligible"]]
    links = conn.merge(elig_pools[["pool_id", "project_id", "period_start", "period_end", "reps_t"]], on="project_id")
    production = prod["production_t"]
    denom = conn.assign(q=conn["product_id"].map(production)).groupby("project_id")["q"].sum()
    links["share"] = links["reps_t"].to_numpy(float) / links["project_id"].map(denom).to_numpy(float)
    links["q"] = links["product_id"].map(production).to_numpy(float)
    counted = links[(links["product_id"].map(prod["cfp_basis"]) == "post_project") &
                    (links["period_start"] >= links["product_id"].map(prod["cfp_period_start"])) &
                    (links["period_end"] <= links["product_id"].map(prod["cfp_period_end"]))]
    term = counted.groupby("product_id")["share"].sum().reindex(prod.index).astype("float64").fillna(0.0)
    added = (counted["share"] * counted["q"]).groupby(counted["pool_id"]).sum().astype("float64")

    # --- per order: caps, alpha, three CFPs (7.3.2, 8.1.1, 8.3.2)
    oo = o_in.iloc[o_in.index.get_indexer(orders["order_id"])].reset_index()
    pcode = prod.index.get_indexer(oo["product_id"])

    def per_order(col: pd.Series) -> np.ndarray:
        return col.reindex(prod.index).to_numpy(float)[pcode]

    got = al.groupby("order_id")["reps_t"].sum().reindex(orders["order_id"]).fillna(0.0).to_numpy()
    s12 = per_order(prod["scope1"]) + per_order(prod["scope2"])
    is_alloc = (oo["method"] == "allocation").to_numpy()
    full = np.where(is_alloc, s12 + per_order(prod["scope3_allocable"]) + per_order(term), s12)
    amax = np.where(is_alloc, oo["alpha_max"].fillna(1.0).to_numpy(), 1.0)
    cap = amax * oo["tonnage_t"].to_numpy() * full
    cap = np.fmin(cap, oo["requested_reps_t"].to_numpy(float))
    oid = orders["order_id"]
    rep.add(got > cap + _tol(cap), oid, "order cap exceeded (7.3.2 / 8.3.2)")
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(full > 0, got / (oo["tonnage_t"].to_numpy() * full), 0.0)
    rep.add((alpha < -ABS_TOL) | (alpha > 1 + ABS_TOL), oid, "alpha outside [0, 1] (8.1.1)")
    rep.add(np.abs(alpha - orders["alpha"].to_numpy()) > 1e-6, oid, "reported alpha differs from REPs / cap")
    non_alloc = per_order(prod["scope3_upstream"]) - per_order(prod["scope3_allocable"])
    residual = per_order(prod["general_cfp"]) + per_order(term)
    allocated = full * (1 - alpha) + non_alloc
    rep.add(is_alloc & ((np.abs(residual - orders["residual_cfp"].to_numpy()) > 1e-6) |
                        (np.abs(allocated - orders["allocated_cfp"].to_numpy()) > 1e-6)), oid,
            "residual / allocated CFP do not follow 8.1.1")
    rep.add(np.abs(orders["gx_tonnage_t"].to_numpy() - alpha * oo["tonnage_t"].to_numpy()) >
            _tol(oo["tonnage_t"].to_numpy()), oid, "gx_tonnage_t is not alpha x tonnage")

    # --- total emissions never fall (8.1, 8.3.1): per pool and organization-wide
    moved = al[al["method"] == "allocation"].groupby("pool_id")["reps_t"].sum()
    limit_p = added.reindex(moved.index).fillna(0.0) - p_idx.loc[moved.index, "used_before_t"]
    rep.add((moved > limit_p + _tol(limit_p)).to_numpy(), pd.Series(moved.index),
            "GX Allocation moved more than the pool added to residual CFPs (8.1: total emissions would fall)")
    before = float((production * prod["general_cfp"]).sum())
    after = float((production * (prod["general_cfp"] + term)).sum()) - float(moved.sum())
    if after < before - _tol(before):
        rep.lines.append(f"organization total after allocation {after:.3f} < actual {before:.3f} t-CO2e (8.1)")

    # --- lexicographic objective: the first stage lost nothing
    if stage_values:
        value = float((orders["premium"] * got).sum())
        best = stage_values.get("value", 0.0)
        if value < best - 10 * _tol(best):
            rep.lines.append(f"objective value {value} below the first-stage optimum {best}")
    return rep.lines
