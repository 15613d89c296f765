"""The one composition of the flow: read -> validate -> graph/eligibility -> REPs -> LP -> results -> verify -> write.

The CLI and the tests both call :func:`run`; each step is a pure function of what came before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gxopt import __version__
from gxopt.checks import RELIED_ON, check_computed, check_scenario, table_of
from gxopt.eligibility import Eligibility, eligibility
from gxopt.errors import InputError, Issue, VerificationError
from gxopt.graph import ProcessGraph, build_graph, connections
from gxopt.io import input_copies, input_digest, read_scenario
from gxopt.resultdir import write_results
from gxopt.lp.allocate import allocate
from gxopt.reps import compute_pools
from gxopt.results import Results, extract, summary
from gxopt.scenario import Scenario
from gxopt.verify import verify

Progress = Callable[[str], None]


def load(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario; raise :class:`InputError` listing every problem found."""
    return _load(path).scenario


@dataclass(frozen=True)
class Prepared:
    """What every later step works from, each computed once per run: the graph, the pools, the connections."""

    scenario: Scenario
    graph: ProcessGraph
    pools: pd.DataFrame
    connections: pd.DataFrame


def _load(path: str | os.PathLike[str]) -> Prepared:
    """Read; build the graph, the pools and the connections once; run every input rule on them.

    Raises InputError with every problem found: the rules on computed values (account use, a stated
    cfp_basis) run whenever the tables they rely on are sound, so they are listed with the others.
    """
    scenario, issues = read_scenario(path)
    if scenario is None:
        raise InputError(issues)
    pg = build_graph(scenario.model.nodes, scenario.model.edges)
    issues = issues + check_scenario(scenario, issues, pg)
    prep = None
    if not any(table_of(i.file) in RELIED_ON for i in issues):
        prep, more = _prepared(scenario, pg)
        issues += more
    if issues or prep is None:
        raise InputError(issues)
    return prep


def _prepared(scenario: Scenario, pg: ProcessGraph) -> tuple[Prepared, list[Issue]]:
    pools = compute_pools(scenario)
    conn = connections(pg, scenario.projects, scenario.model.products)
    return Prepared(scenario, pg, pools, conn), check_computed(scenario, pools, conn)


def prepare(scenario: Scenario) -> Prepared:
    """The graph, pools and connections of an already loaded scenario (InputError if a computed rule fails)."""
    prep, issues = _prepared(scenario, build_graph(scenario.model.nodes, scenario.model.edges))
    if issues:
        raise InputError(issues)
    return prep


def validate(path: str | os.PathLike[str]) -> Scenario:
    """Run every input check alone (``gxopt validate``); same as :func:`load`."""
    return load(path)


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced: the result tables (DataFrames), the summary and the eligibility inputs."""

    scenario: Scenario
    results: Results
    summary: dict[str, Any]
    eligibility: Eligibility
    violations: list = field(default_factory=list)  # gxopt.verify.Violation
    out_dir: Path | None = None

    @property
    def allocations(self) -> pd.DataFrame:
        """One row per (order, pool) with REPs drawn and the physical-connection evidence."""
        return self.results.allocations

    @property
    def orders(self) -> pd.DataFrame:
        """One row per order: REPs, alpha, the three CFPs, GX tonnage, status."""
        return self.results.orders

    @property
    def pools(self) -> pd.DataFrame:
        """One row per pool (project x period): REPs, use, remaining, expiry, shadow price."""
        return self.results.pools

    @property
    def products(self) -> pd.DataFrame:
        """One row per product: General, Residual CFP, 7.3.3 correction, emissions before/after."""
        return self.results.products


def run(path: str | os.PathLike[str] | Scenario, out: str | os.PathLike[str] | None = None,
        progress: Progress | None = None, check: bool = True, *, reference: bool = False,
        fmt: str = "csv") -> RunResult:
    """Run a scenario end to end and optionally write the result folder.

    The default path groups orders into eligibility classes (a column per order, a column per pool and
    class) and solves the LP as arrays with highspy; ``reference=True`` solves the same program written in
    pyomo with one class per order (for small cases and for the tests that prove both give the same optimum). ``fmt`` is the format of the
    result tables written to ``out`` (csv, parquet or xlsx).

    Raises
    ------
    InputError
        Bad inputs (every problem listed).
    SolverError
        The LP had no proven optimum.
    VerificationError
        The independent check found a broken constraint (a bug: never silently written).
    """
    say = progress or (lambda _msg: None)
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    say("read and validate")
    prep = prepare(path) if isinstance(path, Scenario) else _load(path)  # graph, pools, connections: once
    scenario = prep.scenario
    t["read_validate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("eligibility")
    pools = prep.pools
    elig = eligibility(scenario, prep.graph, pools, aggregate=not reference, conn=prep.connections)
    t["eligibility"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"solve the LP ({len(elig.arcs)} arcs, {len(elig.classes)} eligibility classes, {len(elig.orders)} orders, "
        f"{len(pools)} pools; lexicographic stages{', pyomo reference' if reference else ''})")
    built, sol = allocate(elig, reference=reference)
    t["solve"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("results and independent verification")
    res = extract(scenario, elig, built, sol)
    violations = verify(scenario, res, sol.stage_values) if check else []
    t["results_verify"] = time.perf_counter() - t0
    if violations:
        raise VerificationError(violations)
    summ = summary(scenario, res, sol)
    summ["gxopt_version"] = __version__
    summ["lp"] = {"variables": int(len(elig.arcs) + len(built.order_pos)), "arcs": int(len(elig.arcs)),
                  "order_columns": int(len(built.order_pos)), "pruned_orders": built.pruned,
                  "pools": int(len(built.network.pool_ids)), "classes": int(len(elig.classes)),
                  "orders": int(len(elig.orders)),
                  "path": "pyomo reference, a class per order" if reference else "highspy arrays, eligibility classes"}
    summ["verified"] = check
    summ["input_sha256"] = input_digest(scenario)
    summ["timings_s"] = t
    out_dir = None
    if out is not None:
        t0 = time.perf_counter()
        say(f"write {out}")
        summ["timings_s"]["write"] = 0.0
        out_dir = write_results(res.tables(), summ, out, copies=input_copies(scenario), fmt=fmt)
        summ["timings_s"]["write"] = time.perf_counter() - t0
    return RunResult(scenario, res, summ, elig, violations, out_dir)
