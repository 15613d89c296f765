"""Available-to-promise quotes: the largest GX tonnage of a product that can still be promised, and why.

A :class:`Quoter` keeps a solved run (the booked order book) and answers many quotes against it:

- ``keep=True``: booked orders keep their exact pool lines; the quote draws on what is left.
- default (re-optimizing): booked orders keep every t-CO2e they were given, but may switch to other
  eligible pools, which often frees a pool the quote needs.

Each answer gives the tonnage, the REPs it needs, the pools it would draw, the binding reasons in plain
words, and shadow prices: the extra tonnes one more t-CO2e in a pool would allow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gxopt.eligibility import key_candidates, usable_pools
from gxopt.errors import InputError, Issue
from gxopt.lp.highs import solve_program
from gxopt.lp.program import Network, program
from gxopt.pipeline import RunResult
from gxopt.reps import DUST_T

EPS = 1e-6


@dataclass(frozen=True)
class QuoteRequest:
    """What the planner asks: product, method, delivery, and the GX level per tonne."""

    product_id: str
    method: str
    delivery_date: dt.date
    customer: str | None = None
    alpha: float | None = None
    target_cfp: float | None = None
    reps_per_t: float | None = None
    gas: str | None = None
    keep: bool = False


@dataclass
class Quote:
    """The answer: promisable GX tonnage and its reasons (``to_dict`` gives the JSON form)."""

    product_id: str
    method: str
    mode: str
    gx_tonnage_t: float
    reps_t: float
    reps_per_t: float
    alpha: float | None
    allocated_cfp: float | None
    pools: list[dict[str, Any]] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)
    shadow_prices: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def allocated_above_general(allocated: float | None, general: float) -> list[str]:
    """Buyer protection: an Allocated CFP above the product's General CFP buys a worse number than the plain CFP."""
    if allocated is None or allocated <= general + 1e-9:
        return []
    return [f"the Allocated CFP {allocated:.3f} would be ABOVE the product's General CFP {general:.3f} t-CO2e/t: the "
            "buyer would pay a premium for a higher footprint than the product's ordinary one (8.1.1: low GX value "
            "goes to the Residual CFP); choose a higher alpha or mass balance"]


