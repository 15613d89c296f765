"""Splitting each demand class's REPs back to its orders and allocation lines, exactly and vectorized.

The LP decides how much each order receives (``served``) and how much each pool gives each class
(``reps``); within a class every order may draw on every pool, and the pools' stage coefficients do not
depend on the order, so any split matching both is optimal. The rule used: the class's orders are laid
out in rank order (earlier delivery, then order id), each as a segment as long as what it receives; the
class's pools are laid out in expiry order (then pool id) along the same line, and each order takes the
pool segments that overlap its own segment. Earlier deliveries therefore get the sooner-expiring REPs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxopt.eligibility import Eligibility

EPS = 1e-9


def split(elig: Eligibility, flows: np.ndarray, order_pos: np.ndarray, served: np.ndarray) -> pd.DataFrame:
    """Allocation lines ``order_pos, pool_id, reps_t`` from the flow on each class arc and what each order gets.

    ``order_pos`` is the row in ``elig.orders`` of each LP demand column and ``served`` its value.

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
    a_cls = arcs["class_id"].to_numpy(np.int64)
    a_flow = arcs["flow"].to_numpy(float)
    n_class = int(max(a_cls.max(initial=-1), elig.orders["class_id"].max() if len(elig.orders) else -1)) + 1
    total = np.bincount(a_cls, weights=a_flow, minlength=n_class)
    offset = np.cumsum(total) - total  # where each class starts on the line

    got = np.asarray(served, float) > EPS
    pos, take = np.asarray(order_pos)[got], np.asarray(served, float)[got]
    cls = elig.orders["class_id"].to_numpy(np.int64)[pos]
    by = np.lexsort((elig.orders["rank"].to_numpy()[pos], cls))
    pos, take, cls = pos[by], take[by], cls[by]
    o_hi = offset[cls] + _cumsum_within(cls, take) + take
    a_hi = offset[a_cls] + _cumsum_within(a_cls, a_flow) + a_flow
    pool_names, a_pool = np.unique(arcs["pool_id"].to_numpy(object), return_inverse=True)

    points = np.unique(np.concatenate([[0.0], o_hi, a_hi]))
    lo, hi = points[:-1], points[1:]
    width = hi - lo
    mid = (lo + hi) / 2
    oi = np.searchsorted(o_hi, mid, side="left")
    ai = np.searchsorted(a_hi, mid, side="left")
    keep = (width > EPS) & (oi < len(o_hi)) & (ai < len(a_hi))
    keep[keep] &= cls[oi[keep]] == a_cls[ai[keep]]  # flow beyond what orders take (solver tolerance): unassigned
    # each (order, pool) pair is one interval: an order's segment is cut only at its arcs' boundaries
    o_line, p_line, w_line = pos[oi[keep]], a_pool.ravel()[ai[keep]], width[keep]
    by = np.lexsort((p_line, o_line))
    o_line, p_line, w_line = o_line[by], p_line[by], w_line[by]
    first = np.r_[True, (o_line[1:] != o_line[:-1]) | (p_line[1:] != p_line[:-1])]
    if not first.all():  # a pair cut by rounding at a class boundary: add its pieces up
        w_line = np.add.reduceat(w_line, np.flatnonzero(first))
        o_line, p_line = o_line[first], p_line[first]
    return pd.DataFrame({"order_pos": o_line, "pool_id": pool_names[p_line], "reps_t": w_line})


def _cumsum_within(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Exclusive cumulative sum of ``values`` restarting at each new value of sorted ``groups``."""
    c = np.cumsum(values) - values
    if len(values) == 0:
        return c
    starts = np.r_[True, groups[1:] != groups[:-1]]
    base = np.maximum.accumulate(np.where(starts, c, -np.inf))
    return c - base
