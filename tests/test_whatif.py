"""What-if patches: every operation changes what it should and nothing else, bad patches are reported with
the patch file, line, key path and rule, engine errors point back at the base line or the patch key, and
what-ifs run through the normal engine (fewer projects: less GX steel; an added EAF route is used)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from rich.console import Console

import gxopt
from gxopt.analysis_cli import whatif_command
from gxopt.errors import InputError, OutputError
from gxopt.whatif import apply, apply_patch, load_patch, read_base, whatif
from tests.conftest import REPO
from tests.format_support import copy_as

BOTH = REPO / "scenarios" / "jp-steel-both-methods"
FY26 = REPO / "scenarios" / "jp-steel-fy2026"


def _csv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def _digest(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for f in sorted(folder.iterdir()):
            if f.is_file():
                h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def _patch_file(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


# ---------------------------------------------------------------------------------------------------------
# operations


def test_scale_change_remove_add_and_settings(make, spec: dict[str, Any], tmp_path: Path) -> None:
    spec["orders.csv"].append({"order_id": "O2", "customer": "C2", "product_id": "SEC", "tonnage_t": 50,
                               "delivery_date": "2026-07-31", "method": "mass_balance", "premium": 7,
                               "alpha_max": "", "requested_reps_t": "", "gas": ""})
    spec["orders.csv"].append({"order_id": "O3", "customer": "C1", "product_id": "HRC", "tonnage_t": 30,
                               "delivery_date": "2026-08-31", "method": "mass_balance", "premium": 9,
                               "alpha_max": "", "requested_reps_t": "12", "gas": ""})
    base = make(spec)
    patch = {
        "description": "every kind of edit",
        "settings": {"as_of": "2026-05-01", "mass_balance": {"expiry_years": 2}},
        "orders": {"scale": [{"columns": ["tonnage_t", "requested_reps_t"], "factor": 2.5, "where": {"customer": "C1"}}],
                   "remove": ["O2"],
                   "add": [{"order_id": "O9", "customer": "C9", "product_id": "PLT", "tonnage_t": 10,
                            "delivery_date": "2026-09-30", "method": "mass_balance", "premium": 3}]},
        "projects": {"change": [{"project_id": "EAF", "verified": False, "verifier": None}]},
        "project_periods": {"scale": [{"column": "uncertainty", "factor": 3, "where": {"project_id": "HBI"}}],
                            "change": [{"where": {"project_id": "EAF"}, "set": {"uncertainty": 0.2}}]},
        "products": {"scale": [{"column": "production_t", "factor": 0.5, "site": "B"}]},
    }
    scen = apply_patch(base, patch, tmp_path / "patched")
    s = gxopt.load(scen)  # the engine reads and validates the patched scenario
    o = s.orders.set_index("order_id")
    assert list(o.index) == ["O1", "O3", "O9"]  # O2 removed, O9 appended, order of the rest kept
    assert o.at["O1", "tonnage_t"] == 250 and o.at["O3", "tonnage_t"] == 75
    assert o.at["O3", "requested_reps_t"] == 30 and pd.isna(o.at["O1", "requested_reps_t"])  # empty stays empty
    assert o.at["O9", "customer"] == "C9" and pd.isna(o.at["O9", "alpha_max"])
    p = s.projects.set_index("project_id")
    assert p.at["EAF", "verified"] == False and p.at["EAF", "verifier"] is None  # noqa: E712
    assert p.at["HBI", "verified"] == True  # noqa: E712
    per = s.periods.set_index("project_id")
    assert per.at["HBI", "uncertainty"] == 0 * 3 and per.at["EAF", "uncertainty"] == 0.2
    prod = s.model.products.set_index("product_id")["production_t"]
    assert prod.to_dict() == {"HRC": 1000, "CRC": 500, "PLT": 250, "SEC": 200}
    assert str(s.settings.as_of) == "2026-05-01" and s.settings.mass_balance.expiry_years == 2
    assert s.settings.operational_period.start.isoformat() == "2026-04-01"  # deep merge kept the rest
    # untouched tables are byte-identical copies; the patch is kept next to the patched scenario
    assert (scen.parent / "model" / "nodes.csv").read_text() == (base.parent / "model" / "nodes.csv").read_text()
    assert yaml.safe_load((scen.parent / "patch.yaml").read_text())["description"] == "every kind of edit"


def test_scale_clips_and_multiplies_every_row_without_selector(make, spec: dict[str, Any]) -> None:
    spec["project_periods.csv"][0]["uncertainty"] = 0.4
    inputs = read_base(make(spec))
    out, log = apply(inputs, {"project_periods": {"scale": [{"column": "uncertainty", "factor": 3, "max": 0.99}]},
                              "orders": {"scale": [{"column": "premium", "factor": 0.1}]}})
    assert out.tables["project_periods"]["uncertainty"].tolist() == ["0.99", "0"]
    assert out.tables["orders"]["premium"].tolist() == ["1"]  # 10 x 0.1 written as 1, not 1.0000000000000002
    assert inputs.tables["orders"]["premium"].tolist() == ["10"]  # the base is never changed
    assert "uncertainty x 3, max 0.99 on 2 row(s)" in log[0]


def test_cascades_remove_dependent_rows(make, spec: dict[str, Any]) -> None:
    spec["account.csv"] = [{"project_id": "HBI", "period_end": "2026-03-31", "used_t": 5}]
    inputs = read_base(make(spec))
    out, log = apply(inputs, {"projects": {"remove": ["HBI"]}, "products": {"remove": ["HRC"]},
                              "nodes": {"remove": ["A-O2"]}})
    assert out.tables["project_periods"]["project_id"].tolist() == ["EAF"]
    assert out.tables["account"].empty
    assert out.tables["orders"].empty  # O1 was an HRC order
    assert not ((out.tables["edges"]["source"] == "A-O2") | (out.tables["edges"]["target"] == "A-O2")).any()
    assert "1 row(s) of project_periods" in log[0] and "1 row(s) of account" in log[0]


def test_shift_keeps_month_ends_and_moves_the_account(make, spec: dict[str, Any], tmp_path: Path) -> None:
    spec["project_periods.csv"][0] |= {"period_start": "2025-10-01", "period_end": "2026-03-31"}
    spec["account.csv"] = [{"project_id": "HBI", "period_end": "2026-03-31", "used_t": 5}]
    base = make(spec)
    inputs = read_base(base)
    out, _ = apply(inputs, {"project_periods": {"shift": [{"project_id": "HBI", "months": 6}]}})
    per = out.tables["project_periods"].set_index("project_id")
    assert (per.at["HBI", "period_start"], per.at["HBI", "period_end"]) == ("2026-04-01", "2026-09-30")
    assert out.tables["account"]["period_end"].tolist() == ["2026-09-30"]  # the pool's account row follows
    out, _ = apply(inputs, {"project_periods": {"shift": [{"project_id": "HBI", "months": 1}]}})
    assert out.tables["project_periods"].set_index("project_id").at["HBI", "period_end"] == "2026-04-30"
    out, _ = apply(inputs, {"orders": {"shift": [{"days": -1}]}})
    assert out.tables["orders"]["delivery_date"].tolist() == ["2026-06-29"]
    # the shifted pool is no longer usable on the run date: the what-if serves O1 from nothing
    res = whatif(base, {"project_periods": {"shift": [{"project_id": "HBI", "years": 1}]}}, None)
    assert res.orders.set_index("order_id").at["O1", "reps_t"] == 0
    assert not res.pools.set_index("project_id").at["HBI", "ended"]


# ---------------------------------------------------------------------------------------------------------
# a bad patch


@pytest.mark.parametrize(("text", "line", "key", "rule"), [
    ("projectz: {remove: [X]}\n", 1, "projectz", "unknown table or key"),
    ("projects:\n  remove: [NOPE]\n", 2, "projects.remove[0]", "matches no row of projects"),
    ("projects:\n  change:\n    - {project_id: NOPE, verified: true}\n", 3, "projects.change[0]", "matches no row"),
    ("orders:\n  scale:\n    - {column: tonnage_t, factor: double}\n", 3, "orders.scale[0].factor",
     "must be a number"),
    ("orders:\n  scale:\n    - {column: customer, factor: 2}\n", 3, "orders.scale[0].column", "not a numeric column"),
    ("orders:\n  scale:\n    - {column: tonnage_t, factor: 2, where: {colour: red}}\n", 3,
     "orders.scale[0].where.colour", "unknown column of orders"),
    ("projects:\n  change:\n    - {project_id: HBI, colour: red}\n", 3, "projects.change[0].colour", "unknown column"),
    ("projects:\n  frobnicate: []\n", 2, "projects.frobnicate", "unknown operation"),
    ("projects:\n  shift: [{years: 1}]\n", 2, "projects.shift", "no date column"),
    ("project_periods:\n  shift:\n    - {project_id: HBI, years: 0.5}\n", 3, "project_periods.shift[0].years",
     "whole number"),
    ("project_periods:\n  remove: [HBI]\n", 2, "project_periods.remove[0]", "identified by project_id, period_end"),
    ("orders:\n  add:\n    - {order_id: O1, customer: X, product_id: HRC, tonnage_t: 1, delivery_date: 2026-07-01,\n"
     "       method: mass_balance, premium: 1}\n", 3, "orders.add[0]", "already has a row with order_id=O1"),
    ("orders:\n  add:\n    - {order_id: O7, customer: X}\n", 3, "orders.add[0]", "needs product_id, tonnage_t"),
    ("settings:\n  as_of: someday\n", 2, "settings.as_of", "valid date"),
    ("settings:\n  model: ../other\n", 2, "settings.model", "cannot be swapped"),
    ("settings:\n  colour: red\n", 2, "settings.colour", "unknown setting"),
    ("- just a list\n", None, None, "must be a YAML mapping"),
    ("settings:\n  as_of: 2026-02-30\n", None, None, "not valid YAML: day is out of range"),
])
def test_bad_patch_names_file_line_key_and_rule(make, spec: dict[str, Any], tmp_path: Path, text: str,
                                                line: int | None, key: str | None, rule: str) -> None:
    base = make(spec)
    patch = _patch_file(tmp_path, text)
    with pytest.raises(InputError) as exc:
        apply_patch(base, patch, tmp_path / "out")
    issue = exc.value.issues[0]
    assert issue.file.endswith("p.yaml")
    assert (issue.row, issue.column) == (line, key)
    assert rule in issue.rule, str(issue)
    assert not (tmp_path / "out").exists()  # nothing written for a patch that does not fit


def test_scale_and_shift_name_the_base_cell_they_cannot_read(make, spec: dict[str, Any], tmp_path: Path) -> None:
    spec["orders.csv"][0]["premium"] = "ten"
    spec["project_periods.csv"][1]["period_end"] = "2026-03-32"
    with pytest.raises(InputError) as exc:
        apply(read_base(make(spec)), {"orders": {"scale": [{"column": "premium", "factor": 2}]},
                                      "project_periods": {"shift": [{"years": 1}]}})
    scale, shift = exc.value.issues
    assert (scale.column, scale.value) == ("orders.scale[0]", "ten")
    assert scale.rule.startswith("cannot scale premium: the base cell at ") and scale.rule.endswith(
        "orders.csv line 2 is not a number")
    assert (shift.column, shift.value) == ("project_periods.shift[0]", "2026-03-32")
    assert shift.rule.startswith("cannot shift period_end: the base cell at ") and shift.rule.endswith(
        "project_periods.csv line 3 is not a date YYYY-MM-DD")


def test_every_problem_of_a_patch_is_listed(make, spec: dict[str, Any], tmp_path: Path) -> None:
    patch = _patch_file(tmp_path, "projects: {remove: [NOPE]}\norders: {scale: [{column: premium, factor: x}]}\n"
                                  "nodes: {remove: [Z]}\n")
    with pytest.raises(InputError) as exc:
        apply_patch(make(spec), patch, tmp_path / "out")
    assert [i.column for i in exc.value.issues] == ["projects.remove[0]", "orders.scale[0].factor", "nodes.remove[0]"]


def test_engine_errors_point_at_base_line_or_patch_key(make, spec: dict[str, Any], tmp_path: Path) -> None:
    base = make(spec)
    patch = _patch_file(tmp_path, "project_periods:\n  change: [{where: {project_id: EAF}, set: {uncertainty: 0.7}}]\n"
                                  "  scale: [{column: uncertainty, factor: 2, where: {project_id: EAF}}]\n"
                                  "orders:\n  add:\n    - {order_id: O8, customer: X, product_id: NOPE, tonnage_t: 5,\n"
                                  "       delivery_date: 2026-07-01, method: mass_balance, premium: 1}\n")
    with pytest.raises(InputError) as exc:
        apply_patch(base, patch, tmp_path / "out")
    by_col = {i.column: i for i in exc.value.issues}
    unc = by_col["uncertainty"]
    assert unc.file.startswith(f"{patch} applied to ") and unc.file.endswith("project_periods.csv")
    assert unc.row == 3  # EAF: base line 3
    assert "project_periods.change[0], project_periods.scale[0]" in unc.rule and unc.value == "1.4"
    prod = by_col["product_id"]
    assert prod.file == f"{patch}, orders.add[0]" and prod.row is None and "unknown product" in prod.rule
    assert (tmp_path / "out" / "scenario" / "project_periods.csv").is_file()  # kept to look at


def test_engine_errors_use_the_physical_lines_of_the_base(make, spec: dict[str, Any], tmp_path: Path) -> None:
    base = make(spec)
    f = base / "project_periods.csv"
    header, hbi, eaf = f.read_text().splitlines()
    f.write_text(f"{header}\n\n{hbi}\n\n{eaf}\n")  # blank lines: EAF is on line 5
    with pytest.raises(InputError) as exc:
        apply_patch(base, {"project_periods": {"change": [{"where": {"project_id": "EAF"}, "set": {"uncertainty": 2}}]}},
                    tmp_path / "out")
    assert [(i.row, i.column) for i in exc.value.issues] == [(5, "uncertainty")]


# ---------------------------------------------------------------------------------------------------------
# what-ifs through the engine


def test_whatif_writes_a_rerunnable_result_folder_and_never_touches_the_base(tmp_path: Path) -> None:
    before = _digest(BOTH, REPO / "models" / "jp-steel")
    patch = _patch_file(tmp_path, "description: biomass co-firing stops\nprojects: {remove: [HG-PP-BIOMASS]}\n",
                        "no-biomass.yaml")
    base = gxopt.run(BOTH)
    res = whatif(BOTH, patch, tmp_path / "wi")
    assert _digest(BOTH, REPO / "models" / "jp-steel") == before
    assert res.summary["patch"]["description"] == "biomass co-firing stops"
    assert res.summary["scenario"].endswith("(what-if no-biomass)")
    assert "HG-PP-BIOMASS" not in set(res.pools["project_id"])
    # one project fewer: fewer REPs, less GX steel, less premium
    assert res.orders["gx_tonnage_t"].sum() < base.orders["gx_tonnage_t"].sum() - 1000
    assert res.summary["objective_value"] < base.summary["objective_value"]
    out = tmp_path / "wi"
    assert (out / "patch.yaml").read_text() == patch.read_text()
    assert "HG-PP-BIOMASS" not in (out / "inputs" / "scenario" / "projects.csv").read_text()
    rerun = gxopt.run(out / "inputs" / "scenario")  # inputs/ is the patched scenario
    assert rerun.summary["objective_value"] == res.summary["objective_value"]
    assert rerun.summary["input_sha256"] == res.summary["input_sha256"]
    assert res.scenario.path == out / "inputs" / "scenario"
    # a what-if of a what-if: the result folder is a base too
    again = whatif(out, {"orders": {"scale": [{"column": "premium", "factor": 2}]}}, None)
    assert again.summary["objective_value"] == pytest.approx(2 * res.summary["objective_value"], rel=1e-9)


def test_an_added_eaf_route_and_project_are_used(make, spec: dict[str, Any]) -> None:
    base = make(spec)
    patch = {
        "nodes": {"add": [{"node_id": "B-EAF2", "site": "B", "process": "eaf", "steel": True}]},
        "edges": {"add": [{"source": "B-EAF2", "target": "B-CC", "kind": "material"}]},
        "products": {"add": [{"product_id": "SEC2", "site": "B", "route": "B-EAF2>B-CC>B-SEC", "production_t": 300,
                              "general_cfp": 0.4, "scope1": 0.1, "scope2": 0.2, "scope3_upstream": 0.1,
                              "scope3_allocable": 0.05, "scrap_share": 1.0, "cfp_basis": "post_project",
                              "cfp_period_start": "2025-04-01", "cfp_period_end": "2026-03-31"}]},
        "projects": {"add": [{"project_id": "EAF2", "name": "New EAF", "node": "B-EAF2", "kind": "process_conversion",
                              "additionality": "investment", "gas": "CO2", "verified": True, "verifier": "V",
                              "statement_id": "S9"}]},
        "project_periods": {"add": [{"project_id": "EAF2", "period_start": "2025-04-01", "period_end": "2026-03-31",
                                     "baseline_intensity": 1.0, "output_t": 300, "project_emissions_t": 100,
                                     "uncertainty": 0.0}]},
        "orders": {"add": [{"order_id": "O9", "customer": "C9", "product_id": "SEC2", "tonnage_t": 100,
                            "delivery_date": "2026-06-30", "method": "mass_balance", "premium": 20}]},
    }
    res = whatif(base, patch, None)
    o = res.orders.set_index("order_id")
    # EAF2: 1.0 x 300 - 100 = 200 t-CO2e at B-EAF2, on SEC2's route only (EAF at B-EAF reaches B-CC by a
    # material edge: no connection), D = 300 t, all 365 days inside SEC2's FY2025 CFP: R = 200 / 300.
    # O9's cap: 100 t x (scope 1+2 0.3 + 2/3) = 96.667 t-CO2e < the pool's 200: filled
    cap = 100 * (0.1 + 0.2 + 200 / 300)
    assert o.at["O9", "status"] == "filled" and o.at["O9", "reps_t"] == pytest.approx(cap)
    lines = res.allocations[res.allocations["order_id"] == "O9"]
    assert set(lines["project_id"]) == {"EAF2"} and lines["evidence"].iloc[0].startswith("B-EAF2")
    assert res.pools.set_index("project_id").at["EAF2", "used_run_t"] == pytest.approx(cap)


def test_output_folder_safety_and_missing_patch(make, spec: dict[str, Any], tmp_path: Path) -> None:
    base = make(spec)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(OutputError):
        whatif(base, {"orders": {"scale": [{"column": "premium", "factor": 2}]}}, precious)
    with pytest.raises(OutputError):
        apply_patch(base, {"orders": {"scale": [{"column": "premium", "factor": 2}]}}, precious)
    assert (precious / "thesis.txt").read_text() == "keep me"
    with pytest.raises(InputError, match="patch file not found"):
        load_patch(tmp_path / "nope.yaml")


def test_a_folder_named_like_the_marker_is_no_marker(make, spec: dict[str, Any], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The one output guard (gxopt/resultdir.py::check_out_dir) wants the marker as a file, and refuses before
    any work, not when the result is written."""
    fake = tmp_path / "fake"
    (fake / "summary.json").mkdir(parents=True)
    (fake / "summary.json" / "x").write_text("keep me")

    def no_run(*_a: Any, **_k: Any) -> None:
        raise AssertionError("ran before the output folder was checked")

    monkeypatch.setattr("gxopt.whatif.run_patched", no_run)
    with pytest.raises(OutputError, match="not a gxopt result folder"):
        whatif(make(spec), {"orders": {"scale": [{"column": "premium", "factor": 2}]}}, fake)
    assert (fake / "summary.json" / "x").read_text() == "keep me"


