"""Accounting fidelity: one basis for both methods, timing from dates, increases included, physical
connection through feeders but never by-products, no double counting across both methods.

Each test is one finding of the review against the JISF GX Steel Guidelines v4.1; each failed on the code
before the change (mass balance capped at scope 1+2 of a post-project CFP, a cfp_basis flag, increases
floored at zero, connection through any utility chain, no claims check).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gxopt
from gxopt.errors import InputError
from gxopt.graph import build_graph, connections, parse_evidence
from gxopt.verify import verify
from tests.conftest import REPO


def _case_as_mass_balance(tmp_path: Path) -> Path:
    """The 8.1.1 case study (General CFP 2.5 after the project, 0.5 Mt REPs) with its orders under mass balance."""
    dst = tmp_path / "case-mb"
    shutil.copytree(REPO / "scenarios" / "jisf-case-study", dst)
    o = pd.read_csv(dst / "orders.csv", dtype=str, keep_default_na=False)
    o["method"], o["alpha_max"] = "mass_balance", ""
    o.to_csv(dst / "orders.csv", index=False)
    y = (dst / "scenario.yaml").read_text().replace("../../models/jisf-case-study",
                                                   str(REPO / "models" / "jisf-case-study"))
    (dst / "scenario.yaml").write_text(y)
    return dst


# --- 1. one basis for both methods ------------------------------------------------------------------------

def test_mass_balance_on_a_post_project_cfp_gives_figure_1(tmp_path: Path) -> None:
    """7.3.3 + Figure 1: the post-project CFP 2.5 already contains the 0.5 Mt; on the basis 3.0 the cap is
    scope 1+2 of the basis, 2.3 t/t, so 0.5 Mt covers 217,391.3 t claimed at 0.7, non-GX steel at 3.0."""
    r = gxopt.run(_case_as_mass_balance(tmp_path))
    o, p = r.orders, r.products.set_index("product_id").loc["HRC"]
    assert p["general_cfp"] == pytest.approx(2.5)
    assert p["rep_term"] == pytest.approx(0.5, abs=1e-12)
    assert p["mb_cap_cfp"] == pytest.approx(2.3, abs=1e-12)
    assert p["non_gx_cfp"] == pytest.approx(3.0, abs=1e-12)
    filled = o[o["status"] == "filled"]
    assert filled["reps_per_t"].tolist() == pytest.approx([2.3, 2.3])
    assert filled["claimed_cfp"].tolist() == pytest.approx([0.7, 0.7])
    assert o["gx_tonnage_t"].sum() == pytest.approx(500_000 / 2.3, abs=1e-6)  # 217,391.3 t
    assert o["basis_cfp"].tolist() == pytest.approx([3.0, 3.0, 3.0])
    c = r.summary["claims"]
    # buyers' claims 217,391.3 x 0.7 + 782,608.7 x 3.0 = 2.5 Mt = actual emissions: nothing counted twice
    assert c["claims_t"] == pytest.approx(2_500_000, abs=1e-3)
    assert c["actual_emissions_t"] == pytest.approx(2_500_000, abs=1e-3)


def test_both_methods_give_the_same_claims_on_the_case_study(tmp_path: Path) -> None:
    """8.1.1: GX Allocation and GX Mass Balance are essentially synonymous: same REPs, same claims."""
    mb = gxopt.run(_case_as_mass_balance(tmp_path))
    al = gxopt.run(REPO / "scenarios" / "jisf-case-study")
    assert mb.orders["claimed_cfp"].to_numpy() == pytest.approx(al.orders["claimed_cfp"].to_numpy())
    assert mb.summary["claims"]["claims_t"] == pytest.approx(al.summary["claims"]["claims_t"])


def test_verify_catches_mass_balance_on_the_general_cfp(tmp_path: Path) -> None:
    """The double counting of the review: certificates on the General CFP (2.5 - 1.8 = 0.7 on 277,778 t) while
    the non-GX steel carries 3.0: buyers would claim 2.36 Mt against 2.5 Mt actual."""
    r = gxopt.run(_case_as_mass_balance(tmp_path))
    res = r.results
    o = res.orders.copy()
    served = o["reps_t"] > 0
    # the old reading: 1.8 t/t caps, claimed = General - REPs/t
    o.loc[served, "claimed_cfp"] = o.loc[served, "general_cfp"] - o.loc[served, "reps_per_t"]
    lines = verify(r.scenario, dataclasses.replace(res, orders=o))
    assert any("counted twice" in v for v in lines), lines
    assert any("claimed CFP is not the basis" in v for v in lines)


def test_verify_catches_a_non_gx_cfp_without_the_correction(tmp_path: Path) -> None:
    r = gxopt.run(REPO / "scenarios" / "jisf-case-study")
    pr = r.results.products.copy()
    pr["non_gx_cfp"] = pr["general_cfp"]
    lines = verify(r.scenario, dataclasses.replace(r.results, products=pr))
    assert any("7.3.3 correction" in v for v in lines)
    assert any("counted twice" in v for v in lines)


@pytest.mark.parametrize("name", ["jisf-case-study", "jisf-figure1", "jp-steel-fy2026", "jp-steel-both-methods"])
def test_shipped_scenarios_claim_no_less_than_actual_emissions(name: str) -> None:
    r = gxopt.run(REPO / "scenarios" / name)
    c = r.summary["claims"]
    assert c["claims_margin_t"] >= -1e-6 * c["actual_emissions_t"]
    assert c["claims_t"] == pytest.approx(c["emissions_basis_t"] - c["reps_claimed_run_t"] - c["reps_claimed_before_t"])
    o = r.orders
    mb = o["method"] == "mass_balance"
    assert np.allclose(o.loc[mb, "claimed_cfp"], (o["basis_cfp"] - o["reps_per_t"])[mb])
    al = (o["method"] == "allocation").to_numpy()
    assert np.allclose(o.loc[al, "claimed_cfp"], o.loc[al, "allocated_cfp"])


def test_jp_steel_mass_balance_caps_include_the_reps_already_in_the_cfp() -> None:
    """The 67 mass-balance orders on post-project products: cap per tonne = scope 1+2 + R_k, claimed = basis - r/t."""
    r = gxopt.run(REPO / "scenarios" / "jp-steel-fy2026")
    model = pd.read_csv(REPO / "models" / "jp-steel" / "products.csv").set_index("product_id")
    pr = r.products.set_index("product_id")
    assert (pr["rep_term"] > 0).sum() >= 20  # BF1 group, power plant, sinter and EAF projects reflected
    expect = model["scope1"] + model["scope2"] + pr["rep_term"]
    assert np.allclose(pr["mb_cap_cfp"], expect.reindex(pr.index))
    mb = r.orders[(r.orders["method"] == "mass_balance") & (r.orders["reps_t"] > 0)]
    assert np.allclose(mb["claimed_cfp"], mb["basis_cfp"] - mb["reps_per_t"])


# --- 2./3. project timing from dates ----------------------------------------------------------------------

def test_pool_straddling_the_cfp_period_counts_pro_rata_by_days(spec, make) -> None:  # type: ignore[no-untyped-def]
    """7.3.3: the project's effect is in the CFP to the extent its period overlaps the CFP data period."""
    spec["project_periods.csv"][0].update(period_start="2025-10-01", period_end="2026-09-30")  # HBI, 200 t
    spec["scenario.yaml"]["as_of"] = "2026-10-01"
    spec["orders.csv"][0].update(method="allocation", alpha_max="1", delivery_date="2026-10-15")
    r = gxopt.run(make(spec))
    inside = (pd.Timestamp("2026-03-31") - pd.Timestamp("2025-10-01")).days + 1  # 182 of 365 days
    share = inside / 365
    pr = r.products.set_index("product_id")
    # HBI connects HRC (1000 t), CRC (500 t, FY2024 CFP: nothing), PLT (500 t): 2000 t connected
    assert pr.at["HRC", "rep_term"] == pytest.approx(200 * share / 2000, rel=1e-12)
    assert pr.at["CRC", "rep_term"] == 0
    pool = r.pools.set_index("pool_id").loc["HBI@2026-09-30"]
    assert pool["in_cfps_t"] == pytest.approx(200 * share * 1500 / 2000, rel=1e-12)
    # GX Allocation moves no more than the part of the pool added to Residual CFPs (8.1, 8.3.1)
    assert r.allocations.loc[r.allocations["method"] == "allocation", "reps_t"].sum() <= pool["in_cfps_t"] + 1e-9


