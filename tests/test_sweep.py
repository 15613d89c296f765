"""Sweeps: the grid file is checked with clear errors, draws are reproducible, every knob maps to the patch
it documents, and a sweep on a Dask LocalCluster (or an existing cluster given by address) gives exactly
the rows of the same cases run serially in this process."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from gxopt.analysis_cli import sweep_command
from gxopt.errors import InputError, OutputError
from gxopt.grid import case_patches, knob_patch, load_grid
from gxopt.sweep import run_case, sweep
from gxopt.sweep_table import PRODUCT_PREFIX, RESULTS_FILE, SERVICE_FILE
from gxopt.whatif import apply, read_base
from tests.conftest import REPO

BOTH = REPO / "scenarios" / "jp-steel-both-methods"
FY26 = REPO / "scenarios" / "jp-steel-fy2026"

# 6 cases: 3 uncertainty scales x 2 slips of the power-plant project (its only period then ends after as_of)
SMALL: dict[str, Any] = {
    "description": "six cases",
    "knobs": {"slip_years": {"projects": ["HG-PP-BIOMASS"]}},
    "grid": {"uncertainty_scale": [1.0, 1.5, 2.0], "slip_years": [0, 1]},
}
SAME = ["case_id", "kind", "uncertainty_scale", "slip_years", "status", "objective_value", "reps_used_t",
        "gx_tonnage_t", "revenue", "orders_served", "served_orders", "filled_orders"]


def _grid_file(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "grid.yaml"
    f.write_text(text, encoding="utf-8")
    return f


# ---------------------------------------------------------------------------------------------------------
# the grid file


def test_example_grid_has_24_grid_cases_and_20_draws() -> None:
    g = load_grid(FY26 / "sweep-example.yaml")
    kinds = pd.Series([c.kind for c in g.cases]).value_counts().to_dict()
    assert kinds == {"grid": 24, "monte_carlo": 20}
    assert len({tuple(sorted(c.values.items())) for c in g.cases if c.kind == "grid"}) == 24
    assert [c.case_id for c in g.cases][:2] == ["g0001", "g0002"] and g.cases[-1].case_id == "mc0020"
    again = load_grid(FY26 / "sweep-example.yaml")
    assert [c.values for c in again.cases] == [c.values for c in g.cases]  # the seed makes draws reproducible
    mc = pd.DataFrame([c.values for c in g.cases if c.kind == "monte_carlo"])
    assert mc["production_scale"].between(0.85, 1.15).all() and mc["demand_scale"].between(0.8, 1.6).all()
    assert set(mc["slip_years"]) <= {0.0, 0.5, 1.0}
    assert mc["eaf_uncertainty"].between(0.04, 0.15).all()


def test_draws_follow_their_distributions() -> None:
    g = load_grid({"monte_carlo": {"n": 4000, "seed": 1, "knobs": {
        "demand_scale": {"dist": "normal", "mean": 1.0, "sd": 0.1, "low": 0.9, "high": 1.3},
        "premium_scale": {"dist": "uniform", "low": 2, "high": 4},
        "uncertainty_scale": {"dist": "triangular", "low": 1, "mode": 1, "high": 2}}}})
    v = pd.DataFrame([c.values for c in g.cases])
    assert v["demand_scale"].between(0.9, 1.3).all() and 1.0 < v["demand_scale"].mean() < 1.1  # truncated below
    assert v["premium_scale"].mean() == pytest.approx(3, abs=0.05)
    assert v["uncertainty_scale"].mean() == pytest.approx(4 / 3, abs=0.03)


@pytest.mark.parametrize(("text", "key", "rule"), [
    ("grid: {colour_scale: [1, 2]}\n", "grid.colour_scale", "unknown knob"),
    ("grid: {demand_scale: [1, two]}\n", "grid.demand_scale", "list of numbers"),
    ("grid: {demand_scale: 1}\nfoo: 1\n", "foo", "unknown key"),
    ("monte_carlo: {n: 0, seed: 1, knobs: {demand_scale: {dist: uniform, low: 1, high: 2}}}\n", "monte_carlo.n",
     "at least 1"),
    ("monte_carlo: {n: 3, knobs: {demand_scale: {dist: lognormal, mean: 1}}}\n", "monte_carlo.knobs.demand_scale.dist",
     "one of uniform"),
    ("monte_carlo: {n: 3, knobs: {demand_scale: {dist: uniform, low: 2, high: 1}}}\n",
     "monte_carlo.knobs.demand_scale", "low must be below high"),
    ("monte_carlo: {n: 3, knobs: {demand_scale: {dist: triangular, low: 1, high: 2}}}\n",
     "monte_carlo.knobs.demand_scale", "needs mode"),
    ("monte_carlo: {n: 3, knobs: {slip_years: {dist: choice, values: [0, 1], p: [0.5, 0.6]}}}\n",
     "monte_carlo.knobs.slip_years.p", "adding up to 1"),
    ("knobs: {slip_years: {sites: [A]}}\ngrid: {slip_years: [0, 1]}\n", "knobs.slip_years.sites", "unknown option"),
    ("knobs: {mine: {patch: {orders: {scale: [{column: premium, factor: 2}]}}}}\ngrid: {mine: [1]}\n",
     "knobs.mine.patch", "never uses $value"),
    ("description: nothing to run\n", None, "no cases"),
])
def test_bad_grid_names_key_and_rule(tmp_path: Path, text: str, key: str | None, rule: str) -> None:
    with pytest.raises(InputError) as exc:
        load_grid(_grid_file(tmp_path, text))
    issue = exc.value.issues[0]
    assert issue.file.endswith("grid.yaml") and issue.column == key and rule in issue.rule, str(issue)


def test_knobs_become_the_documented_patches() -> None:
    base = read_base(FY26)
    assert knob_patch("demand_scale", 1.0, {}, base) == {}  # neutral: no patch at all
    assert knob_patch("slip_years", 0.5, {"projects": ["MN-EAF-CONV"]}, base) == {
        "project_periods": {"shift": [{"months": 6, "where": {"project_id": ["MN-EAF-CONV"]}}]}}
    nishi = knob_patch("production_scale", 0.9, {"sites": ["Nishi Works"]}, base)
    assert nishi["products"]["scale"][0] == {"column": "production_t", "factor": 0.9, "where": {"site": ["Nishi Works"]}}
    assert nishi["project_periods"]["scale"][0]["where"] == {"project_id": ["NS-BF2-H2"]}
    out, _ = apply(base, knob_patch("uncertainty_scale", 30, {}, base))
    assert pd.to_numeric(out.tables["project_periods"]["uncertainty"]).max() == 0.99  # capped below 1
    g = load_grid(FY26 / "sweep-example.yaml")
    case = next(c for c in g.cases if c.kind == "monte_carlo")
    patched = base
    for p in case_patches(g, case, base):
        patched, _ = apply(patched, p)
    per = patched.tables["project_periods"]
    eaf = pd.to_numeric(per.loc[per["project_id"] == "MN-EAF-CONV", "uncertainty"])
    assert np.allclose(eaf, round(case.values["eaf_uncertainty"], 12))  # the custom knob's $value


# ---------------------------------------------------------------------------------------------------------
# running


def test_sweep_on_a_local_cluster_equals_the_serial_runs(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    out = tmp_path / "sweep"
    rows = sweep(BOTH, SMALL, out, progress=lambda done, total: seen.append((done, total)))
    assert rows.attrs["sweep"]["scheduler"].startswith("LocalCluster, 2 worker processes")
    assert seen[0] == (0, 6) and seen[-1] == (6, 6) and [d for d, _ in seen] == list(range(7))
    # the same cases, one by one in this process, without Dask
    g = load_grid(SMALL)
    base = read_base(BOTH)
    serial = pd.DataFrame([run_case(base, c, case_patches(g, c, base), g.knob_names) for c in g.cases])
    assert (rows["status"] == "ok").all()
    pd.testing.assert_frame_equal(rows[SAME].reset_index(drop=True), serial[SAME].astype(rows[SAME].dtypes),
                                  check_exact=True)
    # the knobs act: more uncertainty, fewer REPs; a slipped pool is not usable yet
    r = rows.set_index(["uncertainty_scale", "slip_years"])
    assert r.at[(1.0, 0.0), "reps_used_t"] > r.at[(1.5, 0.0), "reps_used_t"] > r.at[(2.0, 0.0), "reps_used_t"]
    assert r.at[(1.0, 1.0), "gx_tonnage_t"] < r.at[(1.0, 0.0), "gx_tonnage_t"]
    # what was written: one Parquet table, the service probabilities, plots, the grid
    table = pq.read_table(out / RESULTS_FILE)
    served_type = table.schema.field("served_orders").type
    assert table.num_rows == 6 and pa.types.is_list(served_type) and pa.types.is_string(served_type.value_type)
    back = table.to_pandas()
    assert back["objective_value"].tolist() == rows["objective_value"].tolist()
    assert [list(x) for x in back["served_orders"]] == list(rows["served_orders"])
    products = [c for c in back.columns if c.startswith(PRODUCT_PREFIX)]
    assert np.allclose(back[products].sum(axis=1), back["gx_tonnage_t"])
    svc = pd.read_csv(out / SERVICE_FILE).set_index("order_id")
    assert len(svc) == 48 and (svc["cases"] == 6).all()
    for oid, n in pd.Series([o for lst in rows["served_orders"] for o in lst]).value_counts().items():
        assert svc.at[oid, "served"] == n and svc.at[oid, "p_served"] == pytest.approx(n / 6, abs=1e-6)  # CSV: 6 digits
    for png in ("distributions.png", "service_probability.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    info = json.loads((out / "sweep.json").read_text())
    assert info["cases"] == 6 and info["ok"] == 6 and info["cases_per_second"] > 0


def test_sweep_on_an_existing_cluster_by_address(tmp_path: Path) -> None:
    from distributed import LocalCluster

    grid = {"grid": {"demand_scale": [1.0, 2.0], "premium_scale": [1.0, 1.5]}}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rows = sweep(BOTH, grid, None, scheduler=cluster.scheduler_address)
        assert len(cluster.workers) == 2  # the sweep did not close the user's cluster
    assert rows.attrs["sweep"]["scheduler"].startswith(f"Dask cluster at {cluster.scheduler_address}")
    serial = sweep(BOTH, grid, None, scheduler="serial")
    cols = ["case_id", "objective_value", "reps_used_t", "served_orders"]
    pd.testing.assert_frame_equal(rows[cols], serial[cols], check_exact=True)
    r = rows.set_index(["demand_scale", "premium_scale"])
    assert r.at[(1.0, 1.5), "objective_value"] == pytest.approx(1.5 * r.at[(1.0, 1.0), "objective_value"], rel=1e-9)


def test_a_bad_case_is_a_row_not_a_crash(tmp_path: Path) -> None:
    grid = {"knobs": {"uncertainty_scale": {"max": 1.5}}, "grid": {"uncertainty_scale": [1.0, 25.0]}}
    rows = sweep(BOTH, grid, tmp_path / "s", scheduler="serial")
    assert rows["status"].tolist() == ["ok", "input_error"]
    assert "must be less than 1" in rows.at[1, "error"] and "(case g0002) applied to " in rows.at[1, "error"]
    assert rows.at[1, "served_orders"] == [] and np.isnan(rows.at[1, "objective_value"])
    assert json.loads((tmp_path / "s" / "sweep.json").read_text())["failed"] == 1


def test_grid_mistakes_stop_before_any_case_runs(tmp_path: Path) -> None:
    grid = {"knobs": {"slip_years": {"projects": ["NO-SUCH-PROJECT"]}}, "grid": {"slip_years": [0, 1]}}
    with pytest.raises(InputError) as exc:
        sweep(BOTH, grid, None, scheduler="serial")
    assert exc.value.issues[0].column == "project_periods.shift[0]" and "matches no row" in exc.value.issues[0].rule
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "x.txt").write_text("keep")
    with pytest.raises(OutputError):
        sweep(BOTH, SMALL, precious, scheduler="serial")


def test_sweep_command_prints_a_summary(tmp_path: Path) -> None:
    con = Console(record=True, width=140)
    grid = _grid_file(tmp_path, "grid: {demand_scale: [1.0, 2.0]}\nmonte_carlo:\n  n: 2\n  seed: 3\n  knobs:\n"
                                "    premium_scale: {dist: uniform, low: 0.9, high: 1.1}\n")
    rows = sweep_command(BOTH, grid, tmp_path / "s", scheduler="serial", console=con)
    text = con.export_text()
    assert len(rows) == 4 and "4 cases (2 grid, 2 Monte-Carlo)" in text and "4 ok" in text
    assert "Distribution over the successful cases" in text and "demand_scale" in text
    from rich.progress import Progress  # a rich progress bar may be passed as it is

    with open(os.devnull, "w") as quiet, Progress(console=Console(file=quiet)) as bar:
        sweep(BOTH, grid, None, scheduler="serial", progress=bar)
        assert [(t.completed, t.total) for t in bar.tasks] == [(4, 4)]


def test_a_sweep_case_makes_no_temporary_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    g = load_grid(FY26 / "sweep-example.yaml")
    base = read_base(FY26)
    jobs = [(c, case_patches(g, c, base)) for c in (g.cases[0], g.cases[-1])]
    expected = [run_case(base, c, p, g.knob_names) for c, p in jobs]
    made: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        made.append(f"{args} {kwargs}")
        raise AssertionError("a folder was made")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    monkeypatch.setattr(os, "mkdir", refuse)
    rows = [run_case(base, c, p, g.knob_names) for c, p in jobs]
    serial = sweep(BOTH, {"grid": {"demand_scale": [1.0, 2.0]}}, None, scheduler="serial")  # with its preflight
    assert made == []
    assert [r["status"] for r in rows] == ["ok", "ok"] and (serial["status"] == "ok").all()
    for r, e in zip(rows, expected):
        assert (r["objective_value"], r["served_orders"]) == (e["objective_value"], e["served_orders"])


def test_a_bad_case_names_the_base_row_and_the_knob(tmp_path: Path) -> None:
    grid = {"knobs": {"uncertainty_scale": {"max": 1.5, "where": {"project_id": "MN-EAF-CONV"}}},
            "grid": {"uncertainty_scale": [25.0]}}
    rows = sweep(FY26, grid, None, scheduler="serial")
    err = rows.at[0, "error"]
    per = pd.read_csv(FY26 / "project_periods.csv", dtype=str)
    lines = [i + 2 for i in per.index[per["project_id"] == "MN-EAF-CONV"]]  # their lines in the base file
    assert rows.at[0, "status"] == "input_error"
    for line in lines:
        assert re.search(re.escape("<grid>: uncertainty_scale = 25 (case g0001) applied to ") + r"\S*"
                         + re.escape(f"jp-steel-fy2026/project_periods.csv, line {line}, column 'uncertainty': must be "
                                     "less than 1 (row changed by project_periods.scale[0] of <grid>: "
                                     "uncertainty_scale = 25 (case g0001))"), err), err