class Quoter:
    """Quotes against one solved run; build once, ask many times."""

    def __init__(self, base: RunResult) -> None:
        self.base = base
        e = base.eligibility
        self.elig = e
        self.pools = e.pools.set_index("pool_id")
        self.products = e.products.set_index("product_id")
        # per-quote reads as plain dicts (a pandas .at costs ~20 us; a quote reads dozens)
        self.pool_facts = {str(p): {"project_id": str(r["project_id"]), "site": r["site"],
                                    "available_t": float(r["available_t"]), "alloc_limit_t": float(r["alloc_limit_t"]),
                                    "expires": str(r["mb_expires"].date())}
                           for p, r in self.pools.iterrows()}
        self.product_facts = self.products.to_dict("index")
        self.raw_products = base.scenario.model.products.set_index("product_id")
        self.first_start = base.scenario.periods.groupby("project_id")["period_start"].min()  # once, not per quote
        self.ok_pools = usable_pools(e.pools)
        self.expiries = np.sort(self.ok_pools["mb_expires"].unique())
        self._pools_of_key: dict[tuple[str, str, str, int], tuple[list[str], str]] = {}
        self._excluded_of_key: dict[tuple[object, ...], list[str]] = {}
        self._solved: dict[tuple[tuple[str, ...], bool, bool], tuple[np.ndarray, dict[str, float], list[str]]] = {}
        res = base.results.pools.set_index("pool_id")
        self.used_run = res["used_run_t"]
        self.used_alloc_run = res["used_allocation_t"]
        # booked REPs per eligibility class, from the base solution (result orders are in eligibility order)
        cls = e.orders["class_id"].to_numpy(np.int64)
        got = cls >= 0
        self.class_total = np.bincount(cls[got], weights=base.results.orders["reps_t"].to_numpy(float)[got],
                                       minlength=len(e.classes))
        # re-optimizing quotes keep every booked class at its total: its arcs, once for all quotes
        booked = np.flatnonzero(self.class_total > EPS)
        self.booked_arcs = e.arcs[np.isin(e.arcs["class_id"].to_numpy(), booked)]
        self.booked_class = np.searchsorted(booked, self.booked_arcs["class_id"].to_numpy())
        self.booked_total = self.class_total[booked]

    # ---- the per-tonne need -------------------------------------------------------------------------
    def _need(self, req: QuoteRequest) -> tuple[float, float | None, float | None]:
        """(REPs per tonne, alpha, allocated CFP) for the request, or InputError with the rule."""
        def bad(col: str, rule: str, clause: str | None = None, value: object = None) -> InputError:
            return InputError([Issue("quote", None, col, rule, clause, None if value is None else str(value))])

        if req.product_id not in self.product_facts:
            raise bad("product", "unknown product", value=req.product_id)
        if req.method not in ("mass_balance", "allocation"):
            raise bad("method", "must be mass_balance or allocation", value=req.method)
        p = self.product_facts[req.product_id]
        given = [x is not None for x in (req.alpha, req.target_cfp, req.reps_per_t)]
        if sum(given) > 1:
            raise bad("alpha", "give at most one of alpha (the GX value), target_cfp (the allocated CFP wanted) "
                      "and reps_per_t (the REPs per tonne wanted)")
        if req.method == "mass_balance":
            if req.alpha is not None or req.target_cfp is not None:
                raise bad("alpha" if req.alpha is not None else "target_cfp", "the GX value and a target CFP are "
                          "for GX Allocation; for GX Mass Balance give the REPs per tonne (reps_per_t)")
            r = float(p["mb_cap_cfp"]) if req.reps_per_t is None else float(req.reps_per_t)
            if not 0 < r <= p["mb_cap_cfp"] + 1e-12:
                raise bad("reps_per_t", f"must be in (0, {p['mb_cap_cfp']:g}]: at most the product's scope 1+2 "
                          "intensity on the pre-project basis (scope 1 + scope 2 + the REPs its CFP already "
                          "contains), never its upstream scope 3 part", "7.3.2", r)
            return r, None, None
        subject, non_alloc = float(p["subject_cfp"]), float(p["non_allocable"])
        if req.target_cfp is not None:
            alpha = 1 - (req.target_cfp - non_alloc) / subject
        elif req.reps_per_t is not None:
            alpha = req.reps_per_t / subject
        else:
            alpha = 1.0 if req.alpha is None else float(req.alpha)
        if not 0 < alpha <= 1 + 1e-12:
            field = "target_cfp" if req.target_cfp is not None else "reps_per_t" if req.reps_per_t is not None else "alpha"
            raise bad(field, f"the GX value alpha must be in (0, 1]; the allocated CFP can range from "
                      f"{non_alloc:g} (alpha 1) to {subject + non_alloc:g} (alpha 0)", "8.1.1", round(alpha, 6))
        alpha = min(alpha, 1.0)
        return alpha * subject, alpha, subject * (1 - alpha) + non_alloc

    # ---- the eligible pools of the quote --------------------------------------------------------------
    def _eligible(self, req: QuoteRequest) -> tuple[list[str], str]:
        s = self.base.scenario.settings
        if req.method == "allocation":
            op0, op1 = pd.Timestamp(s.operational_period.start), pd.Timestamp(s.operational_period.end)
            if not op0 <= pd.Timestamp(req.delivery_date) <= op1:
                return [], "delivery outside the operational period of the allocated CFP (8.2.3)"
        if not bool(self.product_facts[req.product_id]["cfp_data_usable"]):
            return [], "the product's CFP data ended more than five years before the run date, with no stated justification (5.2.2)"
        key = self._key(req)
        if key not in self._pools_of_key:  # the same key has the same pools for the life of this quoter
            keys = pd.DataFrame({"key_id": [0], "product_id": [key[0]], "method": [key[1]], "gas": [key[2]],
                                 "window": [key[3]]})
            cand, stages = key_candidates(keys, self.elig.connections, self.ok_pools, self.expiries,
                                          pd.Timestamp(s.as_of), self.raw_products, self.first_start)
            why = next((text for text, ok in stages if 0 not in ok), "")
            self._pools_of_key[key] = ([], why) if why else (sorted(cand["pool_id"].unique()), "")
        return self._pools_of_key[key]

    def _key(self, req: QuoteRequest) -> tuple[str, str, str, int]:
        """What decides which pools a quote may draw: product, method, gas and delivery window (7.2.2)."""
        delivery = np.datetime64(pd.Timestamp(req.delivery_date))
        window = 0 if req.method == "allocation" else int(np.searchsorted(self.expiries, delivery, side="left"))
        return (req.product_id, req.method, req.gas or "", window)

    # ---- the quote --------------------------------------------------------------------------------------
    def quote(self, req: QuoteRequest) -> Quote:
        """Largest promisable tonnage for ``req`` with pools, binding reasons and shadow prices."""
        r, alpha, allocated = self._need(req)
        eligible, why_not = self._eligible(req)
        mode = "keep" if req.keep else "re-optimize"
        q = Quote(req.product_id, req.method, mode, 0.0, 0.0, r, alpha, allocated)
        product = self.product_facts[req.product_id]
        q.warnings = allocated_above_general(allocated, float(product["general_cfp"]))
        if not eligible:
            q.binding = [why_not] + self._excluded(req, [])
            return q
        is_alloc = req.method == "allocation"
        x, pool_dual, binding = self._solve_once(eligible, is_alloc, req.keep)
        total = float(x.sum())
        q.reps_t = total
        q.gx_tonnage_t = total / r
        facts = self.pool_facts
        q.pools = [{"pool_id": p, "project_id": facts[p]["project_id"], "reps_t": float(v),
                    "expires": facts[p]["expires"], "same_site": bool(facts[p]["site"] == product["crude_steel_site"])}
                   for p, v in zip(eligible, x) if v >= DUST_T]  # dust is never issued or held
        q.shadow_prices = {p: d / r for p, d in pool_dual.items()}
        q.binding = binding + self._excluded(req, eligible)
        return q

    def _solve_once(self, eligible: list[str], is_alloc: bool, keep: bool,
                    ) -> tuple[np.ndarray, dict[str, float], list[str]]:
        """(REPs per eligible pool, non-zero pool_account duals, binding reasons), solved once per (eligible pools,
        method, mode) for the life of this quoter: the quote's LP depends on nothing else (the REPs per tonne only
        divide its optimum), and the booked book is fixed until the ledger changes, when the service builds a new
        quoter."""
        key = (tuple(eligible), is_alloc, keep)
        if key not in self._solved:
            x, pool_dual, alloc_dual = self._solve(eligible, is_alloc, keep)
            x.flags.writeable = False
            duals = {str(p): float(d) for p, d in pool_dual.items() if abs(d) > 1e-9}
            self._solved[key] = (x, duals, self._binding(eligible, pool_dual, alloc_dual, keep))
        return self._solved[key]

    def _solve(self, eligible: list[str], is_alloc: bool, keep: bool,
               ) -> tuple[np.ndarray, pd.Series, pd.Series]:
        """The quote as one more class of the run's LP (:mod:`gxopt.lp.program`), stages volume then expiry.

        keep: booked orders keep their exact lines, so only what they left in each pool is there.
        Re-optimizing: every booked class keeps its total (a demand column fixed at it) but may draw on any
        of its eligible pools. Returns (REPs per eligible pool, pool_account duals, allocation duals).
        """
        q_pools = np.asarray(eligible, dtype=object)
        booked = self.booked_arcs.iloc[:0] if keep else self.booked_arcs
        b_class = self.booked_class[:0] if keep else self.booked_class
        totals = np.zeros(0) if keep else self.booked_total
        pool_ids, arc_pool = np.unique(np.concatenate([booked["pool_id"].to_numpy(object), q_pools]),
                                       return_inverse=True)
        avail = self.pools["available_t"].reindex(pool_ids).to_numpy(float)
        limit = self.pools["alloc_limit_t"].reindex(pool_ids).to_numpy(float)
        if keep:
            avail = np.maximum(avail - self.used_run.reindex(pool_ids).fillna(0.0).to_numpy(float), 0.0)
            limit = np.maximum(limit - self.used_alloc_run.reindex(pool_ids).fillna(0.0).to_numpy(float), 0.0)
        n_b, n_q, q_class = len(booked), len(q_pools), len(totals)
        expiry = (self.pools["mb_expires"].reindex(q_pools) - pd.Timestamp(self.base.scenario.settings.as_of)
                  ).dt.days.to_numpy(float)
        net = Network(  # booked arcs cost nothing in the expiry stage, booked columns are fixed: only the quote moves
            pool_ids=pool_ids, available=avail, alloc_limit=limit, n_classes=q_class + 1,
            arc_pool=arc_pool.ravel().astype(np.int64), arc_class=np.r_[b_class, np.full(n_q, q_class)].astype(np.int64),
            arc_alloc=np.r_[(booked["method"] == "allocation").to_numpy(bool), np.full(n_q, is_alloc)],
            arc_expiry_days=np.r_[np.zeros(n_b), expiry], arc_same_site=np.zeros(n_b + n_q),
            order_class=np.arange(q_class + 1), order_lower=np.r_[totals, 0.0],
            order_upper=np.r_[totals, np.inf], order_premium=np.zeros(q_class + 1),
            order_weight=np.zeros(q_class + 1))
        sol = solve_program(program(net), stages=("volume", "expiry"))
        return sol.values["reps"][n_b:], sol.duals["pool_account"], sol.duals["allocation_conservation"]

    def _binding(self, eligible: list[str], pool_dual: pd.Series, alloc_dual: pd.Series, keep: bool) -> list[str]:
        out = []
        for p in eligible:
            f = self.pool_facts[p]
            if pool_dual.get(p, 0.0) > 1e-9 and f["available_t"] < DUST_T:
                out.append(f"pool {p} ({f['project_id']}) has no REPs left to promise: they are issued, held or "
                           "written off already")
            elif pool_dual.get(p, 0.0) > 1e-9:
                out.append(f"pool {p} ({f['project_id']}) runs dry: all {f['available_t']:,.1f} t-CO2e it has are "
                           "taken by booked orders and this quote")
            if alloc_dual.get(p, 0.0) > 1e-9:
                out.append(f"pool {p} ({f['project_id']}): GX Allocation may move only the {f['alloc_limit_t']:,.1f}"
                           " t-CO2e that were added to residual CFPs (8.1: total emissions never fall)")
        if not out and keep:
            out.append("every eligible pool is used up by the booked orders' lines (keep mode)")
        return out

    def _excluded(self, req: QuoteRequest, eligible: list[str]) -> list[str]:
        """Usable pools that do not count for this quote, with the rule that excludes each (once per key)."""
        key = (*self._key(req), tuple(eligible))  # an allocation outside its period has none eligible, same key
        if key not in self._excluded_of_key:
            self._excluded_of_key[key] = self._excluded_now(req, eligible)
        return list(self._excluded_of_key[key])

    def _excluded_now(self, req: QuoteRequest, eligible: list[str]) -> list[str]:
        conn = self.elig.connections
        linked = set(conn.loc[conn["product_id"] == req.product_id, "project_id"])
        out = []
        delivery = pd.Timestamp(req.delivery_date)
        for p, row in self.ok_pools.set_index("pool_id").iterrows():
            if p in eligible:
                continue
            if row["project_id"] not in linked:
                out.append(f"pool {p} is not physically connected to {req.product_id}: unit {row['node']} is not on "
                           "its route and reaches it by no utility path (6.7)")
            elif req.gas and row["gas"] != req.gas:
                out.append(f"pool {p} is {row['gas']}, the quote asks for {req.gas} (7.3.1)")
            elif req.method == "mass_balance" and row["mb_expires"] < delivery:
                out.append(f"pool {p} expires {row['mb_expires'].date()}, before delivery (7.2.2)")
            elif req.method == "allocation":
                out.append(f"pool {p}'s period lies outside {req.product_id}'s CFP data period (8.2.2)")
        return out