def test_cfp_ending_before_the_project_is_pre_project_for_it(spec, make) -> None:  # type: ignore[no-untyped-def]
    """CRC's FY2024 CFP predates HBI (FY2025): nothing reflected; GX Allocation refuses it (ch. 4)."""
    spec["orders.csv"][0].update(product_id="CRC", method="allocation", alpha_max="1")
    r = gxopt.run(make(spec))
    assert r.products.set_index("product_id").at["CRC", "rep_term"] == 0
    o = r.orders.iloc[0]
    assert o["status"] == "ineligible" and "after the project commenced (ch. 4" in o["reason"]
    spec["orders.csv"][0].update(method="mass_balance", alpha_max="")
    r = gxopt.run(make(spec))
    assert r.orders.iloc[0]["reps_t"] > 0  # mass balance may use a pre-project CFP (Figure 1)


def test_cfp_basis_flag_is_optional_and_must_agree_with_the_dates(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["products.csv"][0]["cfp_basis"] = "pre_project"  # HRC FY2025 CFP, HBI ran in FY2025
    for p in spec["products.csv"][1:]:
        p["cfp_basis"] = ""
    with pytest.raises(InputError) as e:
        gxopt.load(make(spec))
    issue = e.value.issues[0]
    assert issue.file.endswith("products.csv") and issue.row == 2 and issue.column == "cfp_basis"
    assert "HBI" in issue.rule and "2025-04-01..2026-03-31" in issue.rule
    spec["products.csv"][0]["cfp_basis"] = "post_project"
    spec["products.csv"][1]["cfp_basis"] = "post_project"  # CRC FY2024 predates every connected project
    with pytest.raises(InputError) as e:
        gxopt.load(make(spec))
    assert [(i.row, i.column) for i in e.value.issues] == [(3, "cfp_basis")]
    spec["products.csv"][1]["cfp_basis"] = "pre_project"
    gxopt.load(make(spec))  # agreeing flags are accepted


# --- 4./5. increases included -----------------------------------------------------------------------------

def _halves(spec, first: float, second: float):  # type: ignore[no-untyped-def]
    """HBI's year cut into two halves with REPs ``first`` and ``second`` (t-CO2e, uncertainty 0)."""
    spec["project_periods.csv"][0:1] = [
        {"project_id": "HBI", "period_start": "2025-04-01", "period_end": "2025-09-30", "baseline_intensity": 2.0,
         "output_t": 500, "project_emissions_t": 1000 - first, "uncertainty": 0.0},
        {"project_id": "HBI", "period_start": "2025-10-01", "period_end": "2026-03-31", "baseline_intensity": 2.0,
         "output_t": 500, "project_emissions_t": 1000 - second, "uncertainty": 0.0}]
    return spec


def test_an_increase_in_one_half_is_netted_not_dropped(spec, make) -> None:  # type: ignore[no-untyped-def]
    """ch. 6: 'both ... reductions and increases ... shall be included': -100 and +400 give 300, not 400."""
    r = gxopt.run(make(_halves(spec, -100, 400)))
    p = r.pools.set_index("pool_id")
    assert p.at["HBI@2025-09-30", "period_reps_t"] == pytest.approx(-100)
    assert p.at["HBI@2025-09-30", "reps_t"] == 0
    assert p.at["HBI@2026-03-31", "reps_t"] == pytest.approx(300)
    assert p.loc[p["project_id"] == "HBI", "reps_t"].sum() == pytest.approx(300)
    assert "netted against the period ending 2026-03-31" in p.at["HBI@2025-09-30", "netting"]


def test_a_later_increase_is_netted_against_the_latest_earlier_period_first(spec, make) -> None:  # type: ignore[no-untyped-def]
    """The documented order: a deficit goes to the latest earlier periods first, then to later ones."""
    spec["project_periods.csv"][0]["period_end"] = "2025-06-30"
    spec["project_periods.csv"][0]["output_t"] = 250
    spec["project_periods.csv"][0]["project_emissions_t"] = 400  # +100
    spec["project_periods.csv"][1:1] = [
        {"project_id": "HBI", "period_start": "2025-07-01", "period_end": "2025-12-31", "baseline_intensity": 2.0,
         "output_t": 500, "project_emissions_t": 950, "uncertainty": 0.0},   # +50
        {"project_id": "HBI", "period_start": "2026-01-01", "period_end": "2026-03-31", "baseline_intensity": 2.0,
         "output_t": 250, "project_emissions_t": 580, "uncertainty": 0.1}]   # -80, raised to -88 (6.5)
    r = gxopt.run(make(spec))
    p = r.pools.set_index("pool_id")
    assert p.at["HBI@2026-03-31", "period_reps_t"] == pytest.approx(-88)
    assert p.at["HBI@2025-12-31", "reps_t"] == 0  # the latest earlier period absorbs first: 50 of 88
    assert p.at["HBI@2025-06-30", "reps_t"] == pytest.approx(100 - 38)


def test_a_project_that_nets_to_an_increase_yields_nothing_and_says_why(spec, make) -> None:  # type: ignore[no-untyped-def]
    r = gxopt.run(make(_halves(spec, 100, -400)))
    p = r.pools[r.pools["project_id"] == "HBI"]
    assert (p["reps_t"] == 0).all()
    assert p["reason"].str.contains("net to an emission increase").all()
    assert "not offset by any reduction" in p.set_index("pool_id").at["HBI@2026-03-31", "netting"]
    assert r.orders.iloc[0]["reps_t"] == 0


def test_verify_catches_pool_reps_above_the_netted_amount(spec, make) -> None:  # type: ignore[no-untyped-def]
    r = gxopt.run(make(_halves(spec, -100, 400)))
    pools = r.results.pools.copy()
    pools.loc[pools["pool_id"] == "HBI@2026-03-31", ["reps_t", "remaining_t"]] += 100
    lines = verify(r.scenario, dataclasses.replace(r.results, pools=pools))
    assert any("increases included" in v for v in lines)


def test_side_uncertainties_are_conservative_on_both_sides(spec, make) -> None:  # type: ignore[no-untyped-def]
    """6.5: REPs = baseline x (1 - u_b) - project emissions x (1 + u_e)."""
    row = spec["project_periods.csv"][0]
    row.update(uncertainty="", baseline_uncertainty=0.02, project_uncertainty=0.03)
    for other in spec["project_periods.csv"][1:]:
        other.update(baseline_uncertainty="", project_uncertainty="")
    r = gxopt.run(make(spec))
    assert r.pools.set_index("pool_id").at["HBI@2026-03-31", "reps_t"] == pytest.approx(2000 * 0.98 - 1800 * 1.03)


@pytest.mark.parametrize("cells, column", [({"uncertainty": 0.05, "baseline_uncertainty": 0.02,
                                             "project_uncertainty": 0.03}, "uncertainty"),
                                            ({"uncertainty": "", "baseline_uncertainty": 0.02,
                                              "project_uncertainty": ""}, "project_uncertainty"),
                                            ({"uncertainty": ""}, "uncertainty")])
def test_uncertainty_must_be_one_kind_and_given(spec, make, cells, column) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][0].update(cells)
    for other in spec["project_periods.csv"]:
        other.setdefault("baseline_uncertainty", "")
        other.setdefault("project_uncertainty", "")
    with pytest.raises(InputError) as e:
        gxopt.load(make(spec))
    assert [(i.file.endswith("project_periods.csv"), i.row, i.column, i.clause) for i in e.value.issues] == [
        (True, 2, column, "6.5")]


