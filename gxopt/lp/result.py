"""What a solve hands back: plain arrays keyed by the program's family and block names (both LP paths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from gxopt.lp.program import Program


@dataclass(frozen=True)
class SolveResult:
    """Primal values per column family, first-stage duals per row block and reduced costs per family."""

    values: dict[str, np.ndarray]
    duals: dict[str, pd.Series]
    reduced_costs: dict[str, np.ndarray]
    stage_values: dict[str, float]
    status: str
    solver: str
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_arrays(cls, prog: Program, x: np.ndarray, dual: np.ndarray, rc: np.ndarray,
                    stage_values: dict[str, float], seconds: dict[str, float], status: str, solver: str,
                    ) -> SolveResult:
        """Cut the flat column and row vectors of ``prog`` back into its named families and blocks."""
        x = np.where(np.abs(x) < 1e-9, 0.0, x)
        values, reduced, duals = {}, {}, {}
        for name, at in prog.column_offsets().items():
            n = len(prog.columns[name])
            values[name] = x[at:at + n]
            reduced[name] = rc[at:at + n]
        for name, at in prog.row_offsets().items():
            b = prog.rows[name]
            duals[name] = pd.Series(np.abs(dual[at:at + len(b)]), index=b.labels, dtype=float)
        return cls(values, duals, reduced, stage_values, status, solver, seconds)

    @classmethod
    def empty(cls, prog: Program, stages: Sequence[str]) -> SolveResult:
        """Nothing to decide: every value zero, every stage at zero."""
        return cls({f: np.zeros(len(c)) for f, c in prog.columns.items()},
                   {b: pd.Series(np.zeros(len(r)), index=r.labels, dtype=float) for b, r in prog.rows.items()},
                   {f: np.zeros(len(c)) for f, c in prog.columns.items()},
                   {s: 0.0 for s in stages}, "optimal (no eligible arc)", "none")

    @property
    def pool_duals(self) -> dict[str, float]:
        """Shadow price of each pool: the premium one more t-CO2e in its account would earn (first stage)."""
        d = self.duals.get("pool_account")
        return {} if d is None else {str(k): float(v) for k, v in d.items()}
