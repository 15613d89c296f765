"""Which pool may feed which order, and how much each order and product may take (ch. 7, 8).

Everything here is vectorized pandas: pools x connections x orders joined, then filtered by the rules.
The result is an :class:`Eligibility` of plain tables that the LP layer turns into variables and
constraints; nothing here knows about the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gxopt.graph import ProcessGraph, connections, split_route
from gxopt.schema import STEELMAKING_PROCESSES
from gxopt.scenario import Scenario


@dataclass(frozen=True)
class Eligibility:
    """Inputs of the LP.

    Attributes
    ----------
    pools : pool table of :func:`gxopt.reps.compute_pools` plus ``in_cfps_t`` (the part of the pool reflected
        in the General CFPs of connected products) and ``alloc_limit_t`` (8.1, 8.3.1).
    products : per product: ``rep_term`` (REPs reflected in the CFP per tonne: the 7.3.3 correction, 8.3.2),
        ``residual_cfp`` = ``non_gx_cfp`` (the basis), ``subject_cfp`` (the part GX Allocation may move),
        ``mb_cap_cfp`` (scope 1+2 + rep_term, 7.3.2), ``non_allocable`` (upstream scope 3 that stays, 8.1.2),
        ``cfp_data_usable`` (5.2.2).
    orders : per order, sorted by id: ``cap_per_t``, ``cap_t`` (largest REPs the order may take), ``reason``
        (categorical, empty when the order can be served), ``rank`` (by delivery date, then id), ``class_id``
        (its eligibility class, -1 if it cannot be served), ``key_id``.
    classes : per eligibility class (same method, crude-steel ``site`` and set of eligible pools):
        ``class_id, key_id, method, site, cap_t, n_orders``.
    arcs : one row per eligible (class, pool) pair: ``class_id, pool_id, method, same_site, expiry_days``.
    connections : every physically connected (project, product) pair with its evidence path.
    """

    pools: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    classes: pd.DataFrame
    arcs: pd.DataFrame
    connections: pd.DataFrame


DATA_AGE_YEARS = 5  # 5.2.2: primary data within the last five years, older only with a stated justification


def pool_overlap(links: pd.DataFrame, cfp_start: pd.Series, cfp_end: pd.Series) -> np.ndarray:
    """Share of each pool's calculation period inside the product's CFP data period, by days, ends inclusive.

    ``links`` has ``period_start, period_end`` (the pool) and ``cfp_start, cfp_end`` are aligned with it.
    """
    lo = np.maximum(links["period_start"].to_numpy("datetime64[D]"), cfp_start.to_numpy("datetime64[D]"))
    hi = np.minimum(links["period_end"].to_numpy("datetime64[D]"), cfp_end.to_numpy("datetime64[D]"))
    inside = np.maximum((hi - lo).astype(np.int64) + 1, 0)
    days = (links["period_end"].to_numpy("datetime64[D]") - links["period_start"].to_numpy("datetime64[D]")
            ).astype(np.int64) + 1
    return inside / days


def crude_steel_sites(nodes: pd.DataFrame, routes: pd.Series) -> pd.Series:
    """Site where each product's crude steel is made: the site of its route's steelmaking unit (BOF, EAF).

    SteelZero's site-level link and thresholds are about that site, not the shipping site (a coil rolled at
    Higashi from Nishi slabs is Nishi steel). A route without a steelmaking unit (e.g. re-rolling bought
    slabs) takes the site of its first unit.
    """
    n = nodes.drop_duplicates("node_id").set_index("node_id")
    steelmaking = set(n.index[n["process"].isin(STEELMAKING_PROCESSES)])
    out = {}
    for pid, route in routes.items():
        units = split_route(route)
        first = next((u for u in units if u in steelmaking), units[0])
        out[pid] = n["site"].get(first)
    return pd.Series(out, dtype=object).reindex(routes.index)


def pool_links(s: Scenario, pools: pd.DataFrame, conn: pd.DataFrame) -> pd.DataFrame:
    """One row per (eligible pool, physically connected product) with the part of the pool in the product's CFP.

    Columns: ``pool_id, project_id, product_id, period_start, period_end, reps_t, overlap`` (share of the
    pool's days inside the CFP data period), ``in_cfp_t`` (the pool's REPs realized inside it, pro rata by
    days), ``production_j`` (production of every product connected to the project) and ``production_k``.
    """
    prod = s.model.products.set_index("product_id")
    usable = pools[pools["eligible"]]
    links = conn[["project_id", "product_id"]].merge(
        usable[["pool_id", "project_id", "period_start", "period_end", "reps_t"]], on="project_id")
    denom = conn.assign(production_t=conn["product_id"].map(prod["production_t"])).groupby("project_id")[
        "production_t"].sum()
    links["production_j"] = links["project_id"].map(denom).astype("float64")
    links["production_k"] = links["product_id"].map(prod["production_t"]).astype("float64")
    links["overlap"] = pool_overlap(links, links["product_id"].map(prod["cfp_period_start"]),
                                    links["product_id"].map(prod["cfp_period_end"]))
    links["in_cfp_t"] = links["reps_t"] * links["overlap"]
    return links


def product_cfps(s: Scenario, pools: pd.DataFrame, conn: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """One basis per product for both methods, and the part of each pool reflected in CFPs.

    The REP term (8.3.2, 7.3.3) of product k sums, over the pools p of the eligible projects j physically
    connected to k, the REPs of p realized inside k's CFP data period (pro rata by days) divided by the
    production of every product connected to j::

        R_k = sum_p reps_p * overlap(p, CFP period of k) / production_j
        basis_k = general_k + R_k  (= Residual CFP, 8.1.1; what non-GX steel carries, 7.3.3)

    A General CFP measured while a project ran already contains its effect; R_k puts it back, so every
    tonne is claimed on the same pre-project basis whichever method serves it. A CFP whose data period
    ends before a project's first period gets nothing from it. The part of each pool added to the bases,
    ``added_p = sum_k R_k-part * production_k``, is what GX Allocation may move (8.1, 8.3.1).
    Returns (products, added per pool, the pool links of :func:`pool_links`).
    """
    prod = s.model.products.set_index("product_id")
    links = pool_links(s, pools, conn)
    links["share_t_per_t"] = links["in_cfp_t"] / links["production_j"]
    term = links.groupby("product_id")["share_t_per_t"].sum()
    added = (links["share_t_per_t"] * links["production_k"]).groupby(links["pool_id"]).sum()

    out = pd.DataFrame(index=prod.index)
    out["site"] = prod["site"]
    out["crude_steel_site"] = crude_steel_sites(s.model.nodes, prod["route"])
    out["production_t"] = prod["production_t"]
    out["general_cfp"] = prod["general_cfp"]
    out["rep_term"] = term.reindex(prod.index).astype("float64").fillna(0.0)  # no connected REPs: no term
    out["residual_cfp"] = out["general_cfp"] + out["rep_term"]
    out["non_gx_cfp"] = out["residual_cfp"]
    out["mb_cap_cfp"] = prod["scope1"] + prod["scope2"] + out["rep_term"]
    out["non_allocable"] = prod["scope3_upstream"] - prod["scope3_allocable"]
    out["subject_cfp"] = prod["scope1"] + prod["scope2"] + prod["scope3_allocable"] + out["rep_term"]
    as_of = pd.Timestamp(s.settings.as_of)
    old = prod["cfp_period_end"] + pd.DateOffset(years=DATA_AGE_YEARS) < as_of
    justified = prod["data_age_justification"].notna()
    out["cfp_data_usable"] = (~old | justified).to_numpy(bool)
    return out.reset_index(), added, links


def order_caps(o: pd.DataFrame, prod: pd.DataFrame, pcode: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha_max with 1 for empty, cap per tonne, cap) of each order (7.3.2, 8.1.1, 8.3.2).

    ``prod`` is the product table of :func:`product_cfps` indexed by product_id.
    """
    if pcode is None:
        pcode = prod.index.get_indexer(o["product_id"])
    alloc = (o["method"] == "allocation").to_numpy(bool)
    alpha = o["alpha_max"].to_numpy(float)
    alpha = np.where(np.isnan(alpha), 1.0, alpha)
    cap_per_t = np.where(alloc, alpha * prod["subject_cfp"].to_numpy(float)[pcode],
                         prod["mb_cap_cfp"].to_numpy(float)[pcode])
    cap = o["tonnage_t"].to_numpy(float) * cap_per_t
    return alpha, cap_per_t, np.fmin(cap, o["requested_reps_t"].to_numpy(float))  # empty request caps nothing


