"""The same LP as :mod:`gxopt.lp.model`, built as arrays and solved with highspy directly (the fast path).

Rows, in order: ``pool_account`` (one per pool with arcs), ``order_cap`` (one per class),
``allocation_conservation`` (one per pool with allocation arcs). Columns: the arcs of
``Eligibility.arcs``. Stages and the optimal-face restriction are exactly those of
:mod:`gxopt.lp.solve`; tests check both paths give the same stage optima.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from gxopt.eligibility import Eligibility
from gxopt.errors import SolverError
from gxopt.lp.names import STAGES
from gxopt.lp.solve import SolveResult

INF = highspy.kHighsInf


def _stage_costs(elig: Eligibility) -> dict[str, np.ndarray]:
    arcs = elig.arcs
    return {
        "value": arcs["premium"].to_numpy(float),
        "volume": np.ones(len(arcs)),
        "expiry": arcs["expiry_days"].to_numpy(float),
        "site": arcs["same_site"].to_numpy(float),
        "order": arcs["weight"].to_numpy(float) / max(len(elig.classes), 1),
    }


def build(elig: Eligibility) -> tuple[highspy.Highs, dict[str, np.ndarray]]:
    """A ``Highs`` object holding the LP (column-wise, 2-3 non-zeros per arc, no explicit zeros)."""
    arcs = elig.arcs
    n = len(arcs)
    pool_ids, pool_row = np.unique(arcs["pool_id"].to_numpy(), return_inverse=True)
    class_ids, class_row = np.unique(arcs["class_id"].to_numpy(), return_inverse=True)
    n_pool, n_class = len(pool_ids), len(class_ids)
    is_alloc = arcs["method"].to_numpy() == "allocation"
    alloc_pools, alloc_row = np.unique(arcs["pool_id"].to_numpy()[is_alloc], return_inverse=True)
    pools = elig.pools.set_index("pool_id")
    caps = elig.classes.set_index("class_id")["cap_t"]
    row_upper = np.concatenate([pools.loc[pool_ids, "available_t"].to_numpy(float),
                                caps.loc[class_ids].to_numpy(float),
                                pools.loc[alloc_pools, "alloc_limit_t"].to_numpy(float)])
    nnz_per_col = 2 + is_alloc.astype(np.int64)
    start = np.concatenate([[0], np.cumsum(nnz_per_col)]).astype(np.int32)
    index = np.empty(int(start[-1]), dtype=np.int32)
    index[start[:-1]] = pool_row
    index[start[:-1] + 1] = n_pool + class_row
    alloc_pos = start[:-1][is_alloc] + 2
    index[alloc_pos] = n_pool + n_class + alloc_row

    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(row_upper)
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, INF)
    lp.row_lower_ = np.full(len(row_upper), -INF)
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(len(index))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 4)
    h.passModel(lp)
    return h, {"pool_ids": pool_ids, "n_pool": np.array(n_pool)}


def solve_arrays(elig: Eligibility, dual_tol: float = 1e-7, time_limit: float = 600.0) -> SolveResult:
    """Solve every stage on one ``Highs`` instance (hot starts) with the optimal-face restriction."""
    n = len(elig.arcs)
    if n == 0:
        return SolveResult(np.zeros(0), {name: 0.0 for name, _, _ in STAGES}, {}, "optimal (no eligible arc)", "none")
    h, info = build(elig)
    h.setOptionValue("time_limit", float(time_limit))
    costs = _stage_costs(elig)
    cols = np.arange(n, dtype=np.int32)
    values: dict[str, float] = {}
    seconds: dict[str, float] = {}
    duals: dict[str, float] = {}
    upper = np.full(n, INF)
    for name, sense, _ in STAGES:
        c = costs[name]
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if sense == "max" else highspy.ObjSense.kMinimize)
        h.changeColsCost(n, cols, c)
        t0 = time.perf_counter()
        h.run()
        seconds[name] = time.perf_counter() - t0
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            msg = f"HiGHS did not prove an optimum in stage '{name}': {h.modelStatusToString(status)}"
            raise SolverError(msg)
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        rc = np.asarray(sol.col_dual)
        row_dual = np.asarray(sol.row_dual)
        row_value = np.asarray(sol.row_value)
        values[name] = float(c @ x)
        if name == "value":
            n_pool = int(info["n_pool"])
            duals = dict(zip(info["pool_ids"], np.abs(row_dual[:n_pool])))
        # restrict to this stage's optimal face (complementary slackness with its optimal duals)
        fix = (np.abs(rc) > dual_tol) & (x <= dual_tol) & (upper > 0)
        if fix.any():
            idx = np.flatnonzero(fix).astype(np.int32)
            upper[idx] = 0.0
            h.changeColsBounds(len(idx), idx, np.zeros(len(idx)), np.zeros(len(idx)))
        lp = h.getLp()
        ru = np.asarray(lp.row_upper_)
        tight = (np.abs(row_dual) > dual_tol) & (np.abs(row_value - ru) <= dual_tol * np.maximum(1.0, np.abs(ru)))
        if tight.any():
            idx = np.flatnonzero(tight).astype(np.int32)
            h.changeRowsBounds(len(idx), idx, ru[idx], ru[idx])
    x = np.asarray(h.getSolution().col_value, dtype=float)
    x[np.abs(x) < 1e-9] = 0.0
    return SolveResult(np.maximum(x, 0.0), values, duals, "optimal", f"HiGHS {highspy.Highs().version()} (arrays)",
                       seconds)
