r"""The allocation LP in pyomo: one ``define_*`` function per family, called in a fixed order.

Symbols used in the docstrings:

==============  ====  ==========================================================
symbol          type  meaning
==============  ====  ==========================================================
:math:`a`       set   eligible arcs (pool :math:`p(a)`, demand class :math:`o(a)`)
:math:`x_a`     var   ``reps[a]``: t-CO2e drawn from pool p(a) for the orders of class o(a)
:math:`A_p`     par   REPs of pool p less earlier use (``available_t``)
:math:`L_p`     par   part of pool p added to residual CFPs, less earlier use (``alloc_limit_t``)
:math:`C_o`     par   cap of class o: the sum of its orders' caps (``cap_t``)
:math:`\pi_o`   par   premium of class o per t-CO2e
==============  ====  ==========================================================

A class is a set of interchangeable orders (same method, premium, product site and eligible pools;
see :func:`gxopt.eligibility.eligibility`); with ``aggregate=False`` each order is its own class.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from gxopt.eligibility import Eligibility
from gxopt.lp.names import STAGES, stage_costs


def _groups(keys: np.ndarray) -> dict[object, list[int]]:
    """Positions of each distinct key: ``{key: [i, ...]}`` in ascending position order."""
    if len(keys) == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return {sorted_keys[s]: order[s:e].tolist() for s, e in zip(np.r_[0, cuts], np.r_[cuts, len(keys)])}


def define_sets(m: pyo.ConcreteModel, elig: Eligibility) -> None:
    """``ARCS`` (0..n-1 over ``elig.arcs``), ``POOLS`` and ``ORDERS`` (classes) that have at least one arc."""
    arcs = elig.arcs
    m.ARCS = pyo.RangeSet(0, len(arcs) - 1) if len(arcs) else pyo.Set(initialize=[])
    m.arcs_of_pool = _groups(arcs["pool_id"].to_numpy())
    m.arcs_of_order = _groups(arcs["class_id"].to_numpy())
    alloc = arcs["method"].to_numpy() == "allocation"
    idx = np.flatnonzero(alloc)
    m.alloc_arcs_of_pool = {p: idx[a].tolist() for p, a in _groups(arcs["pool_id"].to_numpy()[alloc]).items()}
    m.POOLS = pyo.Set(initialize=sorted(m.arcs_of_pool), ordered=True)
    m.ORDERS = pyo.Set(initialize=sorted(m.arcs_of_order), ordered=True)


def define_variables(m: pyo.ConcreteModel, elig: Eligibility) -> None:
    r"""``reps[a]`` :math:`x_a \ge 0`: REPs drawn along each eligible arc only (6.7, 7.2.3, 8.2.2, 8.2.3)."""
    m.reps = pyo.Var(m.ARCS, domain=pyo.NonNegativeReals)


def define_pool_account(m: pyo.ConcreteModel, elig: Eligibility) -> None:
    r"""Account of each pool, shared by both methods: no REP is used twice and no balance goes negative.

    .. math:: \sum_{a: p(a)=p} x_a \le A_p \quad \forall p

    JISF 7.2.1 / 8.2.1 (account), 7.3.1 (assignment shall not exceed the REPs in the account).
    """
    avail = elig.pools.set_index("pool_id")["available_t"]
    m.pool_account = pyo.Constraint(
        m.POOLS, rule=lambda m, p: sum(m.reps[a] for a in m.arcs_of_pool[p]) <= float(avail[p]))


def define_order_cap(m: pyo.ConcreteModel, elig: Eligibility) -> None:
    r"""Per-order cap.

    .. math:: \sum_{a: o(a)=o} x_a \le C_o \quad \forall o

    Mass balance: :math:`C_o = T_o (s1 + s2 + R_k)` (7.3.2: never above the product's scope 1+2 intensity on
    the pre-project basis, General CFP + the REPs :math:`R_k` it already contains; never the upstream
    scope 3 part). Allocation: :math:`C_o = \alpha^{max}_o T_o (s1 + s2 + s3^{alloc} + R_k)`
    with :math:`\alpha \le 1`, so the scope 1+2 part never falls below zero (8.1.1, 8.3.2). Both are
    also capped by ``requested_reps_t``.
    """
    cap = elig.classes.set_index("class_id")["cap_t"]
    m.order_cap = pyo.Constraint(
        m.ORDERS, rule=lambda m, o: sum(m.reps[a] for a in m.arcs_of_order[o]) <= float(cap[o]))


def define_allocation_conservation(m: pyo.ConcreteModel, elig: Eligibility) -> None:
    r"""GX Allocation moves no more emissions than the REPs added to residual CFPs.

    .. math:: \sum_{a: p(a)=p,\ o(a) \in \text{allocation}} x_a \le L_p \quad \forall p

    With :math:`\sum_k P_k\,\text{Residual}_k = \text{actual emissions} + \sum_p L_p`, this keeps the
    organization's total emissions after allocation at or above the actual total (8.1, 8.3.1).
    """
    limit = elig.pools.set_index("pool_id")["alloc_limit_t"]
    m.ALLOC_POOLS = pyo.Set(initialize=sorted(m.alloc_arcs_of_pool), ordered=True)
    m.allocation_conservation = pyo.Constraint(
        m.ALLOC_POOLS, rule=lambda m, p: sum(m.reps[a] for a in m.alloc_arcs_of_pool[p]) <= float(limit[p]))


def define_objectives(m: pyo.ConcreteModel, elig: Eligibility) -> None:
    """One deactivated objective per lexicographic stage (see :data:`gxopt.lp.names.STAGES`)."""
    coef = stage_costs(elig)
    for name, sense, _ in STAGES:
        c = coef[name]
        expr = sum(float(c[a]) * m.reps[a] for a in m.ARCS if c[a] != 0.0)
        obj = pyo.Objective(expr=expr, sense=pyo.maximize if sense == "max" else pyo.minimize)
        m.add_component(f"objective_{name}", obj)
        obj.deactivate()


def build_model(elig: Eligibility) -> pyo.ConcreteModel:
    """Build the allocation LP from the eligibility tables, families in a fixed order."""
    m = pyo.ConcreteModel(name="gxopt_allocation")
    define_sets(m, elig)
    define_variables(m, elig)
    define_pool_account(m, elig)
    define_order_cap(m, elig)
    define_allocation_conservation(m, elig)
    define_objectives(m, elig)
    return m