def usable_pools(pools: pd.DataFrame) -> pd.DataFrame:
    """Pools that may feed an order at all: eligible project, period ended by as_of, REPs left."""
    return pools[pools["eligible"] & pools["ended"] & (pools["available_t"] > 0)]


def key_candidates(keys: pd.DataFrame, conn: pd.DataFrame, ok_pools: pd.DataFrame, expiries: np.ndarray,
                   as_of: pd.Timestamp, raw_prod: pd.DataFrame, first_start: pd.Series,
                   ) -> tuple[pd.DataFrame, list[tuple[str, np.ndarray]]]:
    """Eligible (key, pool) pairs of ``keys`` (key_id, product_id, method, gas, window), rule by rule.

    ``first_start`` maps each project to the start of its first calculation period. Returns the pairs
    and, per rule, the keys that still had a pool after it, so a key without any can say which rule
    removed the last one.
    """
    cand = (keys.merge(conn[["project_id", "product_id"]], on="product_id")
            .merge(ok_pools[["pool_id", "project_id", "site", "gas", "period_start", "period_end", "mb_expires"]],
                   on="project_id", suffixes=("_order", "")))
    stages = [("no usable pool of an eligible, verified project is physically connected to the product "
               "(6.7, 7.2.3)", cand["key_id"].unique())]
    cand = cand[(cand["gas_order"] == "") | (cand["gas_order"] == cand["gas"])]
    stages.append(("no connected pool has the gas type the order asks for (7.3.1)", cand["key_id"].unique()))
    is_mb = (cand["method"] == "mass_balance").to_numpy()
    cfp_end = cand["product_id"].map(raw_prod["cfp_period_end"])
    pre = (cfp_end < cand["project_id"].map(first_start)).to_numpy()
    cand, is_mb = cand[is_mb | ~pre], is_mb[is_mb | ~pre]
    stages.append(("the product's CFP was calculated from data before every connected project started: GX "
                   "Allocation needs a CFP from data after the project commenced (ch. 4, 8.2.2)",
                   cand["key_id"].unique()))
    exp_idx = np.searchsorted(expiries, cand["mb_expires"].to_numpy(), side="left")
    mb_ok = (exp_idx >= cand["window"].to_numpy()) & (as_of <= cand["mb_expires"]).to_numpy()
    al_ok = pool_overlap(cand, cand["product_id"].map(raw_prod["cfp_period_start"]),
                         cand["product_id"].map(raw_prod["cfp_period_end"])) > 0
    cand = cand[(is_mb & mb_ok) | (~is_mb & al_ok)]
    stages.append(("every connected pool has expired (7.2.2) or lies outside the product's CFP data period "
                   "(8.2.2)", cand["key_id"].unique()))
    return cand, stages


