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


def _fixed(value: np.ndarray, lo: np.ndarray, up: np.ndarray, price: np.ndarray,
           tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the non-fixed columns (or rows) at a bound with |reduced cost| (or |dual|) > ``tol``, and
    the bound each is fixed at (the lower one when both are met)."""
    live = (lo < up) & (np.abs(price) > tol)
    at_lo = live & _at(value, lo, tol)
    at_up = live & _at(value, up, tol) & ~at_lo
    pos = np.flatnonzero(at_lo | at_up)
    return pos, np.where(at_lo, lo, up)[pos].astype(float)


def restrict(x: np.ndarray, col_lo: np.ndarray, col_up: np.ndarray, rc: np.ndarray, act: np.ndarray,
             row_lo: np.ndarray, row_up: np.ndarray, dual: np.ndarray, tol: float) -> Face:
    """What to fix after a stage: non-fixed columns/rows at a bound with |reduced cost| or |dual| > ``tol``."""
    return Face(*_fixed(x, col_lo, col_up, rc, tol), *_fixed(act, row_lo, row_up, dual, tol))
