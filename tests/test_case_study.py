"""The guideline's own numbers: 8.1.1 case study (GX Allocation) and Figure 1 (GX Mass Balance)."""

from __future__ import annotations

import pytest

import gxopt
from tests.conftest import REPO


@pytest.fixture(scope="module")
def case():  # type: ignore[no-untyped-def]
    return gxopt.run(REPO / "scenarios" / "jisf-case-study")


@pytest.fixture(scope="module")
def figure1():  # type: ignore[no-untyped-def]
    return gxopt.run(REPO / "scenarios" / "jisf-figure1")


def test_residual_cfp_is_general_plus_reps_per_tonne(case) -> None:  # type: ignore[no-untyped-def]
    p = case.products.set_index("product_id").loc["HRC"]
    assert p["general_cfp"] == pytest.approx(2.5)
    # 3.0 = 2.5 + 0.5 Mt-CO2e / 1 Mt (8.1.1)
    assert p["residual_cfp"] == pytest.approx(3.0, abs=1e-12)


def test_gx_steel_volume_at_allocated_cfp_0_7(case) -> None:  # type: ignore[no-untyped-def]
    o = case.orders
    assert o["reps_t"].sum() == pytest.approx(500_000, abs=1e-6)
    # 0.5 Mt at 2.3 t-CO2e/t (scope 1+2 plus the REP term) => 217,391.3 t of GX steel
    assert o["gx_tonnage_t"].sum() == pytest.approx(500_000 / 2.3, abs=1e-6)
    assert round(o["gx_tonnage_t"].sum(), 1) == 217_391.3
    filled = o[o["status"] == "filled"]
    assert len(filled) == 2
    assert filled["allocated_cfp"].tolist() == pytest.approx([0.7, 0.7], abs=1e-12)
    assert o["residual_cfp"].tolist() == pytest.approx([3.0] * 3, abs=1e-12)


def test_total_emissions_conserved_at_2_5_mt(case) -> None:  # type: ignore[no-untyped-def]
    o = case.orders
    gx = (o["gx_tonnage_t"] * 0.7).sum()
    non_gx = (1_000_000 - o["gx_tonnage_t"].sum()) * 3.0
    assert gx + non_gx == pytest.approx(2_500_000, abs=1e-6)
    assert case.summary["totals"]["emissions_after_allocation_t"] == pytest.approx(2_500_000, abs=1e-6)
    assert case.summary["totals"]["emissions_general_t"] == pytest.approx(2_500_000)


def test_allocated_cfp_1_2_is_alpha_0_7826(spec, make) -> None:  # type: ignore[no-untyped-def]
    """8.1.1: 'The Allocated CFP for GX Steel need not be 0.7; it could be set at 1.2'."""
    import pandas as pd

    folder = REPO / "scenarios" / "jisf-case-study"
    s = gxopt.load(folder)
    alpha = 1 - 0.5 / 2.3  # 2.3 (1 - alpha) + 0.7 = 1.2
    orders = pd.DataFrame([{"order_id": "X", "customer": "X", "product_id": "HRC", "tonnage_t": 1000.0,
                            "delivery_date": pd.Timestamp("2026-07-01"), "method": "allocation", "premium": 1.0,
                            "alpha_max": alpha, "requested_reps_t": float("nan"), "gas": None, "src_line": 2}])
    import dataclasses

    r = gxopt.run(dataclasses.replace(s, orders=orders))
    assert r.orders.loc[0, "allocated_cfp"] == pytest.approx(1.2, abs=1e-9)
    assert r.orders.loc[0, "alpha"] == pytest.approx(alpha, abs=1e-9)


def test_figure1_mass_balance_view(figure1) -> None:  # type: ignore[no-untyped-def]
    o = figure1.orders
    p = figure1.products.set_index("product_id").loc["HRC"]
    assert p["general_cfp"] == pytest.approx(3.0)
    assert p["mb_cap_cfp"] == pytest.approx(2.3)  # REPs -2.3 t-CO2e per tonne at most (7.3.2)
    filled = o[o["status"] == "filled"]
    assert filled["reps_per_t"].tolist() == pytest.approx([2.3, 2.3])
    assert o["gx_tonnage_t"].sum() == pytest.approx(500_000 / 2.3, abs=1e-6)
    assert o["allocated_cfp"].isna().all()  # no CFP re-allocation under mass balance
    assert figure1.pools["remaining_t"].sum() == pytest.approx(0, abs=1e-6)


def test_correction_value_for_non_gx_products_7_3_3(case, figure1) -> None:  # type: ignore[no-untyped-def]
    """A CFP measured while the project ran already contains its effect: non-GX steel of it carries the basis,
    General CFP + REPs / production (0.5 t-CO2e/t here); a CFP from before the project needs no correction."""
    p = case.products.set_index("product_id").loc["HRC"]
    assert p["rep_term"] == pytest.approx(0.5)
    assert p["non_gx_cfp"] == pytest.approx(3.0)
    q = figure1.products.set_index("product_id").loc["HRC"]
    assert q["rep_term"] == 0
    assert q["non_gx_cfp"] == pytest.approx(3.0)
