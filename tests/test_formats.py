"""One way in: every input table from CSV, Excel (a file per table or one workbook) or Parquet, with the same
meaning of dates, booleans and empty cells, and every bad cell located by sheet/row/column or file/row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gxopt
from gxopt.errors import InputError
from tests.conftest import REPO
from tests.format_support import copy_as

@pytest.mark.parametrize("name", ["jisf-case-study", "jp-steel-fy2026", "jp-steel-both-methods"])
@pytest.mark.parametrize("fmt", ["book", "parquet", "xlsx"])
def test_every_format_gives_the_csv_results(name: str, fmt: str, tmp_path: Path) -> None:
    base = gxopt.run(REPO / "scenarios" / name)
    other = gxopt.run(copy_as(REPO / "scenarios" / name, tmp_path, fmt), out=tmp_path / "out")
    for table in ("allocations", "orders", "pools", "products"):
        pd.testing.assert_frame_equal(getattr(base, table), getattr(other, table), check_dtype=False)
    assert base.summary["claims"] == other.summary["claims"]
    kept = sorted(p.name for p in (tmp_path / "out" / "inputs" / "scenario").iterdir())
    assert kept == (["scenario.xlsx", "scenario.yaml"] if fmt == "book" else sorted(
        p.name for p in (tmp_path / "scenario").iterdir()))
    rerun = gxopt.run(tmp_path / "out" / "inputs" / "scenario")  # the result folder reruns the same
    pd.testing.assert_frame_equal(other.allocations, rerun.allocations)


def _bad_orders(tmp_path: Path, fmt: str) -> Path:
    scen = copy_as(REPO / "scenarios" / "jisf-case-study", tmp_path, fmt)
    if fmt == "book":
        from openpyxl import load_workbook

        wb = load_workbook(scen / "scenario.xlsx")
        wb["orders"]["D3"] = "lots"  # tonnage_t of B-001 (row 3)
        wb["orders"]["E4"] = None  # delivery_date of C-001 left empty
        wb.save(scen / "scenario.xlsx")
    else:
        t = pq.read_table(scen / "orders.parquet").to_pandas()
        t["tonnage_t"] = t["tonnage_t"].astype(object)
        t.loc[1, "tonnage_t"] = "lots"
        t.loc[2, "delivery_date"] = None
        t["tonnage_t"] = t["tonnage_t"].astype(str)
        pq.write_table(pa.Table.from_pandas(t, preserve_index=False), scen / "orders.parquet")
    return scen


def test_a_bad_cell_in_a_workbook_names_sheet_row_and_column(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        gxopt.load(_bad_orders(tmp_path, "book"))
    got = {(i.file.split("/")[-1], i.row, i.column) for i in e.value.issues}
    assert got == {("scenario.xlsx sheet orders", 3, "tonnage_t"), ("scenario.xlsx sheet orders", 4, "delivery_date")}
    assert "scenario.xlsx sheet orders, row 3, column 'tonnage_t': not a number" in str(e.value)


def test_a_bad_cell_in_parquet_names_file_row_and_column(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        gxopt.load(_bad_orders(tmp_path, "parquet"))
    got = {(i.file.split("/")[-1], i.row, i.column) for i in e.value.issues}
    assert got == {("orders.parquet", 2, "tonnage_t"), ("orders.parquet", 3, "delivery_date")}
    assert "orders.parquet, row 2, column 'tonnage_t'" in str(e.value)


def test_one_table_in_two_formats_is_an_error(tmp_path: Path) -> None:
    scen = copy_as(REPO / "scenarios" / "jisf-case-study", tmp_path, "parquet")
    shutil.copyfile(REPO / "scenarios" / "jisf-case-study" / "orders.csv", scen / "orders.csv")
    with pytest.raises(InputError) as e:
        gxopt.load(scen)
    [issue] = e.value.issues
    assert "given twice (orders.csv, orders.parquet)" in issue.rule


def test_excel_dates_booleans_and_empty_cells_mean_what_csv_means(tmp_path: Path) -> None:
    """An Excel date cell is a date, a boolean cell true/false, an empty cell 'not given' (never zero)."""
    scen = copy_as(REPO / "scenarios" / "jisf-case-study", tmp_path, "book")
    s = gxopt.load(scen)
    assert s.orders["delivery_date"].iloc[0] == pd.Timestamp("2026-06-30")
    assert bool(s.projects["verified"].iloc[0]) is True
    assert s.orders["requested_reps_t"].isna().all()
    assert s.sources["orders"].name == "scenario.xlsx"


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_results_in_every_format_read_back_the_same(fmt: str, tmp_path: Path) -> None:
    """`gxopt run --format`: the same tables from Parquet or the results.xlsx workbook as from CSV."""
    from typer.testing import CliRunner

    from gxopt.cli import app
    from gxopt.resultdir import read_result_tables

    names = ("allocations", "orders", "pools", "products", "projects", "connections")
    for f in ("csv", fmt):
        res = CliRunner().invoke(app, ["run", str(REPO / "scenarios" / "jp-steel-fy2026"), "--out",
                                       str(tmp_path / f), "--format", f, "--quiet"])
        assert res.exit_code == 0, res.output
    a, b = read_result_tables(tmp_path / "csv", names), read_result_tables(tmp_path / fmt, names)
    for n in names:
        pd.testing.assert_frame_equal(a[n], b[n], check_dtype=False, atol=1e-6)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(tmp_path / "xlsx" / "results.xlsx")["orders"]
        assert ws.freeze_panes == "A2"
        assert any("[t-CO2e]" in str(c.value) for c in ws[1])  # units in the headers
    # compare reads any format
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "csv"), str(tmp_path / fmt), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output


def test_an_unknown_result_format_is_refused_before_solving(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gxopt.cli import app

    res = CliRunner().invoke(app, ["run", str(REPO / "scenarios" / "jisf-case-study"), "--out", str(tmp_path / "o"),
                                   "--format", "ods"])
    assert res.exit_code == 2 and "must be one of csv, parquet, xlsx" in res.output
    assert not (tmp_path / "o").exists()


def test_a_report_reads_a_workbook_result_folder(tmp_path: Path) -> None:
    """gxopt report works on results written as results.xlsx, with the same certificates as from CSV."""
    import json

    from gxopt.report import build_report

    for f in ("csv", "xlsx"):
        gxopt.run(REPO / "scenarios" / "jisf-case-study", out=tmp_path / f, fmt=f)
        build_report(tmp_path / f, tmp_path / f"{f}-report")
    a, b = (json.loads((tmp_path / f"{f}-report" / "certificates" / "certificates.json").read_text())
            for f in ("csv", "xlsx"))
    assert [c["reps_t"] for c in a["certificates"]] == [c["reps_t"] for c in b["certificates"]]
