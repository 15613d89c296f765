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
from gxopt.lp.highs import INF, csc_model, lexicographic
from gxopt.pipeline import RunResult

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
        self.raw_products = base.scenario.model.products.set_index("product_id")
        self.first_start = base.scenario.periods.groupby("project_id")["period_start"].min()  # once, not per quote
        self.ok_pools = usable_pools(e.pools)
        self.expiries = np.sort(self.ok_pools["mb_expires"].unique())
        res = base.results.pools.set_index("pool_id")
        self.used_run = res["used_run_t"]
        self.used_alloc_run = res["used_allocation_t"]
        # booked demand per class, from the base solution
        lines = base.results.allocations
        ords = e.orders.set_index("order_id")
        self.class_total = lines.groupby(lines["order_id"].map(ords["class_id"]))["reps_t"].sum()

    # ---- the per-tonne need -------------------------------------------------------------------------
    def _need(self, req: QuoteRequest) -> tuple[float, float | None, float | None]:
        """(REPs per tonne, alpha, allocated CFP) for the request, or InputError with the rule."""
        def bad(col: str, rule: str, clause: str | None = None, value: object = None) -> InputError:
            return InputError([Issue("quote", None, col, rule, clause, None if value is None else str(value))])

        if req.product_id not in self.products.index:
            raise bad("product", "unknown product", value=req.product_id)
        if req.method not in ("mass_balance", "allocation"):
            raise bad("method", "must be mass_balance or allocation", value=req.method)
        p = self.products.loc[req.product_id]
        given = [x is not None for x in (req.alpha, req.target_cfp, req.reps_per_t)]
        if sum(given) > 1:
            raise bad("alpha/target-cfp/reps-per-t", "give at most one of --alpha, --target-cfp, --reps-per-t")
        if req.method == "mass_balance":
            if req.alpha is not None or req.target_cfp is not None:
                raise bad("alpha/target-cfp", "--alpha and --target-cfp are for GX Allocation; use --reps-per-t")
            r = float(p["mb_cap_cfp"]) if req.reps_per_t is None else float(req.reps_per_t)
            if not 0 < r <= p["mb_cap_cfp"] + 1e-12:
                raise bad("reps-per-t", f"must be in (0, {p['mb_cap_cfp']:g}]: at most the product's scope 1+2 "
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
            raise bad("alpha", f"the GX value alpha must be in (0, 1]; the allocated CFP can range from "
                      f"{non_alloc:g} (alpha 1) to {subject + non_alloc:g} (alpha 0)", "8.1.1", round(alpha, 6))
        alpha = min(alpha, 1.0)
        return alpha * subject, alpha, subject * (1 - alpha) + non_alloc

    # ---- the eligible pools of the quote --------------------------------------------------------------
    def _eligible(self, req: QuoteRequest) -> tuple[list[str], str]:
        s = self.base.scenario.settings
        delivery = np.datetime64(pd.Timestamp(req.delivery_date))
        if req.method == "allocation":
            op0, op1 = pd.Timestamp(s.operational_period.start), pd.Timestamp(s.operational_period.end)
            if not op0 <= pd.Timestamp(req.delivery_date) <= op1:
                return [], "delivery outside the operational period of the allocated CFP (8.2.3)"
        window = 0 if req.method == "allocation" else int(np.searchsorted(self.expiries, delivery, side="left"))
        keys = pd.DataFrame({"key_id": [0], "product_id": [req.product_id], "method": [req.method],
                             "gas": [req.gas or ""], "window": [window]})
        if not bool(self.products.at[req.product_id, "cfp_data_usable"]):
            return [], "the product's CFP data ended more than five years before the run date, with no stated justification (5.2.2)"
        cand, stages = key_candidates(keys, self.elig.connections, self.ok_pools, self.expiries,
                                      pd.Timestamp(s.as_of), self.raw_products,
                                      self.first_start)
        for text, ok in stages:
            if 0 not in ok:
                return [], text
        return sorted(cand["pool_id"].unique()), ""

    # ---- the quote --------------------------------------------------------------------------------------
    def quote(self, req: QuoteRequest) -> Quote:
        """Largest promisable tonnage for ``req`` with pools, binding reasons and shadow prices."""
        r, alpha, allocated = self._need(req)
        eligible, why_not = self._eligible(req)
        mode = "keep" if req.keep else "re-optimize"
        q = Quote(req.product_id, req.method, mode, 0.0, 0.0, r, alpha, allocated)
        q.warnings = allocated_above_general(allocated, float(self.products.at[req.product_id, "general_cfp"]))
        if not eligible:
            q.binding = [why_not] + self._excluded(req, [])
            return q
        is_alloc = req.method == "allocation"
        if req.keep:
            x, pool_dual, alloc_dual, rows = self._solve_keep(eligible, is_alloc)
        else:
            x, pool_dual, alloc_dual, rows = self._solve_reopt(eligible, is_alloc)
        total = float(x.sum())
        q.reps_t = total
        q.gx_tonnage_t = total / r
        exp = self.pools["mb_expires"]
        q.pools = [{"pool_id": p, "project_id": str(self.pools.at[p, "project_id"]), "reps_t": float(v),
                    "expires": str(exp[p].date()), "same_site": bool(self.pools.at[p, "site"] ==
                                                                     self.products.at[req.product_id, "crude_steel_site"])}
                   for p, v in zip(eligible, x) if v > EPS]
        q.shadow_prices = {p: float(d) / r for p, d in pool_dual.items() if abs(d) > 1e-9}
        q.binding = self._binding(req, eligible, x, pool_dual, alloc_dual, rows) + self._excluded(req, eligible)
        return q

    def _solve_keep(self, eligible: list[str], is_alloc: bool):  # type: ignore[no-untyped-def]
        avail = self.pools.loc[eligible, "available_t"] - self.used_run.reindex(eligible).fillna(0.0)
        rows_upper = np.maximum(avail.to_numpy(float), 0.0)
        layers = [np.arange(len(eligible))]
        n_rows = len(eligible)
        alloc_rows: dict[str, int] = {}
        if is_alloc:
            lim = self.pools.loc[eligible, "alloc_limit_t"] - self.used_alloc_run.reindex(eligible).fillna(0.0)
            rows_upper = np.concatenate([rows_upper, np.maximum(lim.to_numpy(float), 0.0)])
            layers.append(np.arange(len(eligible)) + n_rows)
            alloc_rows = {p: n_rows + i for i, p in enumerate(eligible)}
        h = csc_model(layers, np.full(len(rows_upper), -INF), rows_upper)
        x, _, _, dual = lexicographic(h, self._stages(eligible, np.arange(len(eligible))))
        pool_dual = {p: abs(dual[i]) for i, p in enumerate(eligible)}
        alloc_dual = {p: abs(dual[i]) for p, i in alloc_rows.items()}
        return x, pool_dual, alloc_dual, {"avail": dict(zip(eligible, rows_upper[:len(eligible)]))}

    def _solve_reopt(self, eligible: list[str], is_alloc: bool):  # type: ignore[no-untyped-def]
        arcs = self.elig.arcs
        booked = arcs[arcs["class_id"].isin(self.class_total.index[self.class_total > EPS])]
        pool_ids = np.unique(np.concatenate([booked["pool_id"].to_numpy(), np.asarray(eligible, dtype=object)]))
        pool_row = {p: i for i, p in enumerate(pool_ids)}
        class_ids = np.unique(booked["class_id"].to_numpy())
        class_row = {c: len(pool_ids) + i for i, c in enumerate(class_ids)}
        alloc_pool_ids = np.unique(np.concatenate([booked.loc[booked["method"] == "allocation", "pool_id"].to_numpy(),
                                                   np.asarray(eligible if is_alloc else [], dtype=object)]))
        base = len(pool_ids) + len(class_ids)
        alloc_row = {p: base + i for i, p in enumerate(alloc_pool_ids)}
        n_b, n_q = len(booked), len(eligible)
        l1 = np.concatenate([booked["pool_id"].map(pool_row).to_numpy(int), [pool_row[p] for p in eligible]])
        l2 = np.concatenate([booked["class_id"].map(class_row).to_numpy(int), np.full(n_q, -1)])
        l3 = np.full(n_b + n_q, -1)
        b_alloc = (booked["method"] == "allocation").to_numpy()
        l3[:n_b][b_alloc] = booked.loc[b_alloc, "pool_id"].map(alloc_row).to_numpy(int)
        if is_alloc:
            l3[n_b:] = [alloc_row[p] for p in eligible]
        demand = self.class_total.reindex(class_ids).to_numpy(float)
        upper = np.concatenate([self.pools.loc[pool_ids, "available_t"].to_numpy(float), demand,
                                self.pools.loc[alloc_pool_ids, "alloc_limit_t"].to_numpy(float)])
        lower = np.concatenate([np.full(len(pool_ids), -INF), demand * (1 - 1e-12), np.full(len(alloc_pool_ids), -INF)])
        h = csc_model([l1, l2, l3], lower, upper)
        cols = np.arange(n_b, n_b + n_q)
        x, _, _, dual = lexicographic(h, self._stages(eligible, cols, n_b + n_q))
        pool_dual = {p: abs(dual[pool_row[p]]) for p in pool_ids}
        alloc_dual = {p: abs(dual[i]) for p, i in alloc_row.items()}
        used = {p: 0.0 for p in pool_ids}
        for p, v in zip(np.concatenate([booked["pool_id"].to_numpy(), np.asarray(eligible, dtype=object)]), x):
            used[p] += v
        return x[n_b:], pool_dual, alloc_dual, {"used": used}

    def _stages(self, eligible: list[str], cols: np.ndarray, n: int | None = None) -> list[tuple[str, str, np.ndarray]]:
        n = len(eligible) if n is None else n
        volume = np.zeros(n)
        volume[cols] = 1.0
        expiry = np.zeros(n)
        expiry[cols] = (self.pools.loc[eligible, "mb_expires"] - pd.Timestamp(self.base.scenario.settings.as_of)
                        ).dt.days.to_numpy(float)
        return [("volume", "max", volume), ("expiry", "min", expiry)]

    def _binding(self, req: QuoteRequest, eligible: list[str], x: np.ndarray, pool_dual: dict[str, float],
                 alloc_dual: dict[str, float], rows: dict[str, Any]) -> list[str]:
        out = []
        for p in eligible:
            pid = self.pools.at[p, "project_id"]
            if pool_dual.get(p, 0.0) > 1e-9:
                total = float(self.pools.at[p, "available_t"])
                out.append(f"pool {p} ({pid}) runs dry: all {total:,.1f} t-CO2e it has are taken by booked "
                           f"orders and this quote")
            if alloc_dual.get(p, 0.0) > 1e-9:
                out.append(f"pool {p} ({pid}): GX Allocation may move only the {self.pools.at[p, 'alloc_limit_t']:,.1f}"
                           " t-CO2e that were added to residual CFPs (8.1: total emissions never fall)")
        if not out and req.keep:
            out.append("every eligible pool is used up by the booked orders' lines (keep mode)")
        return out

    def _excluded(self, req: QuoteRequest, eligible: list[str]) -> list[str]:
        """Usable pools that do not count for this quote, with the rule that excludes each."""
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
