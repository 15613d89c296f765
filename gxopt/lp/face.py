"""The optimal-face restriction between lexicographic stages, written once for every LP path.

A primal solution is optimal for a stage exactly when it is feasible and complementary-slack with any one
optimal dual. So after a stage, every column at a bound with a non-zero reduced cost is fixed at that
bound and every row at a bound with a non-zero dual becomes an equality at that bound: the current
optimum stays feasible, and later stages can only choose among solutions with exactly the same earlier
objective values. The first objective loses nothing, not even a tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Face:
    """Columns and rows to fix, and the value each is fixed at."""

    cols: np.ndarray
    col_value: np.ndarray
    rows: np.ndarray
    row_value: np.ndarray


def _at(value: np.ndarray, bound: np.ndarray, tol: float) -> np.ndarray:
    finite = np.isfinite(bound)
    out = np.zeros(len(value), bool)
    out[finite] = np.abs(value[finite] - bound[finite]) <= tol * np.maximum(1.0, np.abs(bound[finite]))
    return out


def restrict(x: np.ndarray, col_lo: np.ndarray, col_up: np.ndarray, rc: np.ndarray, act: np.ndarray,
             row_lo: np.ndarray, row_up: np.ndarray, dual: np.ndarray, tol: float) -> Face:
    """What to fix after a stage: non-fixed columns/rows at a bound with |reduced cost| or |dual| > ``tol``."""
    free_c = col_lo < col_up
    nz_c = np.abs(rc) > tol
    lo_c, up_c = free_c & nz_c & _at(x, col_lo, tol), free_c & nz_c & _at(x, col_up, tol)
    up_c &= ~lo_c
    cols = np.flatnonzero(lo_c | up_c)
    col_value = np.where(lo_c, col_lo, col_up)[cols]
    free_r = row_lo < row_up
    nz_r = np.abs(dual) > tol
    lo_r, up_r = free_r & nz_r & _at(act, row_lo, tol), free_r & nz_r & _at(act, row_up, tol)
    up_r &= ~lo_r
    rows = np.flatnonzero(lo_r | up_r)
    row_value = np.where(lo_r, row_lo, row_up)[rows]
    return Face(cols, col_value.astype(float), rows, row_value.astype(float))