def test_a_6_6_group_has_one_gas(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"].append({"project_id": "PCI", "name": "PCI", "node": "A-BF", "kind": "fuel_conversion",
                                 "additionality": "investment", "gas": "GHG", "verified": "true", "verifier": "V",
                                 "statement_id": "S3"})
    spec["project_periods.csv"].append(dict(spec["project_periods.csv"][0], project_id="PCI"))
    with pytest.raises(InputError) as e:
        gxopt.load(make(spec))
    assert any(i.clause == "6.6, 6.5" and "one gas type" in i.rule for i in e.value.issues)


# --- 5.2.2 data age -------------------------------------------------------------------------------------

def test_cfp_data_older_than_five_years_needs_a_justification(spec, make) -> None:  # type: ignore[no-untyped-def]
    """5.2.2: older data only when 'it shall be explicitly stated that the data is still valid and usable'."""
    spec["scenario.yaml"]["as_of"] = "2031-04-02"
    spec["scenario.yaml"]["operational_period"] = {"start": "2031-04-01", "end": "2032-03-31"}
    spec["orders.csv"][0].update(delivery_date="2031-06-30", method="allocation", alpha_max="1")
    r = gxopt.run(make(spec))
    assert "5.2.2" in r.orders.iloc[0]["reason"] and r.orders.iloc[0]["reps_t"] == 0
    for p in spec["products.csv"]:
        p["data_age_justification"] = "Process unchanged since FY2025; verified by V in 2031"
    r = gxopt.run(make(spec))
    assert r.orders.iloc[0]["reps_t"] > 0


