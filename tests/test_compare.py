"""Comparison of result folders: every table agrees with the result files it was read from, the columns are
the folder names (made unique), the chart and CSVs are written, and bad inputs or outputs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import gxopt
from gxopt.analysis_cli import compare_command
from gxopt.compare import TABLES, compare, names
from gxopt.errors import InputError, OutputError
from gxopt.whatif import whatif
from tests.conftest import REPO

BOTH = REPO / "scenarios" / "jp-steel-both-methods"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The base, a what-if without the power-plant project, and one with doubled demand (in a folder that has
    the same name as the base)."""
    root = tmp_path_factory.mktemp("results")
    base = root / "fy26"
    gxopt.run(BOTH, out=base)
    nobio = root / "no-biomass"
    whatif(BOTH, {"description": "no biomass", "projects": {"remove": ["HG-PP-BIOMASS"]}}, nobio)
    twice = root / "double" / "fy26"
    whatif(BOTH, {"orders": {"scale": [{"columns": ["tonnage_t"], "factor": 2}]}}, twice)
    return base, nobio, twice


def test_tables_agree_with_the_result_folders(results: tuple[Path, Path, Path], tmp_path: Path) -> None:
    base, nobio, twice = results
    t = compare([base, nobio, twice], tmp_path / "cmp")
    first = f"{base.parent.name}/fy26"  # two folders named fy26: their parents tell them apart
    cols = [first, "no-biomass", "double/fy26"]
    assert set(t) == set(TABLES)
    for name, frame in t.items():
        assert list(frame.columns) == cols, name
    for col, folder in zip(cols, (base, nobio, twice)):
        s = json.loads((folder / "summary.json").read_text())
        o = pd.read_csv(folder / "orders.csv")
        p = pd.read_csv(folder / "pools.csv")
        h = t["headline"][col]
        assert h["objective_value"] == pytest.approx(s["objective_value"], rel=1e-12)
        assert h["revenue"] == pytest.approx(o["value"].sum())
        assert h["reps_used_t"] == pytest.approx(s["totals"]["used_run_t"])
        assert h["gx_tonnage_t"] == pytest.approx(o["gx_tonnage_t"].sum())
        assert h["gx_tonnage_t"] == pytest.approx(h["gx_tonnage_mass_balance_t"] + h["gx_tonnage_allocation_t"])
        assert h["orders_served"] == (o["reps_t"] > 0).sum()
        assert h["orders_filled"] == s["totals"]["orders_by_status"].get("filled", 0)
        assert h["emissions_after_allocation_t"] == pytest.approx(s["totals"]["emissions_after_allocation_t"])
        gx = t["by_product"].xs("gx_tonnage_t", level="metric")[col]
        assert gx.sum() == pytest.approx(o["gx_tonnage_t"].sum())
        rev = t["by_customer"].xs("revenue", level="metric")[col]
        assert rev.to_dict() == pytest.approx(o.groupby("customer")["value"].sum().to_dict())
        pools = p.set_index("pool_id")
        use = t["pool_use"][col].dropna()
        assert use.xs("used_run_t", level="metric").to_dict() == pytest.approx(pools["used_run_t"].to_dict())
        assert t["shadow_prices"][col].dropna().to_dict() == pytest.approx(pools["shadow_price"].to_dict())
        assert t["pool_expiry"][col].dropna().to_dict() == pools["expires"].astype(str).to_dict()
    # a pool that exists in one result only is empty (not zero) in the others
    bio = [i for i in t["shadow_prices"].index if i.startswith("HG-PP-BIOMASS")]
    assert bio and t["shadow_prices"].loc[bio, "no-biomass"].isna().all()
    # the what-if without the power-plant project makes less GX steel; Residual CFPs lose its REP term
    h = t["headline"]
    assert h.at["gx_tonnage_t", "no-biomass"] < h.at["gx_tonnage_t", first]
    cfp = t["cfps"].xs("residual_cfp", level="metric")
    assert (cfp["no-biomass"] <= cfp[first] + 1e-12).all()
    assert (cfp["no-biomass"] < cfp[first] - 1e-6).any()
    alloc = t["cfps"].xs("allocated_cfp_mean", level="metric")[first].dropna()
    assert len(alloc) and (alloc >= 0).all()
    assert t["runs"].at["patch", "no-biomass"] == "no biomass"


def test_files_and_chart_are_written(results: tuple[Path, Path, Path], tmp_path: Path) -> None:
    base, nobio, _ = results
    out = tmp_path / "cmp"
    t = compare([base, nobio], out)
    for name in TABLES:
        back = pd.read_csv(out / f"{name}.csv")
        assert list(back.columns)[-2:] == ["fy26", "no-biomass"], name
        assert len(back) == len(t[name])
    png = (out / "comparison.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    info = json.loads((out / "comparison.json").read_text())
    assert info["results"] == {"fy26": str(base), "no-biomass": str(nobio)}
    compare([nobio, base], out)  # a comparison folder may be replaced by a new comparison
    assert json.loads((out / "comparison.json").read_text())["results"]["no-biomass"] == str(nobio)


def test_names_are_unique() -> None:
    assert names([Path("/x/a/r"), Path("/y/a/r"), Path("/x/q")]) == ["x/a/r", "y/a/r", "q"]
    assert names([Path("/x/r"), Path("/x/r")]) == ["r", "r#2"]


def test_bad_folders_are_refused(results: tuple[Path, Path, Path], tmp_path: Path) -> None:
    base = results[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as exc:
        compare([base, empty, tmp_path / "missing"], None)
    rules = [i.rule for i in exc.value.issues]
    assert rules == ["not a gxopt result folder (no summary.json)", "result folder not found"]
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep")
    with pytest.raises(OutputError):
        compare([base], precious)
    with pytest.raises(OutputError):
        compare([base], base / "cmp")  # never inside a result folder it reads
    assert (precious / "notes.txt").read_text() == "keep"


def test_compare_command_prints_the_headline(results: tuple[Path, Path, Path], tmp_path: Path) -> None:
    con = Console(record=True, width=160)
    base, nobio, twice = results
    compare_command([base, nobio], tmp_path / "cmp", console=con)
    text = con.export_text()
    assert "2 results side by side" in text and "GX tonnage, t" in text and "no biomass" in text
    assert "%" in text  # changes against the first result
