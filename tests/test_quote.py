"""Quotes: checked against an independent per-order LP, really deliverable, and their reasons name the rule."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import highspy
import numpy as np
import pytest

import gxopt
from gxopt.errors import InputError
from gxopt.quote import Quoter, QuoteRequest
from tests.test_lp_families import order, period, project

D = dt.date(2026, 6, 30)


def independent_max_tonnage(base: gxopt.RunResult, req: QuoteRequest, r: float, keep: bool) -> float:
    """Max tonnage by a per-order LP built here: booked orders keep their totals (or their exact lines)."""
    ref = gxopt.run(base.scenario, reference=True)  # one demand row per order
    e = ref.eligibility
    booked_total = base.orders.set_index("order_id")["reps_t"]
    pools = e.pools.set_index("pool_id")
    q = Quoter(base)
    eligible, _ = q._eligible(req)
    h = highspy.Highs()
    h.silent()
    if keep:
        used = base.pools.set_index("pool_id")["used_run_t"]
        xs = [h.addVariable(lb=0, ub=max(0.0, pools.at[p, "available_t"] - used[p])) for p in eligible]
        if req.method == "allocation":
            used_a = base.pools.set_index("pool_id")["used_allocation_t"]
            for p, x in zip(eligible, xs):
                h.addConstr(x <= max(0.0, pools.at[p, "alloc_limit_t"] - used_a[p]))
    else:
        arcs = e.arcs
        orders_of = e.orders.set_index("class_id")["order_id"]  # reference: one order per class
        y = [h.addVariable(lb=0) for _ in range(len(arcs))]
        xs = [h.addVariable(lb=0) for _ in eligible]
        for p in pools.index:
            terms = [y[i] for i in np.flatnonzero(arcs["pool_id"].to_numpy() == p)]
            terms += [x for pp, x in zip(eligible, xs) if pp == p]
            if terms:
                h.addConstr(sum(terms) <= pools.at[p, "available_t"])
            al = [y[i] for i in np.flatnonzero((arcs["pool_id"].to_numpy() == p) &
                                                (arcs["method"].to_numpy() == "allocation"))]
            if req.method == "allocation":
                al += [x for pp, x in zip(eligible, xs) if pp == p]
            if al:
                h.addConstr(sum(al) <= pools.at[p, "alloc_limit_t"])
        for c, idx in arcs.groupby("class_id").indices.items():
            h.addConstr(sum(y[i] for i in idx) == float(booked_total.get(orders_of[c], 0.0)))
    if not xs:
        return 0.0
    h.maximize(sum(xs))
    return float(sum(h.vals(xs))) / r


@pytest.fixture
def book(spec, make):  # type: ignore[no-untyped-def]
    spec["projects.csv"].append(project("O2", "A-O2"))
    spec["project_periods.csv"].append(period("O2", b=1.0, q=100, e=40))
    spec["orders.csv"] = [order("M1", "HRC", 60, premium=10), order("M2", "PLT", 50, premium=9),
                          order("A1", "HRC", 40, "allocation", premium=8), order("S1", "SEC", 50, premium=7)]
    return gxopt.run(make(spec))


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("req", [
    QuoteRequest("HRC", "mass_balance", D), QuoteRequest("CRC", "mass_balance", D),
    QuoteRequest("PLT", "mass_balance", D, reps_per_t=0.8), QuoteRequest("HRC", "allocation", D, alpha=0.5),
    QuoteRequest("HRC", "allocation", D, target_cfp=1.0), QuoteRequest("SEC", "mass_balance", D)])
def test_quote_equals_independent_lp(book, req: QuoteRequest, keep: bool) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    req = dataclasses.replace(req, keep=keep)
    q = Quoter(book).quote(req)
    expected = independent_max_tonnage(book, req, q.reps_per_t, keep)
    assert q.gx_tonnage_t == pytest.approx(expected, rel=1e-7, abs=1e-6)
    assert sum(p["reps_t"] for p in q.pools) == pytest.approx(q.reps_t, abs=1e-6)


def test_reoptimizing_frees_volume(book) -> None:  # type: ignore[no-untyped-def]
    keep = Quoter(book).quote(QuoteRequest("CRC", "mass_balance", D, keep=True))
    reopt = Quoter(book).quote(QuoteRequest("CRC", "mass_balance", D))
    assert reopt.gx_tonnage_t >= keep.gx_tonnage_t - 1e-9


def test_quoted_tonnage_is_deliverable(spec, make, book) -> None:  # type: ignore[no-untyped-def]
    q = Quoter(book).quote(QuoteRequest("HRC", "mass_balance", D))
    assert q.gx_tonnage_t > 0  # the fixture already added the O2 project to spec
    booked = [order("M1", "HRC", 60, premium=10), order("M2", "PLT", 50, premium=9),
              order("A1", "HRC", 40, "allocation", premium=8), order("S1", "SEC", 50, premium=7)]
    spec["orders.csv"] = booked + [order("Q", "HRC", q.gx_tonnage_t, premium=1000)]
    r = gxopt.run(make(spec)).orders.set_index("order_id")
    assert r.at["Q", "reps_t"] == pytest.approx(q.reps_t, rel=1e-7)
    assert r.at["Q", "status"] == "filled"
    for o in ("M1", "M2", "A1", "S1"):  # the booked orders keep what they had
        assert r.at[o, "reps_t"] == pytest.approx(book.orders.set_index("order_id").at[o, "reps_t"], abs=1e-6)


def test_binding_reasons_name_the_pool_and_the_rule(book) -> None:  # type: ignore[no-untyped-def]
    q = Quoter(book).quote(QuoteRequest("HRC", "mass_balance", D))
    text = " | ".join(q.binding)
    assert "runs dry" in text and "HBI@2026-03-31" in text
    assert "EAF@2026-03-31 is not physically connected to HRC" in text
    q = Quoter(book).quote(QuoteRequest("HRC", "mass_balance", D, gas="GHG"))
    assert q.gx_tonnage_t == 0 and "gas" in q.binding[0]
    q = Quoter(book).quote(QuoteRequest("HRC", "allocation", dt.date(2027, 6, 1)))
    assert q.gx_tonnage_t == 0 and "operational period" in q.binding[0]
    q = Quoter(book).quote(QuoteRequest("HRC", "allocation", D))
    assert q.pools and all(p["pool_id"] != "EAF@2026-03-31" for p in q.pools)
    q = Quoter(book).quote(QuoteRequest("CRC", "allocation", D))  # CRC's FY2024 CFP predates HBI (FY2025)
    assert q.gx_tonnage_t == 0 and "after the project commenced (ch. 4, 8.2.2)" in q.binding[0]


@pytest.mark.parametrize(("req", "rule"), [
    # HRC: scope 1+2 1.5 + REPs already in its CFP (HBI 200 + O2 60 over 2000 t connected) = 1.63 at most
    (QuoteRequest("HRC", "mass_balance", D, reps_per_t=1.64), "7.3.2"),
    (QuoteRequest("HRC", "allocation", D, target_cfp=0.2), "8.1.1"),
    (QuoteRequest("NOPE", "mass_balance", D), "unknown product"),
])
def test_impossible_requests_are_input_errors(book, req: QuoteRequest, rule: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as exc:
        Quoter(book).quote(req)
    assert rule in str(exc.value)


def test_quote_json_has_the_promised_keys(book) -> None:  # type: ignore[no-untyped-def]
    d: dict[str, Any] = Quoter(book).quote(QuoteRequest("HRC", "mass_balance", D)).to_dict()
    assert {"gx_tonnage_t", "reps_t", "pools", "binding", "shadow_prices"} <= set(d)


def test_a_quoter_answers_a_repeated_key_as_a_fresh_one(book) -> None:  # type: ignore[no-untyped-def]
    """The quoter solves each (eligible pools, method, mode) once; later quotes of the key, at another GX level,
    must equal what a fresh quoter answers, and the kept solution cannot be changed by a caller."""
    shared = Quoter(book)
    shared.quote(QuoteRequest("HRC", "allocation", dt.date(2027, 6, 1)))  # outside the period: no pool eligible
    for req in (QuoteRequest("HRC", "mass_balance", D), QuoteRequest("HRC", "allocation", D),
                QuoteRequest("HRC", "mass_balance", D, keep=True)):
        shared.quote(req)
        for later in (req, dataclasses.replace(req, reps_per_t=0.5) if req.method == "mass_balance"
                      else dataclasses.replace(req, alpha=0.4)):
            assert shared.quote(later).to_dict() == Quoter(book).quote(later).to_dict()
    x = next(iter(shared._solved.values()))[0]
    with pytest.raises(ValueError):
        x[0] = 1.0
