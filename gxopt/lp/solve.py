"""Solving the pyomo reference with HiGHS through pyomo: the same stages and the same optimal-face rule
(:func:`gxopt.lp.face.restrict`) as the array path, applied through pyomo. Any non-optimal termination
raises :class:`~gxopt.errors.SolverError`.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from gxopt.errors import SolverError
from gxopt.lp.face import restrict
from gxopt.lp.program import Program
from gxopt.lp.result import SolveResult


def _columns(m: pyo.ConcreteModel) -> list[pyo.Var]:
    return [m.component(f)[j] for f in m.families for j in m.component(f)]


def _rows(m: pyo.ConcreteModel, prog: Program) -> list[object]:
    """Every row of every block in program order; None where the row had no term (skipped by pyomo)."""
    out = []
    for name, block in prog.rows.items():
        con = m.component(name)
        out += [con[i] if i in con else None for i in range(len(block))]
    return out


def solve(m: pyo.ConcreteModel, prog: Program, *, dual_tol: float = 1e-7, time_limit: float = 600.0) -> SolveResult:
    """Solve every stage of ``m`` (built from ``prog``) in order and return the final allocation."""
    cols = _columns(m)
    if not cols:
        return SolveResult.empty(prog, [s.name for s in prog.stages])
    opt = SolverFactory("highs")
    if not opt.available():
        msg = "the HiGHS solver (highspy) is not available: pip install highspy"
        raise SolverError(msg)
    rows = _rows(m, prog)
    row_lo = np.concatenate([b.lower for b in prog.rows.values()]).astype(float)
    row_up = np.concatenate([b.upper for b in prog.rows.values()]).astype(float)
    values: dict[str, float] = {}
    seconds: dict[str, float] = {}
    first: tuple[np.ndarray, np.ndarray] | None = None
    m.objective_fix = pyo.ConstraintList()
    x = np.zeros(len(cols))
    prev = None
    for stage in prog.stages:
        obj = m.component(f"objective_{stage.name}")
        if prev is not None:
            prev.deactivate()
        obj.activate()
        t0 = time.perf_counter()
        res = opt.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                        time_limit=time_limit, solver_options={"output_flag": False, "threads": 1})
        seconds[stage.name] = time.perf_counter() - t0
        ok = (res.termination_condition == TerminationCondition.convergenceCriteriaSatisfied
              and res.solution_status == SolutionStatus.optimal)
        if not ok:
            msg = (f"HiGHS did not prove an optimum in stage '{stage.name}': termination "
                   f"{res.termination_condition.name}, solution {res.solution_status.name}")
            raise SolverError(msg)
        loader = res.solution_loader
        loader.load_vars()
        x = np.array([pyo.value(v) for v in cols], dtype=float)
        rc_map = loader.get_reduced_costs()
        rc = np.array([float(rc_map.get(v, 0.0)) for v in cols])
        live = [r for r in rows if r is not None]
        dual_map = loader.get_duals(live) if live else {}
        dual = np.array([0.0 if r is None else float(dual_map[r]) for r in rows])
        act = np.array([0.0 if r is None else pyo.value(r.body) for r in rows])
        c = np.concatenate([np.asarray(stage.costs[f], float) for f in m.families])
        values[stage.name] = float(c @ x)
        if first is None:
            first = (dual, rc)
        col_lo = np.array([-np.inf if v.lb is None else v.lb for v in cols], dtype=float)
        col_up = np.array([np.inf if v.ub is None else v.ub for v in cols], dtype=float)
        face = restrict(x, col_lo, col_up, rc, act, row_lo, row_up, dual, dual_tol)
        for j, val in zip(face.cols.tolist(), face.col_value.tolist()):
            cols[j].setlb(val)  # bounds, not var.fix(): the persistent interface removes fixed columns one by one
            cols[j].setub(val)
        for i, val in zip(face.rows.tolist(), face.row_value.tolist()):
            row_lo[i] = row_up[i] = val
            m.objective_fix.add(rows[i].body == val)
        prev = obj
    dual, rc = first if first is not None else (np.zeros(len(rows)), np.zeros(len(cols)))
    return SolveResult.from_arrays(prog, x, dual, rc, values, seconds, "optimal", f"HiGHS {opt.version()}")