def test_whatif_command_prints_base_against_whatif(tmp_path: Path) -> None:
    con = Console(record=True, width=140)
    patch = FY26 / "whatif-example.yaml"
    res = whatif_command(FY26, patch, tmp_path / "fy26-example", console=con)
    text = con.export_text()
    assert "Base vs what-if" in text and "NS-PL-E" in text and "nodes.add[0]" in text
    o = res.orders.set_index("order_id")
    assert "KS26-0003" not in o.index
    assert o.at["KS26-E001", "reps_t"] > 0 and o.at["KS26-E002", "reps_t"] > 0  # the new EAF route is used
    assert set(res.allocations.loc[res.allocations["product_id"] == "NS-PL-E", "project_id"]) == {"NS-EAF-CONV"}
    assert res.summary["as_of"] == "2026-09-30"


# ---------------------------------------------------------------------------------------------------------
# in memory: no temporary input folder, any base format, issues named by base row and patch key


def _no_temporary_folders(monkeypatch: pytest.MonkeyPatch, allowed: Path | None = None) -> list[str]:
    """Make every temporary folder and every new folder fail, except below ``allowed`` (a result folder's
    parent, where the writer swaps the finished folder in); returns the refused attempts."""
    import os
    import tempfile

    refused: list[str] = []
    real_mkdtemp, real_mkdir = tempfile.mkdtemp, os.mkdir

    def inside(path: object) -> bool:
        return allowed is not None and path is not None and Path(str(path)).resolve().is_relative_to(allowed.resolve())

    def mkdtemp(suffix=None, prefix=None, dir=None):  # type: ignore[no-untyped-def]  # noqa: A002
        if not inside(dir):
            refused.append(f"mkdtemp({prefix!r}, dir={dir!r})")
            raise AssertionError("a temporary folder was made")
        return real_mkdtemp(suffix, prefix, dir)

    def mkdir(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not inside(path):
            refused.append(f"mkdir({path!r})")
            raise AssertionError(f"a folder was made: {path}")
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(os, "mkdir", mkdir)
    return refused


def test_a_whatif_makes_no_temporary_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    patch = FY26 / "whatif-example.yaml"
    expected = whatif(FY26, patch, None)
    refused = _no_temporary_folders(monkeypatch, allowed=tmp_path)
    res = whatif(FY26, patch, None)  # no folder at all
    out = tmp_path / "wi"
    written = whatif(FY26, patch, out)  # the result folder only (and its sibling while it is written)
    assert refused == []
    assert res.summary["objective_value"] == written.summary["objective_value"] == expected.summary["objective_value"]
    assert res.summary["input_sha256"] == written.summary["input_sha256"] == expected.summary["input_sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wi"]
    monkeypatch.undo()
    rerun = gxopt.run(out / "inputs" / "scenario")  # the kept copy reruns the what-if exactly
    assert rerun.summary["input_sha256"] == written.summary["input_sha256"]
    pd.testing.assert_frame_equal(rerun.allocations, written.allocations)


def test_whatif_in_memory_equals_the_written_patched_scenario_run(tmp_path: Path) -> None:
    patch = FY26 / "whatif-example.yaml"
    res = whatif(FY26, patch, None)
    scen = apply_patch(FY26, patch, tmp_path / "patched")
    ran = gxopt.run(scen)
    for table in ("allocations", "orders", "pools", "products"):
        pd.testing.assert_frame_equal(getattr(res, table), getattr(ran, table))
    assert res.summary["claims"] == ran.summary["claims"]


@pytest.mark.parametrize("fmt", ["book", "parquet"])
def test_a_whatif_on_a_workbook_or_parquet_base_equals_the_csv_whatif(fmt: str, tmp_path: Path) -> None:
    patch = FY26 / "whatif-example.yaml"
    csv = whatif(FY26, patch, None)
    base = copy_as(FY26, tmp_path / "base", fmt)
    res = whatif(base, patch, tmp_path / "out")
    for table in ("allocations", "orders", "pools", "products"):
        pd.testing.assert_frame_equal(getattr(csv, table), getattr(res, table), check_dtype=False)
    assert res.summary["objective_value"] == pytest.approx(csv.summary["objective_value"], rel=1e-12)
    assert res.summary["claims"] == csv.summary["claims"]
    # the result folder keeps the patched inputs as CSV, which rerun the what-if
    kept = tmp_path / "out" / "inputs" / "scenario"
    assert {p.name for p in kept.iterdir()} == {"scenario.yaml", "projects.csv", "project_periods.csv", "orders.csv",
                                                 "account.csv"}
    assert "KS26-E001" in (kept / "orders.csv").read_text() and "KS26-0003" not in (kept / "orders.csv").read_text()
    rerun = gxopt.run(kept)
    assert rerun.summary["input_sha256"] == res.summary["input_sha256"]
    pd.testing.assert_frame_equal(rerun.allocations, res.allocations)


@pytest.mark.parametrize(("fmt", "file", "row", "word"), [  # one wording in every format: "PATCH applied to BASE"
    ("csv", "{p} applied to {base}/project_periods.csv", 3, "line"),
    ("book", "{p} applied to {base}/scenario.xlsx sheet project_periods", 3, "row"),  # Excel row 3 (header = row 1)
    ("xlsx", "{p} applied to {base}/project_periods.xlsx sheet project_periods", 3, "row"),
    ("parquet", "{p} applied to {base}/project_periods.parquet", 2, "row"),  # record 2
])
def test_an_issue_in_a_patched_row_names_the_base_row_and_the_patch_key(
        make, spec: dict[str, Any], tmp_path: Path, fmt: str, file: str, row: int, word: str) -> None:
    base = make(spec)
    if fmt != "csv":
        base = copy_as(base, tmp_path / fmt, fmt)
    patch = _patch_file(tmp_path, "project_periods:\n  change: [{where: {project_id: EAF}, set: {uncertainty: 2}}]\n"
                                  "orders:\n  change: [{order_id: O1, product_id: NOPE}]\n"
                                  "  add:\n    - {order_id: O8, customer: X, product_id: HRC, tonnage_t: -5,\n"
                                  "       delivery_date: 2026-07-01, method: mass_balance, premium: 1}\n")
    with pytest.raises(InputError) as exc:
        whatif(base, patch, None)
    by_col = {i.column: i for i in exc.value.issues}
    unc = by_col["uncertainty"]  # a cell rule (the parser) on a changed base row
    assert unc.file.endswith(file.format(p=patch, base=base)) and unc.row == row, str(unc)
    assert f"{word} {row}, column 'uncertainty'" in str(unc)
    assert unc.rule.endswith(f"(row changed by project_periods.change[0] of {patch})") and unc.value == "2"
    prod = by_col["product_id"]  # a cross-table rule (the checks) on a changed base row: O1 is record 1
    assert prod.row == row - 1 and "unknown product" in prod.rule and f"orders.change[0] of {patch}" in prod.rule
    assert prod.file.endswith(file.format(p=patch, base=base).replace("project_periods", "orders")), str(prod)
    ton = by_col["tonnage_t"]  # a row the patch added: the patch file and key, no base row
    assert (ton.file, ton.row) == (f"{patch}, orders.add[0]", None)


def test_rules_on_computed_values_are_named_by_patch_key_and_listed_with_the_rest(make, spec: dict[str, Any],
                                                                                  tmp_path: Path) -> None:
    base = make(spec)  # HBI's pool holds 2.0 x 1000 - 1800 = 200 t-CO2e
    overuse = "account:\n  add: [{project_id: HBI, period_end: 2026-03-31, used_t: 500}]\n"
    patch = _patch_file(tmp_path, overuse)
    for call in (lambda: apply_patch(base, patch, tmp_path / "out"), lambda: whatif(base, patch, None)):
        with pytest.raises(InputError) as exc:
            call()
        [issue] = exc.value.issues
        assert (issue.file, issue.row, issue.column) == (f"{patch}, account.add[0]", None, "used_t")
        assert "more REPs used than the pool holds" in issue.rule
    both = _patch_file(tmp_path, overuse + "orders:\n  change: [{order_id: O1, product_id: NOPE}]\n", "both.yaml")
    with pytest.raises(InputError) as exc:
        whatif(base, both, None)
    assert sorted(i.column for i in exc.value.issues) == ["product_id", "used_t"]  # every problem at once
