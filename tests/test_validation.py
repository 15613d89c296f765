"""Every input rule, one case each: the InputError names file, line, column and the rule.

Line numbers are those of the file as written by ``tests/conftest.write_scenario`` (header = line 1):
nodes.csv has 11 rows (an appended row is line 13), edges.csv 8 (appended: line 10), products.csv
HRC 2 / CRC 3 / PLT 4 / SEC 5, projects.csv HBI 2 / EAF 3, project_periods.csv HBI 2 / EAF 3, orders.csv O1 2.
Whole-file problems (missing file or column, YAML settings, a cycle spanning several edges) have row None.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import gxopt
from gxopt.cli import app

Spec = dict[str, Any]
Mutation = Callable[[Spec], None]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def load_issues(make, spec: Spec) -> list[gxopt.Issue]:  # type: ignore[no-untyped-def]
    """Load the scenario of ``spec`` and return the issues of the InputError it must raise."""
    folder = make(spec)
    with pytest.raises(gxopt.InputError) as exc:
        gxopt.load(folder)
    assert exc.value.issues, "an InputError must carry at least one issue"
    return exc.value.issues


def find(issues: list[gxopt.Issue], file: str, row: int | None, column: str | None, fragment: str) -> gxopt.Issue:
    """The issue of ``file`` (name ending), ``row``, ``column`` whose rule contains ``fragment``."""
    hits = [i for i in issues if i.file.endswith(file) and i.row == row and i.column == column and fragment in i.rule]
    assert hits, f"no issue {file}:{row}:{column} with {fragment!r} among:\n" + "\n".join(map(str, issues))
    return hits[0]


def expect(make, spec: Spec, file: str, row: int | None, column: str | None, fragment: str,  # type: ignore[no-untyped-def]
           clause: str | None = None) -> gxopt.Issue:
    issue = find(load_issues(make, spec), file, row, column, fragment)
    if clause is not None:
        assert issue.clause is not None and clause in issue.clause, issue
    return issue


def assert_loads(make, spec: Spec) -> gxopt.RunResult:  # type: ignore[no-untyped-def]
    """The scenario is valid: load succeeds and the run solves and verifies."""
    folder = make(spec)
    gxopt.load(folder)
    return gxopt.run(folder)


def setcell(file: str, index: int, **values: Any) -> Mutation:
    def mutate(s: Spec) -> None:
        s[file][index].update(values)
    return mutate


def append(file: str, row: dict[str, Any] | Callable[[Spec], dict[str, Any]]) -> Mutation:
    def mutate(s: Spec) -> None:
        s[file].append(row(s) if callable(row) else dict(row))
    return mutate


def copy_row(file: str, index: int, **changes: Any) -> Mutation:
    return append(file, lambda s: {**s[file][index], **changes})


def drop_column(file: str, column: str) -> Mutation:
    def mutate(s: Spec) -> None:
        for r in s[file]:
            r.pop(column)
    return mutate


def period(pid: str, start: str = "2025-04-01", end: str = "2026-03-31", b: float = 2.0, q: float = 1000,
           e: float = 1800, u: float = 0.0, **kw: Any) -> dict[str, Any]:
    return {"project_id": pid, "period_start": start, "period_end": end, "baseline_intensity": b, "output_t": q,
            "project_emissions_t": e, "uncertainty": u, **kw}


def second_project_at_hbi_node(s: Spec, *, first: dict[str, Any] | None = None,
                               second: dict[str, Any] | None = None) -> None:
    """Add project PCI at A-BF (HBI's node) with a period over HBI's FY2025 period (a 6.6 group)."""
    s["projects.csv"].append({**s["projects.csv"][0], "project_id": "PCI", "name": "PCI injection",
                              "kind": "fuel_conversion", "statement_id": "S3"})
    s["project_periods.csv"][0].update(first or {})
    s["project_periods.csv"].append(period("PCI", **(second or {})))


# --------------------------------------------------------------------------------------------------
# the base case is valid
# --------------------------------------------------------------------------------------------------

def test_base_scenario_is_valid(spec, make) -> None:  # type: ignore[no-untyped-def]
    r = assert_loads(make, spec)
    # O1: 100 t HRC, cap per tonne scope1 1.4 + scope2 0.1 + REP term 200 / 2000 = 0.1 (HBI's 200 t-CO2e, all
    # inside HRC's FY2025 CFP, over HRC 1000 + CRC 500 + PLT 500 t connected): 160 of the pool's 200
    assert r.orders.set_index("order_id").at["O1", "reps_t"] == pytest.approx(160)


# --------------------------------------------------------------------------------------------------
# single-cell rules (gxopt/schema.py)
# --------------------------------------------------------------------------------------------------

CELL_CASES = [
    # id, mutation, file, row, column, fragment of the rule, clause
    ("negative tonnage", setcell("orders.csv", 0, tonnage_t=-5), "orders.csv", 2, "tonnage_t",
     "must be greater than 0", None),
    ("zero tonnage", setcell("orders.csv", 0, tonnage_t=0), "orders.csv", 2, "tonnage_t",
     "must be greater than 0", None),
    ("zero production", setcell("products.csv", 1, production_t=0), "products.csv", 3, "production_t",
     "must be greater than 0", None),
    ("negative premium", setcell("orders.csv", 0, premium=-1), "orders.csv", 2, "premium", "must be at least 0",
     None),
    ("negative scope1", setcell("products.csv", 0, scope1=-0.1), "products.csv", 2, "scope1",
     "must be at least 0", "5.2.4"),
    ("zero output", setcell("project_periods.csv", 1, output_t=0), "project_periods.csv", 3, "output_t",
     "must be greater than 0", None),
    ("scrap share above 1", setcell("products.csv", 3, scrap_share=1.2), "products.csv", 5, "scrap_share",
     "must be at most 1", None),
    ("non-numeric premium", setcell("orders.csv", 0, premium="ten"), "orders.csv", 2, "premium", "not a number",
     None),
    ("non-numeric output", setcell("project_periods.csv", 0, output_t="1,000"), "project_periods.csv", 2,
     "output_t", "not a number", None),
    ("infinite tonnage", setcell("orders.csv", 0, tonnage_t="inf"), "orders.csv", 2, "tonnage_t", "not a number",
     None),
    ("empty premium", setcell("orders.csv", 0, premium=""), "orders.csv", 2, "premium", "empty is not zero", None),
    ("empty production", setcell("products.csv", 2, production_t=""), "products.csv", 4, "production_t",
     "empty is not zero", None),
    ("empty emissions", setcell("project_periods.csv", 1, project_emissions_t=""), "project_periods.csv", 3,
     "project_emissions_t", "empty is not zero", "6"),
    ("empty node of project", setcell("projects.csv", 0, node=""), "projects.csv", 2, "node", "empty is not zero",
     "6.7"),
    ("empty site of node", setcell("nodes.csv", 4, site=""), "nodes.csv", 6, "site", "empty is not zero", None),
    ("empty used_t", lambda s: s.update({"account.csv": [{"project_id": "HBI", "period_end": "2026-03-31",
                                                           "used_t": ""}]}),
     "account.csv", 2, "used_t", "empty is not zero", None),
    ("alpha_max above 1", append("orders.csv", {**{"order_id": "A1", "customer": "C", "product_id": "HRC",
                                                   "tonnage_t": 10, "delivery_date": "2026-06-30",
                                                   "method": "allocation", "premium": 5, "alpha_max": 1.5,
                                                   "requested_reps_t": "", "gas": ""}}),
     "orders.csv", 3, "alpha_max", "must be at most 1", "8.1.1"),
    ("alpha_max below 0", append("orders.csv", {**{"order_id": "A1", "customer": "C", "product_id": "HRC",
                                                   "tonnage_t": 10, "delivery_date": "2026-06-30",
                                                   "method": "allocation", "premium": 5, "alpha_max": -0.1,
                                                   "requested_reps_t": "", "gas": ""}}),
     "orders.csv", 3, "alpha_max", "must be at least 0", "8.1.1"),
    ("negative requested_reps_t", setcell("orders.csv", 0, requested_reps_t=-3), "orders.csv", 2,
     "requested_reps_t", "must be at least 0", None),
    ("uncertainty equal to 1", setcell("project_periods.csv", 0, uncertainty=1), "project_periods.csv", 2,
     "uncertainty", "must be less than 1", "6.5"),
    ("negative uncertainty", setcell("project_periods.csv", 0, uncertainty=-0.1), "project_periods.csv", 2,
     "uncertainty", "must be at least 0", "6.5"),
    ("attribution_share 0", setcell("project_periods.csv", 0, attribution_share=0), "project_periods.csv", 2,
     "attribution_share", "must be greater than 0", "6.6"),
    ("date month 13", setcell("orders.csv", 0, delivery_date="2025-13-01"), "orders.csv", 2, "delivery_date",
     "not an ISO date YYYY-MM-DD", None),
    ("date day/month/year", setcell("orders.csv", 0, delivery_date="01/04/2025"), "orders.csv", 2,
     "delivery_date", "not an ISO date YYYY-MM-DD", None),
    ("date without zero padding", setcell("orders.csv", 0, delivery_date="2025-4-1"), "orders.csv", 2,
     "delivery_date", "not an ISO date YYYY-MM-DD", None),
    ("date 30 February", setcell("project_periods.csv", 1, period_start="2025-02-30"), "project_periods.csv", 3,
     "period_start", "not an ISO date YYYY-MM-DD", "6.2.2.2"),
    ("date with time", setcell("products.csv", 0, cfp_period_end="2026-03-31T00:00"), "products.csv", 2,
     "cfp_period_end", "not an ISO date YYYY-MM-DD", "8.2.2"),
    ("bool yes (verified)", setcell("projects.csv", 0, verified="yes"), "projects.csv", 2, "verified",
     "must be true or false", "6.8"),
    ("bool 1 (steel)", setcell("nodes.csv", 1, steel="1"), "nodes.csv", 3, "steel", "must be true or false",
     "6.2.1.1"),
    ("method book_and_claim", setcell("orders.csv", 0, method="book_and_claim"), "orders.csv", 2, "method",
     "must be one of mass_balance, allocation", None),
    ("project gas CH4", setcell("projects.csv", 1, gas="CH4"), "projects.csv", 3, "gas",
     "must be one of CO2, GHG", "7.3.1"),
    ("order gas CH4", setcell("orders.csv", 0, gas="CH4"), "orders.csv", 2, "gas", "must be one of CO2, GHG",
     "7.3.1"),
    ("project kind", setcell("projects.csv", 0, kind="carbon_capture"), "projects.csv", 2, "kind",
     "must be one of", None),
    ("additionality", setcell("projects.csv", 0, additionality="financial"), "projects.csv", 2, "additionality",
     "must be one of", "6.2.1.2"),
    ("edge kind", append("edges.csv", {"source": "A-O2", "target": "B-EAF", "kind": "steam"}), "edges.csv", 10,
     "kind", "must be one of material, input, utility, byproduct", "6.7"),
    ("cfp_basis", setcell("products.csv", 3, cfp_basis="post"), "products.csv", 5, "cfp_basis", "must be one of",
     None),
    ("duplicate order_id", copy_row("orders.csv", 0), "orders.csv", 3, "order_id", "duplicate id", None),
    ("duplicate product_id", copy_row("products.csv", 1, production_t=1), "products.csv", 6, "product_id",
     "duplicate id", None),
    ("duplicate node_id", copy_row("nodes.csv", 0, site="B"), "nodes.csv", 13, "node_id", "duplicate id", None),
    ("duplicate project_id", copy_row("projects.csv", 1, node="B-CC"), "projects.csv", 4, "project_id",
     "duplicate id", None),
    ("duplicate edge", copy_row("edges.csv", 0), "edges.csv", 10, "source,target,kind", "duplicate id", None),
    ("duplicate pool (project_id, period_end)",
     append("project_periods.csv", period("HBI", start="2025-10-01", end="2026-03-31")),
     "project_periods.csv", 4, "project_id,period_end", "duplicate id", None),
    ("duplicate account row", lambda s: s.update({"account.csv": [
        {"project_id": "HBI", "period_end": "2026-03-31", "used_t": 1},
        {"project_id": "HBI", "period_end": "2026-03-31", "used_t": 2}]}),
     "account.csv", 3, "project_id,period_end", "duplicate id", None),
]


@pytest.mark.parametrize(("mutate", "file", "row", "column", "fragment", "clause"),
                         [pytest.param(*c[1:], id=c[0]) for c in CELL_CASES])
def test_single_cell_rule(spec, make, mutate, file, row, column, fragment, clause) -> None:  # type: ignore[no-untyped-def]
    mutate(spec)
    expect(make, spec, file, row, column, fragment, clause)


def test_bad_cell_reports_the_value(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["orders.csv"][0]["tonnage_t"] = "12t"
    issue = expect(make, spec, "orders.csv", 2, "tonnage_t", "not a number")
    assert issue.value == "12t"
    assert "orders.csv, line 2, column 'tonnage_t'" in str(issue)


@pytest.mark.parametrize(("file", "column", "clause"), [
    ("orders.csv", "premium", None),
    ("orders.csv", "gas", "7.3.1"),  # a nullable column must still be present
    ("nodes.csv", "steel", "6.2.1.1"),
    ("edges.csv", "kind", None),
    ("products.csv", "scope3_allocable", "8.1.2"),
    ("projects.csv", "verified", "6.8"),
    ("project_periods.csv", "uncertainty", "6.5"),
])
def test_missing_required_column(spec, make, file, column, clause) -> None:  # type: ignore[no-untyped-def]
    drop_column(file, column)(spec)
    expect(make, spec, file, None, column, "required column is missing", clause)


@pytest.mark.parametrize(("file", "column"), [("projects.csv", "technology"),
                                              ("project_periods.csv", "attribution_share")])
def test_optional_column_may_be_absent(spec, make, file, column) -> None:  # type: ignore[no-untyped-def]
    for r in spec[file]:
        r.pop(column, None)
    assert_loads(make, spec)


def test_extra_columns_are_ignored(spec, make) -> None:  # type: ignore[no-untyped-def]
    for r in spec["orders.csv"]:
        r["comment"] = "anything"
    assert_loads(make, spec)


@pytest.mark.parametrize("file", ["nodes.csv", "edges.csv", "products.csv", "model.yaml", "projects.csv",
                                  "project_periods.csv", "orders.csv", "scenario.yaml"])
def test_missing_file(spec, make, file) -> None:  # type: ignore[no-untyped-def]
    spec[file] = None
    expect(make, spec, file, None, None, "file not found")


def test_account_file_is_optional(spec, make) -> None:  # type: ignore[no-untyped-def]
    assert "account.csv" not in spec
    assert_loads(make, spec)


# --------------------------------------------------------------------------------------------------
# cross-table and guideline rules (gxopt/checks.py)
# --------------------------------------------------------------------------------------------------

CROSS_CASES = [
    ("unknown node in edges (source)", append("edges.csv", {"source": "A-XX", "target": "A-BF", "kind": "material"}),
     "edges.csv", 10, "source", "unknown node (not in nodes.csv)", None),
    ("unknown node in edges (target)", append("edges.csv", {"source": "A-O2", "target": "B-O2", "kind": "utility"}),
     "edges.csv", 10, "target", "unknown node (not in nodes.csv)", None),
    ("unknown product in orders", setcell("orders.csv", 0, product_id="WIRE"), "orders.csv", 2, "product_id",
     "unknown product", None),
    ("unknown node in projects", setcell("projects.csv", 1, node="B-BF"), "projects.csv", 3, "node",
     "unknown node", "6.7"),
    ("unknown project in project_periods", append("project_periods.csv", period("NOPE")), "project_periods.csv", 4,
     "project_id", "unknown project (not in projects.csv)", None),
    ("route skips a step", setcell("products.csv", 1, route="A-BF>A-CC>A-HSM>A-CRM"), "products.csv", 3, "route",
     "'A-BF > A-CC' is not a material edge", "6.7"),
    ("route against the flow", setcell("products.csv", 3, route="B-SEC>B-CC>B-EAF", site="B"), "products.csv", 5,
     "route", "is not a material edge", "6.7"),
    ("route step along a utility edge", setcell("products.csv", 0, route="A-O2>A-BOF>A-CC>A-HSM"), "products.csv",
     2, "route", "'A-O2 > A-BOF' is not a material edge", "6.7"),
    ("route names unknown node", setcell("products.csv", 1, route="A-BF>A-BOF>A-XX>A-CRM"), "products.csv", 3,
     "route", "route names unknown node(s): A-XX", "6.7"),
    ("route with an empty step", setcell("products.csv", 0, route="A-BF>>A-BOF"), "products.csv", 2, "route",
     "route names unknown node", "6.7"),
    ("route visits a node twice", lambda s: (
        s["edges.csv"].append({"source": "A-HSM", "target": "A-HSM", "kind": "material"}),
        s["products.csv"][0].update(route="A-BF>A-BOF>A-CC>A-HSM>A-HSM")),
     "products.csv", 2, "route", "route visits a node twice", "6.7"),
    ("product site is not the site of the last node", setcell("products.csv", 2, site="A"), "products.csv", 4,
     "site", "must be the site of the route's last node 'B-PLT' (B)", None),
    ("scope parts do not sum to general_cfp", setcell("products.csv", 0, general_cfp=2.5), "products.csv", 2,
     "general_cfp", "must equal scope1 + scope2 + scope3_upstream", "5.2.4"),
    ("scope3_allocable above scope3_upstream", setcell("products.csv", 3, scope3_allocable=0.2), "products.csv", 5,
     "scope3_allocable", "must not exceed scope3_upstream", "8.1.2"),
    ("cfp period end before start", setcell("products.csv", 0, cfp_period_end="2025-03-31"), "products.csv", 2,
     "cfp_period_end", "must not be before cfp_period_start", "8.2.2"),
    ("calculation period one day longer than a year", setcell("project_periods.csv", 0, period_end="2026-04-01"),
     "project_periods.csv", 2, "period_end", "calculation period longer than one year", "6.2.2.2"),
    ("calculation period of two years", setcell("project_periods.csv", 1, period_start="2024-04-01"),
     "project_periods.csv", 3, "period_end", "calculation period longer than one year", "6.2.2.2"),
    ("period_end before period_start", setcell("project_periods.csv", 1, period_end="2025-03-31"),
     "project_periods.csv", 3, "period_end", "must not be before period_start", "6.2.2.2"),
    ("two periods of one project overlap", append("project_periods.csv", period("HBI", "2025-10-01", "2026-09-30")),
     "project_periods.csv", 4, "period_start", "overlaps the project's period ending 2026-03-31 (line 2)", "6.6"),
    ("periods of one project sharing a day", append("project_periods.csv", period("EAF", "2024-04-02", "2025-04-01",
                                                                                   b=0.5, q=400, e=150)),
     "project_periods.csv", 3, "period_start", "overlaps the project's period ending 2025-04-01 (line 4)", "6.6"),
    ("alpha_max on a mass_balance order", setcell("orders.csv", 0, alpha_max=0.5), "orders.csv", 2, "alpha_max",
     "alpha_max applies to GX Allocation orders only", "8.1.1"),
    ("cycle in material edges", append("edges.csv", {"source": "A-CC", "target": "A-BF", "kind": "material"}),
     "edges.csv", None, "kind", "material edges form a cycle", None),
    ("edge self loop", append("edges.csv", {"source": "B-CC", "target": "B-CC", "kind": "utility"}), "edges.csv", 10,
     "target", "an edge may not loop back to its source", None),
    ("verified project without verifier", setcell("projects.csv", 1, verifier=""), "projects.csv", 3, "verifier",
     "a verified project must name its verifier and statement", "6.8"),
    ("verified project without statement_id", setcell("projects.csv", 0, statement_id=" "), "projects.csv", 2,
     "statement_id", "a verified project must name its verifier and statement", "6.8"),
    ("account names an unknown pool (period)", lambda s: s.update({"account.csv": [
        {"project_id": "HBI", "period_end": "2025-03-31", "used_t": 10}]}),
     "account.csv", 2, "period_end", "no such pool (project_id, period_end)", None),
    ("account names an unknown pool (project)", lambda s: s.update({"account.csv": [
        {"project_id": "EAF", "period_end": "2026-03-31", "used_t": 10},
        {"project_id": "XYZ", "period_end": "2026-03-31", "used_t": 10}]}),
     "account.csv", 3, "period_end", "no such pool (project_id, period_end)", None),
    ("account used above the pool's REPs", lambda s: s.update({"account.csv": [
        {"project_id": "EAF", "period_end": "2026-03-31", "used_t": 50.5}]}),  # EAF pool: 0.5 x 400 - 150 = 50
     "account.csv", 2, "used_t", "more REPs used than the pool holds (50.000 t-CO2e)", "7.3.1"),
]


@pytest.mark.parametrize(("mutate", "file", "row", "column", "fragment", "clause"),
                         [pytest.param(*c[1:], id=c[0]) for c in CROSS_CASES])
def test_cross_table_rule(spec, make, mutate, file, row, column, fragment, clause) -> None:  # type: ignore[no-untyped-def]
    mutate(spec)
    expect(make, spec, file, row, column, fragment, clause)


def test_cycle_issue_names_the_cycle(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["edges.csv"].append({"source": "A-CRM", "target": "A-BOF", "kind": "material"})
    issue = expect(make, spec, "edges.csv", None, "kind", "material edges form a cycle")
    assert "A-BOF > A-CC > A-HSM > A-CRM > A-BOF" in issue.rule


def test_utility_cycle_is_allowed(spec, make) -> None:  # type: ignore[no-untyped-def]
    """Only material flows must be acyclic: energy may flow back and forth."""
    spec["edges.csv"].append({"source": "A-BOF", "target": "A-O2", "kind": "utility"})
    assert_loads(make, spec)


@pytest.mark.parametrize(("edge", "node"), [
    ({"source": "A-SP", "target": "A-BF", "kind": "input"}, {"node_id": "A-SP", "site": "A", "process": "sinter",
                                                             "steel": "true"}),
    ({"source": "A-BF", "target": "A-CHEM", "kind": "byproduct"}, None),
], ids=["input", "byproduct"])
def test_every_edge_kind_is_accepted(spec, make, edge, node) -> None:  # type: ignore[no-untyped-def]
    """6.7: material, input, utility and byproduct edges (BASE has material and utility ones)."""
    spec["edges.csv"].append(edge)
    if node is not None:
        spec["nodes.csv"].append(node)
    r = assert_loads(make, spec)
    edges = r.scenario.model.edges
    assert edge["kind"] in set(edges.loc[(edges["source"] == edge["source"]) & (edges["target"] == edge["target"]),
                                         "kind"])
    # neither edge has a project behind it: O1 is served as in the base case (160)
    assert r.orders.set_index("order_id").at["O1", "reps_t"] == pytest.approx(160)


def test_calculation_period_of_exactly_one_year_is_ok(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][0].update(period_start="2025-04-01", period_end="2026-03-31")
    spec["project_periods.csv"][1].update(period_start="2024-03-01", period_end="2025-02-28")  # over no 29 Feb
    r = assert_loads(make, spec)
    assert set(r.pools["pool_id"]) == {"HBI@2026-03-31", "EAF@2025-02-28"}


def test_consecutive_periods_of_one_project_are_ok(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"].append(period("HBI", "2024-04-01", "2025-03-31"))
    spec["project_periods.csv"].append(period("HBI", "2023-10-01", "2024-03-31"))
    r = assert_loads(make, spec)
    assert (r.pools["project_id"] == "HBI").sum() == 3


def test_unverified_project_needs_no_verifier(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"][1].update(verified="false", verifier="", statement_id="")
    r = assert_loads(make, spec)
    assert not r.pools.set_index("project_id").at["EAF", "eligible"]


@pytest.mark.parametrize("used", [0, 199.999, 200])
def test_account_up_to_the_pool_is_ok(spec, make, used) -> None:  # type: ignore[no-untyped-def]
    spec["account.csv"] = [{"project_id": "HBI", "period_end": "2026-03-31", "used_t": used}]
    r = assert_loads(make, spec)
    p = r.pools.set_index("pool_id")
    assert p.at["HBI@2026-03-31", "used_before_t"] == pytest.approx(used)
    # O1's cap 100 t x 1.6 = 160 (the REP term counts the pool's REPs, whatever was used of them before)
    assert r.orders.set_index("order_id").at["O1", "reps_t"] == pytest.approx(min(160, 200 - used))


def test_account_use_is_summed_per_pool(spec, make) -> None:  # type: ignore[no-untyped-def]
    """Two rows of one pool are a duplicate key; a pool overdrawn across periods is caught per pool."""
    spec["project_periods.csv"].append(period("EAF", "2024-04-01", "2025-03-31", b=0.5, q=400, e=150))
    spec["account.csv"] = [{"project_id": "EAF", "period_end": "2025-03-31", "used_t": 50},
                           {"project_id": "EAF", "period_end": "2026-03-31", "used_t": 60}]
    expect(make, spec, "account.csv", 3, "used_t", "more REPs used than the pool holds")


# --------------------------------------------------------------------------------------------------
# 6.6: several projects at one node in overlapping periods
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "value"), [("baseline_intensity", 2.1), ("output_t", 900),
                                               ("project_emissions_t", 1700)])
def test_group_rows_must_carry_the_same_node_data(spec, make, column, value) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec, second={{"baseline_intensity": "b", "output_t": "q",
                                              "project_emissions_t": "e"}[column]: value})
    issue = expect(make, spec, "project_periods.csv", 4, column, "run at node A-BF in overlapping periods", "6.6")
    assert "HBI, PCI" in issue.rule


def test_group_rows_must_share_the_period(spec, make) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec, second={"start": "2025-10-01", "end": "2026-09-30"})
    issues = load_issues(make, spec)
    find(issues, "project_periods.csv", 4, "period_start", "overlapping periods")
    find(issues, "project_periods.csv", 4, "period_end", "overlapping periods")


def test_group_with_shares_is_ok_and_splits_the_node_reps(spec, make) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec, first={"attribution_share": 0.7, "uncertainty": 0.1},
                               second={"attribution_share": 0.3, "u": 0.2})
    r = assert_loads(make, spec)
    p = r.pools.set_index("pool_id")
    node_reps = (2.0 * 1000 - 1800) * (1 - 0.2)  # the group's largest uncertainty
    assert p.at["HBI@2026-03-31", "reps_t"] == pytest.approx(0.7 * node_reps)
    assert p.at["PCI@2026-03-31", "reps_t"] == pytest.approx(0.3 * node_reps)
    assert p.at["HBI@2026-03-31", "group"] == p.at["PCI@2026-03-31", "group"] != ""


def test_group_without_shares_splits_equally(spec, make) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec)
    r = assert_loads(make, spec)
    p = r.pools.set_index("pool_id")
    assert p.at["HBI@2026-03-31", "reps_t"] == pytest.approx(100)
    assert p.at["PCI@2026-03-31", "reps_t"] == pytest.approx(100)


def test_group_shares_must_sum_to_one(spec, make) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec, first={"attribution_share": 0.7}, second={"attribution_share": 0.4})
    issue = expect(make, spec, "project_periods.csv", 2, "attribution_share", "must add up to 1", "6.6")
    assert issue.value == "1.1"


def test_group_share_on_every_row_or_none(spec, make) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec, second={"attribution_share": 1.0})
    expect(make, spec, "project_periods.csv", 2, "attribution_share", "on every row of the group", "6.6")


def test_share_on_a_solo_project_is_an_error(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["project_periods.csv"][1]["attribution_share"] = 0.5
    expect(make, spec, "project_periods.csv", 3, "attribution_share", "only for projects sharing a node", "6.6")


def test_projects_at_one_node_in_disjoint_periods_form_no_group(spec, make) -> None:  # type: ignore[no-untyped-def]
    second_project_at_hbi_node(spec, second={"start": "2024-04-01", "end": "2025-03-31", "q": 900})
    r = assert_loads(make, spec)
    assert (r.pools["group"] == "").all()


# --------------------------------------------------------------------------------------------------
# scenario.yaml, model.yaml, folders
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["model", "as_of", "operational_period"])
def test_scenario_yaml_missing_key(spec, make, key) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"].pop(key)
    expect(make, spec, "scenario.yaml", None, key, "Field required")


@pytest.mark.parametrize(("key", "value", "column"), [
    ("as_of", "2026-13-01", "as_of"),
    ("as_of", "01/04/2026", "as_of"),
    ("operational_period", {"start": "2026-04-01", "end": "2027-02-30"}, "operational_period.end"),
])
def test_scenario_yaml_bad_date(spec, make, key, value, column) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"][key] = value
    expect(make, spec, "scenario.yaml", None, column, "valid date")


def test_scenario_yaml_operational_period_reversed(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["operational_period"] = {"start": "2027-04-01", "end": "2026-04-01"}
    expect(make, spec, "scenario.yaml", None, "operational_period", "end must not be before start")


def test_scenario_yaml_unknown_key(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["as_off"] = "2026-04-01"
    expect(make, spec, "scenario.yaml", None, "as_off", "Extra inputs are not permitted")


def test_expiry_longer_than_three_years_needs_justification(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["mass_balance"] = {"expiry_years": 5}
    expect(make, spec, "scenario.yaml", None, "mass_balance", "needs a 'justification'", "7.2.2")


def test_expiry_longer_than_three_years_with_justification_is_ok(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["mass_balance"] = {"expiry_years": 5, "justification": "five-year supply contracts"}
    r = assert_loads(make, spec)
    assert str(r.pools["expires"].iloc[0].date()) == "2031-03-31"


def test_expiry_of_exactly_three_years_needs_no_justification(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["mass_balance"] = {"expiry_years": 3}
    assert_loads(make, spec)


def test_model_yaml_needs_organization(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["model.yaml"] = {"organization": ""}
    expect(make, spec, "model.yaml", None, "organization", "at least 1 character")


def test_model_folder_not_found(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["scenario.yaml"]["model"] = "../no-such-model"
    issue = expect(make, spec, "scenario.yaml", None, "model", "plant model folder not found")
    assert issue.value == "../no-such-model"


def test_scenario_folder_not_found(tmp_path: Path) -> None:
    with pytest.raises(gxopt.InputError) as exc:
        gxopt.load(tmp_path / "nowhere")
    (issue,) = exc.value.issues
    assert issue.file.endswith("nowhere") and issue.row is None and "scenario folder not found" in issue.rule


def test_invalid_yaml(spec, make) -> None:  # type: ignore[no-untyped-def]
    folder = make(spec)
    (folder / "scenario.yaml").write_text("model: ../model\nas_of: 2026-04-01\n  bad: : x\n")
    with pytest.raises(gxopt.InputError) as exc:
        gxopt.load(folder)
    (issue,) = exc.value.issues
    assert issue.file.endswith("scenario.yaml") and issue.column is None and "not valid YAML" in issue.rule


def test_invalid_yaml_names_the_line(spec, make) -> None:  # type: ignore[no-untyped-def]
    folder = make(spec)
    (folder / "scenario.yaml").write_text("model: ../model\nas_of: 2026-04-01\n  bad: : x\n")
    with pytest.raises(gxopt.InputError) as exc:
        gxopt.load(folder)
    find(exc.value.issues, "scenario.yaml", 3, None, "not valid YAML")


# --------------------------------------------------------------------------------------------------
# every problem at once
# --------------------------------------------------------------------------------------------------

def test_several_problems_in_different_files_are_all_reported(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["nodes.csv"][2]["steel"] = "maybe"                                   # model, single cell
    spec["edges.csv"].append({"source": "A-XX", "target": "A-BF", "kind": "material"})   # model, cross-table
    spec["products.csv"][0]["general_cfp"] = 3.0                              # model, CFP rule
    spec["projects.csv"][1]["verifier"] = ""                                  # scenario, 6.8
    spec["project_periods.csv"][0]["period_end"] = "2026-05-31"               # scenario, 6.2.2.2
    spec["orders.csv"][0]["premium"] = "x"                                    # scenario, single cell
    spec["orders.csv"].append({**spec["orders.csv"][0], "order_id": "O2", "premium": 1, "product_id": "WIRE"})
    issues = load_issues(make, spec)
    find(issues, "nodes.csv", 4, "steel", "must be true or false")
    find(issues, "edges.csv", 10, "source", "unknown node")
    find(issues, "products.csv", 2, "general_cfp", "must equal scope1 + scope2 + scope3_upstream")
    find(issues, "projects.csv", 3, "verifier", "must name its verifier")
    find(issues, "project_periods.csv", 2, "period_end", "longer than one year")
    find(issues, "orders.csv", 2, "premium", "not a number")
    find(issues, "orders.csv", 3, "product_id", "unknown product")
    assert len({i.file for i in issues}) == 6


def test_every_bad_cell_of_one_file_is_reported(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["orders.csv"] = [{**spec["orders.csv"][0], "order_id": f"O{i}"} for i in range(1, 5)]
    spec["orders.csv"][0]["tonnage_t"] = 0
    spec["orders.csv"][1]["delivery_date"] = "2026-6-30"
    spec["orders.csv"][2]["method"] = "MB"
    spec["orders.csv"][3]["premium"] = ""
    issues = load_issues(make, spec)
    find(issues, "orders.csv", 2, "tonnage_t", "greater than 0")
    find(issues, "orders.csv", 3, "delivery_date", "not an ISO date")
    find(issues, "orders.csv", 4, "method", "must be one of")
    find(issues, "orders.csv", 5, "premium", "empty is not zero")


def test_duplicate_project_id_does_not_hide_other_problems(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["projects.csv"].append(dict(spec["projects.csv"][0]))
    spec["edges.csv"].append({"source": "A-XX", "target": "A-BF", "kind": "material"})
    spec["orders.csv"][0]["product_id"] = "WIRE"
    issues = load_issues(make, spec)
    find(issues, "projects.csv", 4, "project_id", "duplicate id")
    find(issues, "edges.csv", 10, "source", "unknown node")
    find(issues, "orders.csv", 2, "product_id", "unknown product")


def test_account_problem_reported_with_an_unrelated_orders_problem(spec, make) -> None:  # type: ignore[no-untyped-def]
    spec["orders.csv"][0]["product_id"] = "WIRE"
    spec["account.csv"] = [{"project_id": "HBI", "period_end": "2026-03-31", "used_t": 999}]
    issues = load_issues(make, spec)
    find(issues, "orders.csv", 2, "product_id", "unknown product")
    find(issues, "account.csv", 2, "used_t", "more REPs used than the pool holds")


def test_line_numbers_count_blank_lines(spec, make) -> None:  # type: ignore[no-untyped-def]
    folder = make(spec)
    text = (folder / "orders.csv").read_text()
    header, o1 = text.splitlines()[:2]
    o2 = o1.replace("O1", "O2").replace(",10,", ",ten,")
    (folder / "orders.csv").write_text(f"{header}\n{o1}\n\n{o2}\n")
    with pytest.raises(gxopt.InputError) as exc:
        gxopt.load(folder)
    find(exc.value.issues, "orders.csv", 4, "premium", "not a number")


def test_unquoted_impossible_yaml_date_is_an_input_error(spec, make) -> None:  # type: ignore[no-untyped-def]
    folder = make(spec)
    cfg = (folder / "scenario.yaml").read_text().replace("as_of: '2026-04-01'", "as_of: 2026-02-30")
    assert "as_of: 2026-02-30" in cfg
    (folder / "scenario.yaml").write_text(cfg)
    with pytest.raises(gxopt.InputError) as exc:
        gxopt.load(folder)
    find(exc.value.issues, "scenario.yaml", None, "as_of", "date")


# --------------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------------

runner = CliRunner()


def _flat(text: str) -> str:
    """Output with line breaks and repeated blanks collapsed (rich wraps long lines)."""
    return " ".join(text.split())


@pytest.fixture
def short_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work inside tmp_path so that messages show short relative paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def bad_spec(spec: Spec) -> Spec:
    spec["orders.csv"][0]["premium"] = "ten"
    spec["edges.csv"].append({"source": "A-XX", "target": "A-BF", "kind": "material"})
    return spec


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_bad_scenario_exits_2_and_names_file_line_column(spec, make, short_paths, command) -> None:  # type: ignore[no-untyped-def]
    folder = make(bad_spec(spec))
    args = [command, str(folder)] + (["--out", str(short_paths / "out"), "--quiet"] if command == "run" else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    text = _flat(result.output)
    assert "Traceback" not in result.output
    assert "2 problem(s) in the inputs" in text
    assert "orders.csv, line 2, column 'premium': not a number" in text
    assert "edges.csv, line 10, column 'source': unknown node" in text
    assert not (short_paths / "out").exists()


def test_cli_validate_good_scenario(spec, make) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["validate", str(make(spec))])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and "2 projects" in result.output


def test_cli_output_keeps_long_paths_whole(spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import write_scenario

    deep = tmp_path.joinpath(*(["a-rather-long-folder-name-for-the-plant-models-and-their-scenarios"] * 5))
    folder = write_scenario(deep, bad_spec(spec))  # a path longer than any console width
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    assert str(folder / "orders.csv") in result.output


def test_cli_run_good_scenario_writes_results(spec, make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "results"
    result = runner.invoke(app, ["run", str(make(spec)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    for name in ("allocations.csv", "orders.csv", "pools.csv", "products.csv", "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    # premium 10 x O1's 160 t-CO2e (100 t HRC x 1.6, see test_base_scenario_is_valid)
    assert summary["verified"] is True and summary["objective_value"] == pytest.approx(1600)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary leftovers


def test_cli_run_refuses_a_foreign_non_empty_folder(spec, make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "mydata"
    out.mkdir()
    (out / "notes.txt").write_text("do not touch")
    (out / "orders.csv").write_text("precious,data\n1,2\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = runner.invoke(app, ["run", str(make(spec)), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "not a gxopt result folder" in _flat(result.output)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_run_refuses_a_file_as_out(spec, make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "results"
    out.write_text("a file")
    result = runner.invoke(app, ["run", str(make(spec)), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert out.read_text() == "a file"


def test_cli_second_run_replaces_the_result_folder(spec, make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "results"
    first = runner.invoke(app, ["run", str(make(spec)), "--out", str(out), "--quiet"])
    assert first.exit_code == 0, first.output
    first_files = sorted(p.name for p in out.iterdir())
    (out / "stale.csv").write_text("from an earlier run\n")

    spec["orders.csv"] = [{**spec["orders.csv"][0], "order_id": "N1", "product_id": "SEC", "premium": 7}]
    second = runner.invoke(app, ["run", str(make(spec)), "--out", str(out), "--quiet"])
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in out.iterdir()) == first_files  # exactly the new run's files
    orders = (out / "orders.csv").read_text()
    assert "N1" in orders and "O1" not in orders
    summary = json.loads((out / "summary.json").read_text())
    # SEC: cap 100 t x (scope 1+2 0.4 + REP term 50 / 400 = 0.125) = 52.5 > pool EAF 50: the pool binds
    assert summary["objective_value"] == pytest.approx(7 * 50)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