def eligibility(s: Scenario, pg: ProcessGraph, pools: pd.DataFrame, aggregate: bool = True,
                conn: pd.DataFrame | None = None) -> Eligibility:
    """Build per-order caps and reasons, the eligibility classes and their arcs, and the pool limits.

    Eligibility is decided per *key* (product, method, gas asked for, delivery window), never per order:
    the delivery window of a mass-balance order is the number of distinct pool expiry dates before its
    delivery date, which is all the expiry rule (7.2.2) looks at. Keys with the same method, crude-steel
    site and set of eligible pools form one *eligibility class*: every arc coefficient (expiry, same site)
    is the same for all its orders, while what differs from order to order (premium, cap, delivery rank)
    stays on the order's own column of the LP (:mod:`gxopt.lp.program`). With ``aggregate=False`` every
    order is its own class (the reference LP). Every per-order step is an array operation.
    """
    conn = connections(pg, s.projects, s.model.products) if conn is None else conn
    products, added, _links = product_cfps(s, pools, conn)
    pools = pools.copy()
    added_t = pools["pool_id"].map(added).astype("float64").fillna(0.0)  # pools added to no residual CFP
    pools["in_cfps_t"] = added_t
    pools["alloc_limit_t"] = np.maximum(added_t - pools["used_t"], 0.0)

    prod = products.set_index("product_id")
    raw_prod = s.model.products.set_index("product_id")
    o = s.orders.drop(columns="src_line")
    if not o["order_id"].is_monotonic_increasing:
        o = o.sort_values("order_id", ignore_index=True)  # canonical: row order never matters
    else:
        o = o.reset_index(drop=True)
    settings = s.settings
    op_start, op_end = pd.Timestamp(settings.operational_period.start), pd.Timestamp(settings.operational_period.end)
    as_of = pd.Timestamp(settings.as_of)
    # integer codes once; every per-order lookup below is an array take, not a string map
    pcode = prod.index.get_indexer(o["product_id"])
    alloc = (o["method"] == "allocation").to_numpy(bool)
    gas_code = np.select([(o["gas"] == "CO2").to_numpy(bool), (o["gas"] == "GHG").to_numpy(bool)], [1, 2], 0)
    alpha, cap_per_t, cap = order_caps(o, prod, pcode)

    reasons = [""]
    reason = np.zeros(len(o), dtype=np.int16)  # codes into ``reasons``; 0 = servable

    def flag(mask: np.ndarray, text: str) -> None:
        reasons.append(text)
        reason[(reason == 0) & mask] = len(reasons) - 1

    flag(~prod["cfp_data_usable"].to_numpy(bool)[pcode],
         f"the product's CFP data ended more than {DATA_AGE_YEARS} years before the run date: state why it is "
         "still valid (products.csv data_age_justification) before it carries GX steel (5.2.2)")
    delivery = o["delivery_date"].to_numpy()
    flag(alloc & ((delivery < op_start.to_datetime64()) | (delivery > op_end.to_datetime64())),
         "delivery outside the operational period of the allocated CFP (8.2.3)")
    flag(alloc & (as_of > op_end), "operational period over as of the run date (8.2.3)")

    ok_pools = usable_pools(pools)
    expiries = np.sort(ok_pools["mb_expires"].unique())
    window = np.where(alloc, 0, np.searchsorted(expiries, delivery, side="left"))
    n_win = len(expiries) + 1
    combined = ((pcode.astype(np.int64) * 2 + alloc) * 3 + gas_code) * n_win + window
    uniq, key_id = np.unique(combined, return_inverse=True)
    key_id = key_id.ravel()
    k_win = uniq % n_win
    k_gas = (uniq // n_win) % 3
    k_alloc = (uniq // n_win // 3) % 2
    k_prod = uniq // n_win // 3 // 2
    keys = pd.DataFrame({"key_id": np.arange(len(uniq)), "product_id": prod.index.to_numpy()[k_prod],
                         "method": np.where(k_alloc == 1, "allocation", "mass_balance"),
                         "gas": np.array(["", "CO2", "GHG"], dtype=object)[k_gas], "window": k_win})

    first_start = s.periods.groupby("project_id")["period_start"].min()
    cand, stages = key_candidates(keys, conn, ok_pools, expiries, as_of, raw_prod, first_start)
    for text, ok_keys in stages:
        flag(~np.isin(np.arange(len(uniq)), ok_keys)[key_id], text)
    flag(~(cap > 0), "the order's cap is zero (alpha_max, requested_reps_t or CFP)")

    rank = np.empty(len(o), dtype=np.int64)
    rank[np.argsort(delivery, kind="stable")] = np.arange(len(o))  # orders are sorted by id: ties by id
    served = reason == 0
    # eligibility classes: keys with the same method, crude-steel site and set of eligible pools
    poolsets = cand.sort_values(["key_id", "pool_id"]).groupby("key_id")["pool_id"].agg("|".join)
    _, poolset_of_key = np.unique(poolsets.reindex(np.arange(len(uniq))).fillna("").to_numpy(str),
                                  return_inverse=True)
    site_names, site_code = np.unique(prod["crude_steel_site"].to_numpy(str), return_inverse=True)
    key_site = site_code.ravel()[k_prod]
    if aggregate:
        sig = (poolset_of_key.ravel().astype(np.int64) * 2 + k_alloc) * len(site_names) + key_site
        _, class_of_key = np.unique(sig, return_inverse=True)
        raw = class_of_key.ravel()[key_id[served]]
        present = np.bincount(raw, minlength=int(class_of_key.max(initial=-1)) + 1) > 0
        class_id = np.full(len(o), -1, dtype=np.int64)
        class_id[served] = (np.cumsum(present) - 1)[raw]  # numbered 0.. over the classes that have orders
    else:
        class_id = np.full(len(o), -1, dtype=np.int64)
        class_id[served] = np.arange(int(served.sum()))
    n_class = int(class_id.max(initial=-1)) + 1
    sv = np.flatnonzero(served)
    cls_sv = class_id[sv]
    first_of = np.full(n_class, len(o), dtype=np.int64)
    np.minimum.at(first_of, cls_sv, sv)  # first order (by id) of each class: its key stands for the class
    class_key = key_id[first_of] if n_class else np.zeros(0, np.int64)
    classes = pd.DataFrame({
        "class_id": np.arange(n_class), "key_id": class_key,
        "method": np.where(k_alloc[class_key] == 1, "allocation", "mass_balance"),
        "site": site_names[key_site[class_key]].astype(object),
        "cap_t": np.bincount(cls_sv, weights=cap[sv], minlength=n_class),
        "n_orders": np.bincount(cls_sv, minlength=n_class)})

    orders = o.assign(alpha_max=np.where(alloc, alpha, np.nan), cap_per_t=cap_per_t, cap_t=cap,
                      reason=pd.Categorical.from_codes(reason, categories=pd.Index(reasons, dtype=object)),
                      rank=rank, class_id=class_id, key_id=key_id)
    arcs = classes[["class_id", "key_id", "method", "site"]].merge(
        cand[["key_id", "pool_id", "site", "mb_expires"]], on="key_id", suffixes=("", "_pool"))
    arcs = pd.DataFrame({
        "class_id": arcs["class_id"].to_numpy(), "pool_id": arcs["pool_id"].to_numpy(object),
        "method": arcs["method"].to_numpy(object),
        "same_site": (arcs["site"].to_numpy(object) == arcs["site_pool"].to_numpy(object)),
        "expiry_days": (arcs["mb_expires"] - as_of).dt.days.to_numpy(float),
    }).sort_values(["class_id", "pool_id"], ignore_index=True)
    return Eligibility(pools, products, orders, classes, arcs, conn)
