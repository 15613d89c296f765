"""Each LP family and eligibility rule on tiny cases whose optimum is worked out by hand.

The tiny organization is described in conftest.BASE. Hand numbers used below:
HBI pool (FY2025, node A-BF): 2.0 x 1000 - 1800 = 200 t-CO2e, connected to HRC (1000 t), CRC (500 t,
pre-project CFP) and PLT (500 t, slabs from A-CC to site B): REP term 200 / 2000 = 0.1 t-CO2e/t for the
post-project HRC and PLT; allocation limit 200 x (1000 + 500) / 2000 = 150. EAF pool: 0.5 x 400 - 150 = 50.
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
    assert o.at["O1", "reps_t"] == pytest.approx(150)  # cap 100 t x scope 1+2 (1.5)
    assert o.at["O2", "reps_t"] == pytest.approx(50)   # what is left of 200
    assert p.at["HBI@2026-03-31", "remaining_t"] == pytest.approx(0, abs=1e-9)
    assert p.at["HBI@2026-03-31", "shadow_price"] == pytest.approx(5)
    assert o.at["O1", "status"] == "filled" and o.at["O2", "status"] == "partial"


def test_mass_balance_cap_is_scope_1_2_never_upstream_scope_3(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("O1", "HRC", 10), order("O2", "HRC", 100, requested_reps_t=20)])
    assert o.at["O1", "cap_t"] == pytest.approx(10 * 1.5)  # 7.3.2: scope1 1.4 + scope2 0.1, not the 0.5 upstream
    assert o.at["O1", "reps_t"] == pytest.approx(15)
    assert o.at["O2", "reps_t"] == pytest.approx(20)  # requested_reps_t caps it


def test_allocation_cap_alpha_and_three_cfps(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("A1", "HRC", 50, "allocation", alpha_max=0.5)])
    subject = 1.4 + 0.1 + 0.1 + 0.1  # scope 1+2 + allocable scope 3 + REP term
    assert o.at["A1", "cap_t"] == pytest.approx(0.5 * 50 * subject)
    assert o.at["A1", "alpha"] == pytest.approx(0.5)
    assert o.at["A1", "general_cfp"] == pytest.approx(2.0)
    assert o.at["A1", "residual_cfp"] == pytest.approx(2.1)
    assert o.at["A1", "allocated_cfp"] == pytest.approx(subject * 0.5 + 0.4)


def test_allocation_conservation_keeps_total_emissions(spec, make) -> None:  # type: ignore[no-untyped-def]
    """Only 150 of the 200 t-CO2e were added to residual CFPs (CRC is pre-project): allocation moves <= 150."""
    r, o, p = solve(make, spec, [order("A1", "HRC", 200, "allocation", premium=10),
                                 order("M1", "CRC", 100, premium=1)])
    assert p.at["HBI@2026-03-31", "alloc_limit_t"] == pytest.approx(150)
    assert o.at["A1", "reps_t"] == pytest.approx(150)
    assert o.at["M1", "reps_t"] == pytest.approx(50)  # the rest still serves mass balance: one pool, both methods
    t = r.summary["totals"]
    assert t["emissions_after_allocation_t"] >= t["emissions_general_t"] - 1e-9


def test_one_pool_feeds_both_methods_without_double_use(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, p = solve(make, spec, [order("A1", "PLT", 100, "allocation", premium=8), order("M1", "HRC", 100, premium=9)])
    assert o.at["M1", "reps_t"] == pytest.approx(150)
    assert o.at["A1", "reps_t"] == pytest.approx(50)
    assert p.at["HBI@2026-03-31", "used_t"] == pytest.approx(200)


def test_physical_connection_and_evidence(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"] += [project("O2", "A-O2"), project("HB", "B-SEC", "process_conversion")]
    spec["project_periods.csv"] += [period("O2"), period("HB")]
    r, o, _ = solve(make, spec, [order("M1", "HRC", 1000), order("M2", "SEC", 100), order("M3", "CRC", 1000),
                                 order("M4", "PLT", 1000)])
    conn = r.results.connections.set_index(["project_id", "product_id"])["evidence"]
    assert conn[("HBI", "HRC")] == "A-BF > A-BOF > A-CC > A-HSM"
    assert conn[("HBI", "PLT")] == "A-BF > A-BOF > A-CC > B-PLT"  # inter-site slab route
    assert conn[("O2", "HRC")] == "A-O2 ~> A-BOF > A-CC > A-HSM"  # utility then material
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
    assert "pre_project" in o.at["A1", "reason"]
    assert "operational period" in o.at["A2", "reason"]
    assert o.at["A3", "reps_t"] > 0


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
    assert o.at["M1", "reps_t"] == pytest.approx(15)
    assert not o.at["M1", "certifiable"]
    assert r.summary["what_if"]


def test_sooner_expiring_pool_first(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"].append(period("HBI", "2024-04-01", "2025-03-31", 2.0, 1000, 1800))
    r, o, p = solve(make, spec, [order("M1", "HRC", 100)])
    assert p.at["HBI@2025-03-31", "used_run_t"] == pytest.approx(150)
    assert p.at["HBI@2026-03-31", "used_run_t"] == pytest.approx(0)


def test_own_site_pool_preferred(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"].append(project("BP", "B-PLT"))
    spec["project_periods.csv"].append(period("BP", b=1.0, q=1000, e=800))
    r, o, p = solve(make, spec, [order("M1", "PLT", 100)])
    assert p.at["BP@2026-03-31", "used_run_t"] == pytest.approx(160)  # site B pool for the site B plate
    assert bool(r.allocations["same_site"].all())


def test_zero_premium_orders_still_served(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("Z", "HRC", 10, premium=0)])
    assert o.at["Z", "reps_t"] == pytest.approx(15)


def test_value_first_then_earlier_delivery(spec, make) -> None:  # type: ignore[no-untyped-def]
    r, o, _ = solve(make, spec, [order("L", "HRC", 100, delivery_date="2026-12-01"),
                                 order("E", "HRC", 100, delivery_date="2026-05-01")])
    assert o.at["E", "reps_t"] == pytest.approx(150) and o.at["L", "reps_t"] == pytest.approx(50)


def test_uncertainty_is_conservative(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][0]["uncertainty"] = 0.1
    r, _, p = solve(make, spec)
    assert p.at["HBI@2026-03-31", "reps_t"] == pytest.approx(180)


def test_net_increase_gives_no_reps(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][0]["project_emissions_t"] = 2500
    r, _, p = solve(make, spec)
    assert p.at["HBI@2026-03-31", "reps_t"] == 0
    assert "net emission increase" in p.at["HBI@2026-03-31", "reason"]


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
    from gxopt.lp.highs import solve_arrays
    from gxopt.reps import compute_pools
    from tests.conftest import REPO

    s = gxopt.load(REPO / "scenarios" / "jp-steel-fy2026")
    elig = eligibility(s, build_graph(s.model.nodes, s.model.edges), compute_pools(s))
    with pytest.raises(SolverError, match="Time limit"):
        solve_arrays(elig, time_limit=0.0)
