"""Each LP family and eligibility rule on tiny cases whose optimum is worked out by hand.

The tiny organization is described in conftest.BASE. Hand numbers used below (docs/formulation.md, "REPs of
a pool", "One basis for both methods"):

HBI pool (2025-04-01..2026-03-31, 365 days, node A-BF): 2.0 x 1000 - 1800 = 200 t-CO2e. A-BF is on the
routes of HRC (1000 t), CRC (500 t) and PLT (500 t, slabs from A-CC to site B): D_HBI = 2000 t.
Days of the pool inside each CFP data period: HRC, PLT (FY2025 CFPs) 365 of 365; CRC (FY2024 CFP, ends
2025-03-31) 0 of 365. REP term R = REPs x overlap / D:
    R_HRC = R_PLT = 200 x 1 / 2000 = 0.1 t-CO2e/t,   R_CRC = 200 x 0 / 2000 = 0.
Mass-balance cap per tonne = scope1 + scope2 + R (7.3.2: scope 1+2 of the basis, never upstream scope 3):
    HRC 1.4 + 0.1 + 0.1 = 1.6,   CRC 1.5 + 0.2 + 0 = 1.7,   PLT 1.5 + 0.1 + 0.1 = 1.7.
Allocation cap per tonne = alpha_max x (scope1 + scope2 + scope3_allocable + R):
    HRC 1.4 + 0.1 + 0.1 + 0.1 = 1.7,   PLT 1.5 + 0.1 + 0.0 + 0.1 = 1.7.
Part of the HBI pool in the CFPs (= what GX Allocation may move, 8.1, 8.3.1):
    in_cfps = 200 x (1000 x 1 + 500 x 0 + 500 x 1) / 2000 = 150.
EAF pool (FY2025, node B-EAF, GHG): 0.5 x 400 - 150 = 50, connected to SEC only (D = 400 t):
    R_SEC = 50 / 400 = 0.125, mass-balance cap 0.1 + 0.3 + 0.125 = 0.525 t-CO2e/t.
Pools expire (mass balance, 3 years) on 2029-03-31, after every delivery date used here.
"""

from __future__ import annotations

from typing import Any

import pytest

import gxopt
from gxopt.errors import SolverError


def order(oid: str, product: str, tonnage: float, method: str = "mass_balance", premium: float = 10, **kw: Any):
    row = {"order_id": oid, "customer": "C", "product_id": product, "tonnage_t": tonnage,
           "delivery_date": "2026-06-30", "method": method, "premium": premium, "alpha_max": "",
           "requested_reps_t": "", "gas": ""}
    row.update({k: v for k, v in kw.items()})
    return row


def project(pid: str, node: str, kind: str = "fuel_conversion", **kw: Any) -> dict[str, Any]:
    row = {"project_id": pid, "name": pid, "node": node, "kind": kind, "additionality": "investment", "gas": "CO2",
           "verified": "true", "verifier": "V", "statement_id": "S-" + pid}
    row.update(kw)
    return row


def period(pid: str, start: str = "2025-04-01", end: str = "2026-03-31", b: float = 1.0, q: float = 100,
           e: float = 50, u: float = 0.0, **kw: Any) -> dict[str, Any]:
    row = {"project_id": pid, "period_start": start, "period_end": end, "baseline_intensity": b, "output_t": q,
           "project_emissions_t": e, "uncertainty": u}
    row.update(kw)
    return row


def solve(make, spec, orders=None):  # type: ignore[no-untyped-def]
    if orders is not None:
        spec["orders.csv"] = orders
    r = gxopt.run(make(spec))
    return r, r.orders.set_index("order_id"), r.pools.set_index("pool_id")


