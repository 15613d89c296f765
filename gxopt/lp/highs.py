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
from gxopt.lp.names import STAGES, stage_costs
from gxopt.lp.result import SolveResult

INF = highspy.kHighsInf


def csc_model(col_rows: list[np.ndarray], row_lower: np.ndarray, row_upper: np.ndarray) -> highspy.Highs:
    """A ``Highs`` object holding an LP whose column j has coefficient 1 in the rows ``col_rows[k][j]``.

    ``col_rows`` lists row-index arrays (one per non-zero "layer"; -1 = no entry in that layer). Columns
    are >= 0 with no upper bound; costs are set per stage. No explicit zeros (HiGHS#3129).
    """
    n = len(col_rows[0]) if col_rows else 0
    layers = np.vstack(col_rows) if col_rows else np.zeros((0, 0), dtype=np.int64)
    present = layers >= 0
    nnz_per_col = present.sum(axis=0)
    start = np.concatenate([[0], np.cumsum(nnz_per_col)]).astype(np.int32)
    index = layers.T[present.T].astype(np.int32)  # column-major: each column's rows in layer order
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = len(row_upper)
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, INF)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(len(index))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 4)
    h.passModel(lp)
    return h


def build(elig: Eligibility) -> tuple[highspy.Highs, dict[str, np.ndarray]]:
    """The allocation LP of ``elig`` as a ``Highs`` object; rows: pools, classes, allocation pools."""
    arcs = elig.arcs
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
    third = np.full(len(arcs), -1, dtype=np.int64)
    third[is_alloc] = n_pool + n_class + alloc_row
    h = csc_model([pool_row, n_pool + class_row, third], np.full(len(row_upper), -INF), row_upper)
    return h, {"pool_ids": pool_ids, "n_pool": np.array(n_pool)}


def lexicographic(h: highspy.Highs, stages: list[tuple[str, str, np.ndarray]], dual_tol: float = 1e-7,
                  ) -> tuple[np.ndarray, dict[str, float], dict[str, float], np.ndarray]:
    """Solve the stages in order on ``h``, restricting to each stage's optimal face.

    Returns (x, stage values, stage seconds, row duals of the first stage). Raises SolverError unless
    every stage ends with a proven optimum.
    """
    n = h.getNumCol()
    cols = np.arange(n, dtype=np.int32)
    values: dict[str, float] = {}
    seconds: dict[str, float] = {}
    first_duals = np.zeros(0)
    upper = np.full(n, INF)
    for name, sense, c in stages:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if sense == "max" else highspy.ObjSense.kMinimize)
        h.changeColsCost(n, cols, np.asarray(c, dtype=float))
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
        values[name] = float(np.asarray(c, dtype=float) @ x)
        if not len(first_duals):
            first_duals = row_dual.copy()
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
    return np.maximum(x, 0.0), values, seconds, first_duals


def solve_arrays(elig: Eligibility, dual_tol: float = 1e-7, time_limit: float = 600.0) -> SolveResult:
    """Solve every stage on one ``Highs`` instance (hot starts) with the optimal-face restriction."""
    if len(elig.arcs) == 0:
        return SolveResult(np.zeros(0), {name: 0.0 for name, _, _ in STAGES}, {}, "optimal (no eligible arc)", "none")
    h, info = build(elig)
    h.setOptionValue("time_limit", float(time_limit))
    costs = stage_costs(elig)
    x, values, seconds, row_dual = lexicographic(h, [(n, sense, costs[n]) for n, sense, _ in STAGES], dual_tol)
    n_pool = int(info["n_pool"])
    duals = dict(zip(info["pool_ids"], np.abs(row_dual[:n_pool])))
    return SolveResult(x, values, duals, "optimal", f"HiGHS {highspy.Highs().version()} (arrays)", seconds)
