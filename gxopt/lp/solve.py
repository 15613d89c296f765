"""Solving the allocation LP with HiGHS through pyomo: lexicographic stages, status mapping, duals.

Stages are solved one after the other on one persistent HiGHS instance (hot starts). After each
stage the model is restricted to that stage's optimal face by complementary slackness with the
stage's optimal duals: every arc at zero with a non-zero reduced cost gets an upper bound of zero and every
tight constraint with a non-zero dual becomes an equality. The current optimum stays feasible, so
later stages can only choose among solutions of exactly the same earlier objective values: the
first objective loses nothing, not even a tolerance. Any non-optimal termination raises
:class:`~gxopt.errors.SolverError`.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from gxopt.errors import SolverError
from gxopt.lp.names import STAGES
from gxopt.lp.result import SolveResult


def _restrict_to_optimal_face(m: pyo.ConcreteModel, res: object, tol: float) -> None:
    """Fix zero arcs with non-zero reduced cost and make tight constraints with non-zero duals equalities."""
    loader = res.solution_loader  # type: ignore[attr-defined]
    rc = loader.get_reduced_costs()
    for a in m.ARCS:
        var = m.reps[a]
        if var.ub is None and abs(float(rc.get(var, 0.0))) > tol and abs(pyo.value(var)) <= tol:
            var.setub(0.0)  # a bound, not var.fix(): the persistent interface removes fixed columns one by one
    cons = [c for fam in ("pool_account", "order_cap", "allocation_conservation")
            for c in m.component(fam).values()]
    duals = loader.get_duals(cons)
    for c in cons:
        if abs(float(duals[c])) > tol and abs(pyo.value(c.body) - pyo.value(c.upper)) <= tol * max(
                1.0, abs(pyo.value(c.upper))):
            m.objective_fix.add(c.body >= pyo.value(c.upper))


def solve(m: pyo.ConcreteModel, *, dual_tol: float = 1e-7, time_limit: float = 600.0) -> SolveResult:
    """Solve every stage of ``m`` in order and return the final allocation.

    Raises
    ------
    SolverError
        When HiGHS is not available or a stage ends without a proven optimum.
    """
    n = len(m.ARCS)
    if n == 0:
        return SolveResult(np.zeros(0), {name: 0.0 for name, _, _ in STAGES}, {}, "optimal (no eligible arc)",
                           "none")
    opt = SolverFactory("highs")
    if not opt.available():
        msg = "the HiGHS solver (highspy) is not available: pip install highspy"
        raise SolverError(msg)
    values: dict[str, float] = {}
    seconds: dict[str, float] = {}
    duals: dict[str, float] = {}
    m.objective_fix = pyo.ConstraintList()
    prev = None
    for name, _, _ in STAGES:
        obj = m.component(f"objective_{name}")
        if prev is not None:
            prev.deactivate()
        obj.activate()
        t0 = time.perf_counter()
        res = opt.solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                        time_limit=time_limit, solver_options={"output_flag": False, "threads": 1, "simplex_strategy": 4})
        seconds[name] = time.perf_counter() - t0
        ok = (res.termination_condition == TerminationCondition.convergenceCriteriaSatisfied
              and res.solution_status == SolutionStatus.optimal)
        if not ok:
            msg = (f"HiGHS did not prove an optimum in stage '{name}': termination "
                   f"{res.termination_condition.name}, solution {res.solution_status.name}")
            raise SolverError(msg)
        res.solution_loader.load_vars()
        z = float(res.incumbent_objective)
        values[name] = z
        if name == "value":
            raw = res.solution_loader.get_duals([m.pool_account[p] for p in m.POOLS])
            duals = {p: abs(float(raw[m.pool_account[p]])) for p in m.POOLS}
        _restrict_to_optimal_face(m, res, dual_tol)
        prev = obj
    x = np.array([pyo.value(m.reps[a]) for a in m.ARCS], dtype=float)
    x[np.abs(x) < 1e-9] = 0.0
    return SolveResult(np.maximum(x, 0.0), values, duals, "optimal", f"HiGHS {opt.version()}", seconds)
