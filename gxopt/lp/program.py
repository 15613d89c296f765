r"""The one definition of the allocation LP: column families, row blocks and stage objectives as arrays.

Every consumer builds from the :class:`Program` made here: the highspy array path
(:mod:`gxopt.lp.highs`), the readable pyomo reference (:mod:`gxopt.lp.model`) and quotes
(:mod:`gxopt.quote`). Duals and reduced costs come back keyed by the family names below, so binding
reasons are looked up by name, never by row arithmetic.

Symbols (``docs/formulation.md`` lists the same families; a test checks the two agree):

==================  ====  ============================================================================
symbol              type  meaning
==================  ====  ============================================================================
:math:`p`           set   pools (project x calculation period) with at least one arc
:math:`e`           set   eligibility classes: orders with the same method, crude-steel site and set of
                          eligible pools (never split by premium, volume or delivery rank)
:math:`o`           set   orders that can be served; :math:`e(o)` is the class of order o
:math:`y_{pe}`      var   ``reps``: t-CO2e drawn from pool p for the orders of class e (eligible arcs only)
:math:`z_o`         var   ``served``: t-CO2e that order o receives
:math:`A_p`         par   REPs of pool p less earlier use (``available_t``)
:math:`L_p`         par   part of pool p added to residual CFPs, less earlier use (``alloc_limit_t``)
:math:`C_o`         par   cap of order o (``cap_t``)
:math:`\pi_o`       par   premium of order o per t-CO2e
==================  ====  ============================================================================

Premium, volume and delivery rank belong to the order (:math:`z_o`); expiry and same-site belong to
the pool-to-class arc (:math:`y_{pe}`). Every stage's objective is therefore a function of
:math:`(y, z)`, and any split of a class's arcs among its orders that matches the :math:`z_o` is
feasible for the per-order LP with the same objective in every stage: the class LP is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INF = float("inf")


@dataclass(frozen=True)
class Network:
    """The data the blocks are defined on (positions, not ids, so every consumer shares them).

    Pools ``0..P-1`` (``pool_ids``), classes ``0..E-1``, arcs (``arc_pool``, ``arc_class``), demand columns
    (``order_class`` with bounds ``order_lower``/``order_upper``). A quote uses the same network with one
    demand column per booked class fixed at its booked total, plus the quote's class.
    """

    pool_ids: np.ndarray
    available: np.ndarray
    alloc_limit: np.ndarray
    n_classes: int
    arc_pool: np.ndarray
    arc_class: np.ndarray
    arc_alloc: np.ndarray
    arc_expiry_days: np.ndarray
    arc_same_site: np.ndarray
    order_class: np.ndarray
    order_lower: np.ndarray
    order_upper: np.ndarray
    order_premium: np.ndarray
    order_weight: np.ndarray


@dataclass(frozen=True)
class Columns:
    """A family of columns: bounds per column (columns are arc or order positions of the network)."""

    name: str
    lower: np.ndarray
    upper: np.ndarray

    def __len__(self) -> int:
        return len(self.lower)


@dataclass(frozen=True)
class Term:
    """Entries of a block in one column family: coefficient ``coef`` at (``row``, ``col``)."""

    family: str
    row: np.ndarray
    col: np.ndarray
    coef: np.ndarray


@dataclass(frozen=True)
class Rows:
    """A named block of rows ``lower <= sum of terms <= upper``; ``labels`` say what each row is."""

    name: str
    labels: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    terms: tuple[Term, ...]

    def __len__(self) -> int:
        return len(self.lower)


@dataclass(frozen=True)
class Stage:
    """One lexicographic stage: sense and the cost of every column, per family."""

    name: str
    sense: str
    costs: dict[str, np.ndarray]
    meaning: str = ""


@dataclass(frozen=True)
class Program:
    """Column families, row blocks and stages, in the order every consumer lays them out."""

    columns: dict[str, Columns]
    rows: dict[str, Rows]
    stages: tuple[Stage, ...]

    def column_offsets(self) -> dict[str, int]:
        """First column of each family when the families are laid end to end."""
        out, at = {}, 0
        for name, c in self.columns.items():
            out[name] = at
            at += len(c)
        return out

    def row_offsets(self) -> dict[str, int]:
        """First row of each block when the blocks are laid end to end."""
        out, at = {}, 0
        for name, r in self.rows.items():
            out[name] = at
            at += len(r)
        return out


def _ones(n: int) -> np.ndarray:
    return np.ones(n, dtype=float)


def define_reps(net: Network) -> Columns:
    r"""``reps`` :math:`y_{pe} \ge 0`: REPs drawn from pool p for class e, along eligible arcs only.

    An arc exists only where the pool's project is physically connected to the product (6.7, 7.2.3), the
    gas matches (7.3.1), the pool has not expired by delivery (7.2.2) or lies in the CFP data period
    (8.2.2): see :mod:`gxopt.eligibility`.
    """
    n = len(net.arc_pool)
    return Columns("reps", np.zeros(n), np.full(n, INF))


def define_served(net: Network) -> Columns:
    r"""``served`` :math:`0 \le z_o \le C_o`: the order cap, as the bounds of each order's column.

    Mass balance: :math:`C_o = T_o (s1 + s2 + R_k)` (7.3.2: never above the product's scope 1+2 intensity
    on the pre-project basis, General CFP + the REPs :math:`R_k` it already contains; never the upstream
    scope 3 part). Allocation: :math:`C_o = \alpha^{max}_o T_o (s1 + s2 + s3^{alloc} + R_k)` with
    :math:`\alpha \le 1`, so the scope 1+2 part never falls below zero (8.1.1, 8.3.2). Both are also
    capped by ``requested_reps_t``. (Family name in results and ``verify``: ``order_cap``.)
    """
    return Columns("served", np.asarray(net.order_lower, float), np.asarray(net.order_upper, float))


def define_pool_account(net: Network) -> Rows:
    r"""Account of each pool, shared by both methods: no REP is used twice and no balance goes negative.

    .. math:: \sum_{e} y_{pe} \le A_p \quad \forall p

    JISF 7.2.1 / 8.2.1 (account), 7.3.1 (assignment shall not exceed the REPs in the account).
    """
    n = len(net.arc_pool)
    p = len(net.pool_ids)
    return Rows("pool_account", np.asarray(net.pool_ids), np.full(p, -INF), np.asarray(net.available, float),
                (Term("reps", np.asarray(net.arc_pool), np.arange(n), _ones(n)),))


def define_class_balance(net: Network) -> Rows:
    r"""What the arcs of a class bring is what its orders receive.

    .. math:: \sum_{p} y_{pe} - \sum_{o: e(o)=e} z_o = 0 \quad \forall e

    Every order of a class may draw on every pool of the class, so any :math:`(y, z)` satisfying this
    splits into per-order lines (:mod:`gxopt.split`) with the same objective in every stage.
    """
    n, m = len(net.arc_class), len(net.order_class)
    e = net.n_classes
    return Rows("class_balance", np.arange(e), np.zeros(e), np.zeros(e),
                (Term("reps", np.asarray(net.arc_class), np.arange(n), _ones(n)),
                 Term("served", np.asarray(net.order_class), np.arange(m), -_ones(m))))


def define_allocation_conservation(net: Network) -> Rows:
    r"""GX Allocation moves no more emissions than the REPs added to residual CFPs.

    .. math:: \sum_{e \in \text{allocation}} y_{pe} \le L_p \quad \forall p \text{ with allocation arcs}

    With :math:`\sum_k P_k\,\text{Residual}_k = \text{actual emissions} + \sum_p L_p`, this keeps the
    organization's total emissions after allocation at or above the actual total (8.1, 8.3.1).
    """
    alloc = np.flatnonzero(np.asarray(net.arc_alloc, bool))
    pools, row = np.unique(np.asarray(net.arc_pool)[alloc], return_inverse=True)
    return Rows("allocation_conservation", np.asarray(net.pool_ids)[pools], np.full(len(pools), -INF),
                np.asarray(net.alloc_limit, float)[pools],
                (Term("reps", row.astype(np.int64), alloc, _ones(len(alloc))),))


STAGES = (
    ("value", "max", "sum of premium x REPs delivered"),
    ("volume", "max", "REPs delivered (no REP left idle that an order could take at equal value)"),
    ("expiry", "min", "REPs x days to the pool's expiry: pools that expire sooner first"),
    ("site", "max", "REPs from the site where the product's crude steel is made (SteelZero site-level link)"),
    ("order", "min", "REPs x order rank (by delivery, then order id): deterministic ties"),
)
"""(name, sense, meaning) of every stage, in order."""


def define_stages(net: Network) -> tuple[Stage, ...]:
    r"""The lexicographic objective, stage by stage; each later stage keeps every earlier one at its optimum.

    1. ``value`` (max) :math:`\sum_o \pi_o z_o`: premium earned;
    2. ``volume`` (max) :math:`\sum_o z_o`: no REP left idle that an order could take at equal value;
    3. ``expiry`` (min) :math:`\sum_{pe} d_p y_{pe}`: days to expiry, pools that expire sooner first;
    4. ``site`` (max) :math:`\sum_{pe} s_{pe} y_{pe}`: REPs from the product's crude-steel site (SteelZero);
    5. ``order`` (min) :math:`\sum_o r_o z_o`: rank by delivery date then order id, deterministic ties.
    """
    m, n = len(net.order_class), len(net.arc_class)
    coef = {"value": ("served", net.order_premium), "volume": ("served", _ones(m)),
            "expiry": ("reps", net.arc_expiry_days), "site": ("reps", net.arc_same_site),
            "order": ("served", net.order_weight)}
    stages = []
    for name, sense, meaning in STAGES:
        family, c = coef[name]
        costs = {"reps": np.zeros(n), "served": np.zeros(m)} | {family: np.asarray(c, float)}
        stages.append(Stage(name, sense, costs, meaning))
    return tuple(stages)


COLUMN_FAMILIES = (define_reps, define_served)
ROW_BLOCKS = (define_pool_account, define_class_balance, define_allocation_conservation)


def program(net: Network) -> Program:
    """The LP of ``net``: every family in its fixed order (the only place the LP is defined)."""
    columns = {c.name: c for c in (f(net) for f in COLUMN_FAMILIES)}
    rows = {r.name: r for r in (f(net) for f in ROW_BLOCKS)}
    return Program(columns, rows, define_stages(net))


FAMILIES = {
    "reps": define_reps, "order_cap": define_served, "pool_account": define_pool_account,
    "class_balance": define_class_balance, "allocation_conservation": define_allocation_conservation,
    "objective_fix": define_stages,
}
"""Every family of the LP by its stable name (``order_cap`` is the bound block of the ``served`` columns;
``objective_fix`` the optimal-face restriction between stages, :mod:`gxopt.lp.face`)."""