# --- 4. physical connection through supply, never by-products -----------------------------------------------

def _feeders(spec):  # type: ignore[no-untyped-def]
    """Add a sinter plant feeding A-BF (input), a second BF sending gas to a power plant (byproduct), and the
    power plant supplying A-HSM (utility)."""
    spec["nodes.csv"] += [{"node_id": n, "site": "A", "process": p, "steel": "true"}
                          for n, p in [("A-SP", "sinter"), ("A-BF2", "blast_furnace"), ("A-PP", "power_plant")]]
    spec["edges.csv"] += [{"source": s, "target": t, "kind": k} for s, t, k in [
        ("A-SP", "A-BF", "input"), ("A-SP", "A-BF2", "input"), ("A-BF2", "A-BOF", "material"),
        ("A-BF2", "A-PP", "byproduct"), ("A-PP", "A-HSM", "utility")]]
    spec["projects.csv"] += [
        {"project_id": "SINTER", "name": "Biochar sinter", "node": "A-SP", "kind": "fuel_conversion",
         "additionality": "investment", "gas": "CO2", "verified": "true", "verifier": "V", "statement_id": "S4"},
        {"project_id": "BF2", "name": "BF2 H2", "node": "A-BF2", "kind": "fuel_conversion",
         "additionality": "investment", "gas": "CO2", "verified": "true", "verifier": "V", "statement_id": "S5"}]
    return spec