def test_pool_account_binds_and_prices(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, p = solve(make, spec, [order("O1", "HRC", 100, premium=10), order("O2", "HRC", 100, premium=5)])
    assert o.at["O1", "reps_t"] == pytest.approx(160)  # cap 100 t x (scope 1+2 1.5 + R_HRC 0.1)
    assert o.at["O2", "reps_t"] == pytest.approx(40)   # what is left of 200: 200 - 160 (its own cap 160 is slack)
    assert p.at["HBI@2026-03-31", "remaining_t"] == pytest.approx(0, abs=1e-9)
    assert p.at["HBI@2026-03-31", "shadow_price"] == pytest.approx(5)  # one more t-CO2e would go to O2 at 5
    assert o.at["O1", "status"] == "filled" and o.at["O2", "status"] == "partial"


def test_mass_balance_cap_is_scope_1_2_never_upstream_scope_3(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("O1", "HRC", 10), order("O2", "HRC", 100, requested_reps_t=20)])
    # 7.3.2 on the basis (7.3.3): scope1 1.4 + scope2 0.1 + R_HRC 0.1 = 1.6 t/t; the 0.5 upstream scope 3
    # (basis 2.1 in all) never counts, nor its allocable 0.1 (allocation only, 8.1.2)
    assert o.at["O1", "cap_t"] == pytest.approx(10 * (1.4 + 0.1 + 0.1))
    assert o.at["O1", "reps_t"] == pytest.approx(16)
    assert o.at["O2", "cap_t"] == pytest.approx(20)  # min(100 x 1.6 = 160, requested 20)
    assert o.at["O2", "reps_t"] == pytest.approx(20)  # requested_reps_t caps it (16 + 20 <= 200: pool slack)


def test_allocation_cap_alpha_and_three_cfps(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("A1", "HRC", 50, "allocation", alpha_max=0.5)])
    subject = 1.4 + 0.1 + 0.1 + 0.1  # scope 1+2 + allocable scope 3 + REP term
    assert o.at["A1", "cap_t"] == pytest.approx(0.5 * 50 * subject)
    assert o.at["A1", "alpha"] == pytest.approx(0.5)
    assert o.at["A1", "general_cfp"] == pytest.approx(2.0)
    assert o.at["A1", "residual_cfp"] == pytest.approx(2.1)
    assert o.at["A1", "allocated_cfp"] == pytest.approx(subject * 0.5 + 0.4)


def test_allocation_conservation_keeps_total_emissions(spec, make) -> None:  # type: ignore[no-untyped-def]
    """Only 150 of the 200 t-CO2e were added to residual CFPs (HRC and PLT; CRC's FY2024 CFP holds none of
    it): allocation moves <= 150. A1 cap 200 x 1.7 = 340, so the limit binds; M1 (CRC, cap 100 x 1.7) the rest."""
    r, o, p = solve(make, spec, [order("A1", "HRC", 200, "allocation", premium=10),
                                 order("M1", "CRC", 100, premium=1)])
    assert p.at["HBI@2026-03-31", "alloc_limit_t"] == pytest.approx(150)
    assert o.at["A1", "reps_t"] == pytest.approx(150)
    assert o.at["M1", "reps_t"] == pytest.approx(50)  # the rest still serves mass balance: one pool, both methods
    t = r.summary["totals"]
    assert t["emissions_after_allocation_t"] >= t["emissions_general_t"] - 1e-9


