"""Splitting each demand class's REPs back to its orders and allocation lines, exactly and vectorized.

Within a class every order has the same eligible pools and the same coefficient in every objective
stage, so any split that respects the orders' caps is optimal. The rule used: orders are filled in
rank order (earlier delivery, then order id) up to their caps; the class's pools are laid out in
expiry order (then pool id) along the same line, and each order takes the pool segments that overlap
its own segment. Earlier deliveries therefore get the sooner-expiring REPs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxopt.eligibility import Eligibility

EPS = 1e-9


def split(elig: Eligibility, flows: np.ndarray) -> pd.DataFrame:
    """Allocation lines ``order_pos, pool_id, reps_t`` from the flow on each class arc.

    ``order_pos`` is the row of the order in ``elig.orders``.

    All classes are laid end to end on one line; the served parts of the orders and the flows of the
    arcs are two partitions of that line, and every elementary interval between their breakpoints
    belongs to exactly one order and one arc. No loop over orders.
    """
    arcs = elig.arcs.assign(flow=flows)
    arcs = arcs[arcs["flow"] > EPS]
    if arcs.empty:
        return pd.DataFrame({"order_pos": pd.Series(dtype=np.int64), "pool_id": pd.Series(dtype=object),
                             "reps_t": pd.Series(dtype=float)})
    arcs = arcs.sort_values(["class_id", "expiry_days", "pool_id"], kind="stable")
    total = arcs.groupby("class_id", sort=True)["flow"].sum()
    offset = pd.Series(np.cumsum(total.to_numpy()) - total.to_numpy(), index=total.index)

    ocls_all = elig.orders["class_id"].to_numpy()
    pos = np.flatnonzero(np.isin(ocls_all, total.index.to_numpy()))
    pos = pos[np.lexsort((elig.orders["rank"].to_numpy()[pos], ocls_all[pos]))]
    cls = ocls_all[pos]
    cap = elig.orders["cap_t"].to_numpy(float)[pos]
    start = _cumsum_within(cls, cap)
    take = np.clip(total.reindex(cls).to_numpy() - start, 0.0, cap)
    served = take > EPS
    o_hi = (offset.reindex(cls).to_numpy() + start + take)[served]
    o_id = pos[served]
    o_cls = cls[served]

    a_cls = arcs["class_id"].to_numpy()
    a_hi = offset.reindex(a_cls).to_numpy() + _cumsum_within(a_cls, arcs["flow"].to_numpy(float)) + arcs[
        "flow"].to_numpy(float)
    a_pool = arcs["pool_id"].to_numpy()

    points = np.unique(np.concatenate([[0.0], o_hi, a_hi]))
    lo, hi = points[:-1], points[1:]
    width = hi - lo
    mid = (lo + hi) / 2
    oi = np.searchsorted(o_hi, mid, side="left")
    ai = np.searchsorted(a_hi, mid, side="left")
    keep = (width > EPS) & (oi < len(o_hi)) & (ai < len(a_hi))
    keep[keep] &= o_cls[oi[keep]] == a_cls[ai[keep]]  # flow beyond the caps (solver tolerance) is not assigned
    lines = pd.DataFrame({"order_pos": o_id[oi[keep]], "pool_id": a_pool[ai[keep]], "reps_t": width[keep]})
    lines = lines.groupby(["order_pos", "pool_id"], sort=True, as_index=False)["reps_t"].sum()
    return lines


def _cumsum_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Exclusive cumulative sum of ``values`` restarting at each new value of sorted ``groups``."""
    c = np.cumsum(values) - values
    if len(values) == 0:
        return c
    starts = np.r_[True, groups[1:] != groups[:-1]]
    base = np.maximum.accumulate(np.where(starts, c, -np.inf))
    return c - base
