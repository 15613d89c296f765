"""The readable reference: a :class:`~gxopt.lp.program.Program` written as a pyomo model.

One ``pyo.Var`` per column family (``reps``, ``served``) and one ``pyo.Constraint`` per row block
(``pool_account``, ``class_balance``, ``allocation_conservation``), each indexed by the block's row labels
and built from the same terms the array path passes to HiGHS; one deactivated objective per stage. The
maths and clause of each family are in the docstrings of :mod:`gxopt.lp.program`.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from gxopt.lp.program import Program, Rows


def _bound(v: float) -> float | None:
    return None if np.isinf(v) else float(v)


def _rows_of(block: Rows) -> list[list[tuple[str, int, float]]]:
    """``[(family, column, coefficient), ...]`` of every row of ``block``."""
    out: list[list[tuple[str, int, float]]] = [[] for _ in range(len(block))]
    for t in block.terms:
        for r, c, v in zip(np.asarray(t.row).tolist(), np.asarray(t.col).tolist(), np.asarray(t.coef).tolist()):
            if v != 0:
                out[r].append((t.family, c, v))
    return out


def build_model(prog: Program) -> pyo.ConcreteModel:
    """Build the pyomo model of ``prog``: families, blocks and stage objectives in the program's order."""
    m = pyo.ConcreteModel(name="gxopt_allocation")
    m.families = list(prog.columns)
    m.blocks = list(prog.rows)
    for name, fam in prog.columns.items():
        lo, up = fam.lower, fam.upper
        var = pyo.Var(pyo.RangeSet(0, len(fam) - 1) if len(fam) else pyo.Set(initialize=[]),
                      bounds=lambda _m, j, lo=lo, up=up: (_bound(lo[j]), _bound(up[j])))
        m.add_component(name, var)
    for name, block in prog.rows.items():
        terms = _rows_of(block)

        def rule(mm: pyo.ConcreteModel, i: int, block: Rows = block, terms: list = terms) -> object:
            body = sum(v * mm.component(f)[c] for f, c, v in terms[i])
            if isinstance(body, (int, float)):
                return pyo.Constraint.Skip
            return (_bound(block.lower[i]), body, _bound(block.upper[i]))

        m.add_component(name, pyo.Constraint(pyo.RangeSet(0, len(block) - 1) if len(block) else
                                             pyo.Set(initialize=[]), rule=rule))
    for stage in prog.stages:
        expr = sum(float(c) * m.component(f)[j] for f, cost in stage.costs.items()
                   for j, c in enumerate(np.asarray(cost).tolist()) if c != 0)
        obj = pyo.Objective(expr=expr, sense=pyo.maximize if stage.sense == "max" else pyo.minimize)
        m.add_component(f"objective_{stage.name}", obj)
        obj.deactivate()
    return m