def test_one_pool_feeds_both_methods_without_double_use(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, p = solve(make, spec, [order("A1", "PLT", 100, "allocation", premium=8), order("M1", "HRC", 100, premium=9)])
    # M1 (premium 9) first: cap 100 x 1.6 = 160. A1: cap 100 x 1.7 = 170 and allocation limit 150, but only
    # 200 - 160 = 40 is left in the one pool both methods share
    assert o.at["M1", "reps_t"] == pytest.approx(160)
    assert o.at["A1", "reps_t"] == pytest.approx(40)
    assert p.at["HBI@2026-03-31", "used_t"] == pytest.approx(200)


def test_physical_connection_and_evidence(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"] += [project("O2", "A-O2"), project("HB", "B-SEC", "process_conversion")]
    spec["project_periods.csv"] += [period("O2"), period("HB")]
    r, o, _ = solve(make, spec, [order("M1", "HRC", 1000), order("M2", "SEC", 100), order("M3", "CRC", 1000),
                                 order("M4", "PLT", 1000)])
    conn = r.results.connections.set_index(["project_id", "product_id"])["evidence"]
    assert conn[("HBI", "HRC")] == "A-BF > A-BOF > A-CC > A-HSM"
    assert conn[("HBI", "PLT")] == "A-BF > A-BOF > A-CC > B-PLT"  # inter-site slab route
    assert conn[("O2", "HRC")] == "A-O2 -utility-> A-BOF > A-CC > A-HSM"  # utility feeder, then the route
    assert conn[("O2", "PLT")] == "A-O2 -utility-> A-BOF > A-CC > B-PLT"
    assert ("EAF", "HRC") not in conn.index
    # 6.7's own example: a section (H-beam) line project never reaches cold-rolled sheet
    assert ("HB", "CRC") not in conn.index and ("HB", "SEC") in conn.index
    al = r.allocations
    assert set(al.loc[al["order_id"] == "M3", "project_id"]) <= {"HBI", "O2"}
    assert set(al.loc[al["order_id"] == "M2", "project_id"]) <= {"EAF", "HB"}


def test_gas_type_must_match_when_named(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("G1", "HRC", 10, gas="GHG"), order("G2", "HRC", 10, gas="CO2")])
    assert o.at["G1", "status"] == "ineligible" and "gas" in o.at["G1", "reason"]
    assert o.at["G2", "reps_t"] > 0


def test_mass_balance_expiry(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["mass_balance"] = {"expiry_years": 0}
    r, o, p = solve(make, spec, [order("M1", "HRC", 10)])
    assert str(p.at["HBI@2026-03-31", "expires"].date()) == "2026-03-31"
    assert o.at["M1", "status"] == "ineligible" and "expired" in o.at["M1", "reason"]


def test_delivery_after_expiry_is_not_served(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("M1", "HRC", 10, delivery_date="2029-04-01"),
                                 order("M2", "HRC", 10, delivery_date="2029-03-31")])
    assert o.at["M1", "reps_t"] == 0 and o.at["M2", "reps_t"] > 0


def test_pool_not_ended_by_as_of_is_unusable(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["as_of"] = "2026-03-30"
    r, o, p = solve(make, spec, [order("M1", "HRC", 10)])
    assert not p.at["HBI@2026-03-31", "ended"]
    assert o.at["M1", "reps_t"] == 0


def test_allocation_windows(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("A1", "CRC", 10, "allocation"),
                                 order("A2", "HRC", 10, "allocation", delivery_date="2027-04-01"),
                                 order("A3", "HRC", 10, "allocation", delivery_date="2027-03-31")])
    # ch. 4: CRC's CFP data period (2024-04-01..2025-03-31) ended before HBI's first period (2025-04-01), its
    # only connected project: not a CFP from data after the project commenced
    assert o.at["A1", "status"] == "ineligible"
    assert "GX Allocation needs a CFP from data after the project commenced (ch. 4, 8.2.2)" in o.at["A1", "reason"]
    assert "operational period" in o.at["A2", "reason"]  # 8.2.3: delivery one day after 2027-03-31
    assert o.at["A3", "reps_t"] == pytest.approx(17)  # last day inside: 10 t x alpha 1 x 1.7 (<= limit 150)


def test_pool_outside_cfp_period_cannot_be_allocated(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][0].update(period_start="2024-04-01", period_end="2025-03-31")
    r, o, _ = solve(make, spec, [order("A1", "HRC", 10, "allocation"), order("M1", "HRC", 10)])
    assert o.at["A1", "status"] == "ineligible" and "CFP data period" in o.at["A1", "reason"]
    assert o.at["M1", "reps_t"] > 0  # mass balance is not bound to the CFP period


@pytest.mark.parametrize(("node", "kind", "extra", "why"), [
    ("A-CHEM", "fuel_conversion", {}, "non-steel"),
    ("A-BOF", "external_certificate", {}, "external certificate"),
    ("A-BOF", "operational_improvement", {}, "lacks additionality"),
    ("A-BOF", "fuel_conversion", {"additionality": ""}, "not additional"),
    ("A-BOF", "fuel_conversion", {"verified": "false", "verifier": "", "statement_id": ""}, "not verified"),
])
def test_ineligible_projects_never_feed_orders(spec, make, node, kind, extra, why) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"] = [project("X", node, kind, **extra)]
    spec["project_periods.csv"] = [period("X")]
    r, o, p = solve(make, spec, [order("M1", "HRC", 10)])
    assert why in p.at["X@2026-03-31", "reason"]
    assert r.allocations.empty


def test_unverified_only_in_what_if_and_never_certifiable(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"][0].update(verified="false", verifier="", statement_id="")
    spec["scenario.yaml"]["allow_unverified"] = True
    r, o, _ = solve(make, spec, [order("M1", "HRC", 10)])
    # allowed in the what-if, the project is eligible and its REP term counts: 10 t x 1.6
    assert o.at["M1", "reps_t"] == pytest.approx(16)
    assert not o.at["M1", "certifiable"]
    assert r.summary["what_if"]


def test_sooner_expiring_pool_first(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"].append(period("HBI", "2024-04-01", "2025-03-31", 2.0, 1000, 1800))
    r, o, p = solve(make, spec, [order("M1", "HRC", 100)])
    # FY2024 pool 200 (expires 2028-03-31), FY2025 pool 200 (2029-03-31). HRC's FY2025 CFP holds only the
    # FY2025 pool: R_HRC = (200 x 0 + 200 x 1) / 2000 = 0.1, cap 100 x 1.6 = 160, all from the sooner pool
    assert p.at["HBI@2025-03-31", "used_run_t"] == pytest.approx(160)
    assert p.at["HBI@2026-03-31", "used_run_t"] == pytest.approx(0)


def test_own_site_pool_preferred(spec, make) -> None:  # type: ignore[no-untyped-def]
    """The site stage: the pools of the site where the product's crude steel is made come first (SteelZero's
    site-level link). The plate is rolled at site B from site A slabs (A-BOF): site A steel."""
    spec["projects.csv"].append(project("BP", "B-PLT"))
    spec["project_periods.csv"].append(period("BP", b=1.0, q=1000, e=800))
    r, o, p = solve(make, spec, [order("M1", "PLT", 50)])
    # BP: 1.0 x 1000 - 800 = 200 at B-PLT, connected to PLT only (D = 500): R_PLT = 200/2000 + 200/500 = 0.5,
    # cap 50 t x (1.5 + 0.1 + 0.5) = 105. Both pools (200 each) could serve it all with the same value, volume
    # and expiry (2029-03-31): the site-A pool HBI takes all 105, the site-B pool BP none
    assert o.at["M1", "reps_t"] == pytest.approx(105)
    assert p.at["HBI@2026-03-31", "used_run_t"] == pytest.approx(105)
    assert p.at["BP@2026-03-31", "used_run_t"] == pytest.approx(0, abs=1e-9)
    assert bool(r.allocations["same_site"].all())


def test_zero_premium_orders_still_served(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("Z", "HRC", 10, premium=0)])
    assert o.at["Z", "reps_t"] == pytest.approx(16)  # the volume stage: 10 t x 1.6


def test_value_first_then_earlier_delivery(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("L", "HRC", 100, delivery_date="2026-12-01"),
                                 order("E", "HRC", 100, delivery_date="2026-05-01")])
    # same premium: any split of 200 has the same value; the earlier delivery gets its cap 160, L the rest 40
    assert o.at["E", "reps_t"] == pytest.approx(160) and o.at["L", "reps_t"] == pytest.approx(40)


def test_uncertainty_is_conservative(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][0]["uncertainty"] = 0.1
    r, _, p = solve(make, spec)
    assert p.at["HBI@2026-03-31", "reps_t"] == pytest.approx(180)


def test_net_increase_gives_no_reps(spec, make) -> None:  # type: ignore[no-untyped-def]
    """ch. 6: 'both GHG emission reductions and increases ... shall be included'. A period with a net
    increase gives no REPs of its own, and its increase is netted against the project's other periods."""
    spec["project_periods.csv"][0]["project_emissions_t"] = 2500  # HBI FY2025: 2.0 x 1000 - 2500 = -500
    r, o, p = solve(make, spec)
    # the project's only period: nothing to net against, the project nets to an increase
    assert p.at["HBI@2026-03-31", "period_reps_t"] == pytest.approx(-500)
    assert p.at["HBI@2026-03-31", "reps_t"] == 0
    assert "net to an emission increase: no REPs (6: increases included)" in p.at["HBI@2026-03-31", "reason"]
    assert o.at["O1", "reps_t"] == 0  # HRC is connected to HBI only

    # an earlier FY2024 period with 2.0 x 1000 - 1200 = +800: the FY2025 increase of 500 is taken from it
    # (the latest earlier period): FY2024 holds 800 - 500 = 300, FY2025 0; the project holds 300, not 800
    spec["project_periods.csv"].append(period("HBI", "2024-04-01", "2025-03-31", 2.0, 1000, 1200))
    r, o, p = solve(make, spec, [order("M1", "HRC", 1000)])
    fy24, fy25 = p.loc["HBI@2025-03-31"], p.loc["HBI@2026-03-31"]
    assert (fy24["period_reps_t"], fy24["netted_t"], fy24["reps_t"]) == pytest.approx((800, -500, 300))
    assert (fy25["period_reps_t"], fy25["netted_t"], fy25["reps_t"]) == pytest.approx((-500, 0, 0))
    assert "net emission increase in the period: netted against the project's other periods (6)" in fy25["reason"]
    assert "netted against the period ending 2025-03-31" in fy25["netting"]
    assert "for the increase ending 2026-03-31" in fy24["netting"]
    # R_HRC = (300 x 0 [FY2024 pool, 0 days in FY2025] + 0 x 1) / 2000 = 0: cap 1000 x 1.5 = 1500; the FY2024
    # pool (expires 2028-03-31) gives its 300
    assert o.at["M1", "reps_t"] == pytest.approx(300)
    assert fy24["used_run_t"] == pytest.approx(300)


def test_account_use_reduces_availability(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["account.csv"] = [{"project_id": "HBI", "period_end": "2026-03-31", "used_t": 120}]
    r, o, p = solve(make, spec, [order("M1", "HRC", 1000)])
    assert o.at["M1", "reps_t"] == pytest.approx(80)
    assert p.at["HBI@2026-03-31", "remaining_t"] == pytest.approx(0, abs=1e-9)


def test_node_level_group_counts_once(spec, make) -> None:  # type: ignore[no-untyped-def]
    """6.6: two projects at A-BF in the same period share one node-level calculation."""
    spec["projects.csv"].append(project("FC", "A-BF", "raw_material_conversion"))
    hbi = spec["project_periods.csv"][0]
    hbi["attribution_share"] = 0.7
    spec["project_periods.csv"].append({**hbi, "project_id": "FC", "attribution_share": 0.3})
    spec["project_periods.csv"][1]["attribution_share"] = ""
    r, _, p = solve(make, spec)
    assert p.at["HBI@2026-03-31", "reps_t"] == pytest.approx(140)
    assert p.at["FC@2026-03-31", "reps_t"] == pytest.approx(60)
    assert p.at["HBI@2026-03-31", "group"] == p.at["FC@2026-03-31", "group"] != ""


def test_no_orders_and_no_arcs(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("S", "SEC", 10, gas="CO2")])  # EAF pool is GHG: nothing eligible
    assert o.at["S", "status"] == "ineligible" and r.allocations.empty
    assert r.summary["objective_value"] == 0
    spec["orders.csv"] = [{k: "" for k in order("x", "HRC", 1)}][:0]
    folder = make(spec)
    (folder / "orders.csv").write_text(",".join(order("x", "HRC", 1)) + "\n")
    r = gxopt.run(folder)
    assert r.orders.empty and r.summary["totals"]["used_run_t"] == 0


def test_non_optimal_solve_raises(spec, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pyomo.contrib.solver.common.results import Results, SolutionStatus, TerminationCondition

    import importlib

    lp_solve = importlib.import_module("gxopt.lp.solve")

    class Stub:
        def available(self) -> bool:
            return True

        def solve(self, *a: Any, **k: Any) -> Results:
            res = Results()
            res.termination_condition = TerminationCondition.maxTimeLimit
            res.solution_status = SolutionStatus.feasible
            return res

    monkeypatch.setattr(lp_solve, "SolverFactory", lambda name: Stub())
    with pytest.raises(SolverError, match="did not prove an optimum"):
        gxopt.run(make(spec), reference=True)


def test_time_limit_on_the_fast_path_raises() -> None:
    from gxopt.eligibility import eligibility
    from gxopt.graph import build_graph
    from gxopt.lp.allocate import allocate
    from gxopt.reps import compute_pools
    from tests.conftest import REPO

    s = gxopt.load(REPO / "scenarios" / "jp-steel-fy2026")
    elig = eligibility(s, build_graph(s.model.nodes, s.model.edges), compute_pools(s))
    with pytest.raises(SolverError, match="Time limit"):
        allocate(elig, time_limit=0.0)