def test_feeders_connect_and_by_products_do_not(spec, make) -> None:  # type: ignore[no-untyped-def]
    s = gxopt.load(make(_feeders(spec)))
    conn = connections(build_graph(s.model.nodes, s.model.edges), s.projects, s.model.products)
    pairs = set(zip(conn["project_id"], conn["product_id"]))
    # 6.7: sinter feeds the BF of HRC/CRC/PLT through an input edge
    assert {("SINTER", "HRC"), ("SINTER", "CRC"), ("SINTER", "PLT")} <= pairs
    # BF2's gas reaches the power plant that powers A-HSM: a by-product, never a connection; BF2 > BOF is a
    # material edge off HRC's route (the H-beam example of 6.7)
    assert not {p for p in pairs if p[0] == "BF2"}
    ev = conn.set_index(["project_id", "product_id"]).at[("SINTER", "HRC"), "evidence"]
    assert ev == "A-SP -input-> A-BF > A-BOF > A-CC > A-HSM"
    assert parse_evidence(ev) == (["A-SP", "A-BF", "A-BOF", "A-CC", "A-HSM"],
                                  ["input", "material", "material", "material"])


def test_verify_rejects_evidence_through_a_by_product(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec = _feeders(spec)
    spec["project_periods.csv"].append(dict(spec["project_periods.csv"][0], project_id="SINTER"))
    spec["orders.csv"][0]["tonnage_t"] = 1000  # room for both pools
    r = gxopt.run(make(spec))
    al = r.results.allocations.copy()
    assert (al["project_id"] == "SINTER").any()
    i = al.index[al["project_id"] == "SINTER"][0]
    al.loc[i, "evidence"] = "A-SP -utility-> A-BF > A-BOF > A-CC > A-HSM"  # wrong kind
    assert any("physical connection" in v for v in verify(r.scenario, dataclasses.replace(r.results, allocations=al)))
    al.loc[i, "evidence"] = "A-BF2 -byproduct-> A-PP -utility-> A-HSM"
    assert any("physical connection" in v for v in verify(r.scenario, dataclasses.replace(r.results, allocations=al)))


def test_shipped_model_feeder_and_by_product_connections() -> None:
    r = gxopt.run(REPO / "scenarios" / "jp-steel-fy2026")
    conn = r.results.connections
    by = conn.groupby("project_id")["product_id"].apply(set)
    hg_bf = {p for p in r.products["product_id"] if p.startswith("HG-")}
    assert by["HG-SP-BIOCHAR"] == hg_bf  # the sinter plant feeds both Higashi blast furnaces
    assert all("-input->" in e for e in conn.loc[conn["project_id"] == "HG-SP-BIOCHAR", "evidence"])
    # coke-oven gas to the power plant is a by-product: no Higashi coke-oven project would reach Nishi plates
    s = r.scenario
    pg = build_graph(s.model.nodes, s.model.edges)
    probe = pd.DataFrame({"project_id": ["X"], "node": ["HG_CO"]})
    reached = set(connections(pg, probe, s.model.products)["product_id"])
    assert reached and not any(p.startswith("NS-") for p in reached)
    # the BF1 group reaches no BF2 product (shared BOF, shared gas to the power plant)
    assert not any(p.endswith("-B2") or p.endswith("-N2") for p in by["HG-BF1-HBI"])

