"""The fast path (eligibility classes, a column per order, exact pruning, highspy arrays) gives the same
optimum as the readable reference (the same program in pyomo with one class per order), stage by stage, on
many random order books: premium tiers (ties), unique premiums, scarce supply (most orders pruned) and ample
supply (none), and with the interior-point first stage."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gxopt
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from generate import generate  # noqa: E402


def assert_same_optimum(a: gxopt.RunResult, b: gxopt.RunResult) -> None:
    for stage, va in a.summary["solver"]["stage_objectives"].items():
        vb = b.summary["solver"]["stage_objectives"][stage]
        assert va == pytest.approx(vb, rel=1e-7, abs=1e-5), stage
    assert a.orders["reps_t"].sum() == pytest.approx(b.orders["reps_t"].sum(), rel=1e-7, abs=1e-5)


@pytest.mark.parametrize("seed", range(8))
def test_generated_books_same_optimum(tmp_path: Path, seed: int) -> None:
    scen = generate(tmp_path / "d", orders=150 + 40 * seed, products=8 + seed, projects=3 + seed % 4, seed=seed)
    fast = gxopt.run(scen)
    ref = gxopt.run(scen, reference=True)
    assert fast.summary["lp"]["classes"] < ref.summary["lp"]["classes"]
    assert_same_optimum(fast, ref)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("supply", [0.01, 1.0])
def test_unique_premiums_same_optimum(tmp_path: Path, seed: int, supply: float) -> None:
    """Every order its own premium: classes still form by eligibility only, and the optimum is the reference's."""
    scen = generate(tmp_path / "d", orders=120 + 30 * seed, products=6 + seed, projects=2 + seed % 3, seed=seed,
                    premiums=0, supply=supply)
    fast = gxopt.run(scen)
    ref = gxopt.run(scen, reference=True)
    assert fast.summary["lp"]["classes"] < ref.summary["lp"]["classes"] / 5
    if supply < 1:  # scarce REPs: the cheaper orders of a class can never be served and get no column
        assert fast.summary["lp"]["pruned_orders"] > 0
    assert_same_optimum(fast, ref)
    same = fast.orders.merge(ref.orders, on="order_id")
    np.testing.assert_allclose(same["reps_t_x"], same["reps_t_y"], atol=1e-5)  # unique premiums: one optimum


def test_interior_point_first_stage_gives_the_simplex_optimum(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gxopt.lp.highs as lp_highs

    scen = generate(tmp_path / "d", orders=600, products=10, projects=4, seed=5, premiums=0, supply=30.0)
    simplex = gxopt.run(scen)
    monkeypatch.setattr(lp_highs, "IPM_FROM", 0)
    ipm = gxopt.run(scen)
    assert_same_optimum(ipm, simplex)
    pd.testing.assert_frame_equal(ipm.orders, simplex.orders, atol=1e-6)


@pytest.mark.parametrize("name", ["jp-steel-fy2026", "jp-steel-both-methods", "jisf-case-study", "jisf-figure1"])
def test_shipped_scenarios_same_optimum(name: str) -> None:
    fast = gxopt.run(REPO / "scenarios" / name)
    ref = gxopt.run(REPO / "scenarios" / name, reference=True)
    assert_same_optimum(fast, ref)


def test_split_respects_caps_and_rank(tmp_path: Path) -> None:
    """Within a class, among orders of equal premium, earlier deliveries are filled first, each up to its cap."""
    scen = generate(tmp_path / "d", orders=300, products=4, projects=2, seed=3)
    r = gxopt.run(scen)
    o = r.orders[r.orders["status"] != "ineligible"].merge(
        r.eligibility.orders[["order_id", "class_id", "rank"]], on="order_id")
    assert o.groupby("class_id")["premium"].nunique().max() > 1  # classes are never split by premium
    for _, g in o.groupby(["class_id", "premium"]):
        g = g.sort_values("rank")
        filled = np.isclose(g["reps_t"], g["cap_t"], rtol=1e-9, atol=1e-6)
        # once an order is not filled, no later order of the class gets anything
        first_short = np.flatnonzero(~filled)
        if len(first_short):
            assert (g["reps_t"].to_numpy()[first_short[0] + 1:] <= 1e-6).all()
