"""From the eligibility tables to the positions the LP is defined on, leaving out exactly what cannot be served.

Pruning (exact): within a class every order draws on the same pools, so at every optimum of the value
stage an order of premium :math:`\\pi` gets nothing unless every order of its class with a strictly higher
premium is at its cap (moving REPs from the cheaper to the dearer order would earn more). An order whose
class's strictly-dearer orders alone can take all that the class's pools hold, :math:`H_o \\ge \\sum_p A_p`,
therefore receives zero in every optimal solution of the lexicographic LP and gets no column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gxopt.eligibility import Eligibility
from gxopt.lp.program import Network


@dataclass(frozen=True)
class Built:
    """The network of a run and the row in ``elig.orders`` of each demand column."""

    network: Network
    order_pos: np.ndarray
    pruned: int


def _dearer_caps(cls: np.ndarray, premium: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """For each order: the sum of the caps of the orders of its class with a strictly higher premium."""
    order = np.lexsort((-premium, cls))
    c, p, k = cls[order], premium[order], cap[order]
    run = np.cumsum(k) - k  # caps before this order in (class, premium desc) order
    new_class = np.r_[True, c[1:] != c[:-1]]
    class_base = np.maximum.accumulate(np.where(new_class, run, -np.inf))
    new_tie = new_class | np.r_[True, p[1:] != p[:-1]]
    tie_start = np.maximum.accumulate(np.where(new_tie, np.arange(len(c)), 0))
    out = np.empty(len(c))
    out[order] = run[tie_start] - class_base
    return out


def build(elig: Eligibility) -> Built:
    """The :class:`~gxopt.lp.program.Network` of ``elig``: pools with arcs, classes, one column per order."""
    arcs = elig.arcs
    pools = elig.pools.set_index("pool_id")
    pool_ids, arc_pool = np.unique(arcs["pool_id"].to_numpy(object), return_inverse=True)
    available = pools["available_t"].reindex(pool_ids).to_numpy(float)
    alloc_limit = pools["alloc_limit_t"].reindex(pool_ids).to_numpy(float)
    arc_class = arcs["class_id"].to_numpy(np.int64)
    n_class = len(elig.classes)

    o = elig.orders
    cls_all = o["class_id"].to_numpy(np.int64)
    pos = np.flatnonzero(cls_all >= 0)
    cls = cls_all[pos]
    premium = o["premium"].to_numpy(float)[pos]
    cap = o["cap_t"].to_numpy(float)[pos]
    supply = np.bincount(arc_class, weights=available[arc_pool.ravel()], minlength=n_class)
    keep = _dearer_caps(cls, premium, cap) < supply[cls]
    pos, cls, premium, cap = pos[keep], cls[keep], premium[keep], cap[keep]
    n = max(len(o), 1)
    net = Network(
        pool_ids=pool_ids, available=available, alloc_limit=alloc_limit, n_classes=n_class,
        arc_pool=arc_pool.ravel().astype(np.int64), arc_class=arc_class,
        arc_alloc=(arcs["method"].to_numpy(object) == "allocation"),
        arc_expiry_days=arcs["expiry_days"].to_numpy(float), arc_same_site=arcs["same_site"].to_numpy(float),
        order_class=cls, order_lower=np.zeros(len(pos)), order_upper=cap, order_premium=premium,
        order_weight=o["rank"].to_numpy(float)[pos] / n)
    return Built(net, pos, int((~keep).sum()))
