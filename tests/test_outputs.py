"""The result tables are the output schema (gxopt/outputs.py): the frames of every shipped scenario, the files
written and the tables of docs/file-contract.md must match it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gxopt
from gxopt import outputs
from gxopt.schema import Column, Table
from tests.conftest import REPO

SHIPPED = ("jisf-case-study", "jisf-figure1", "jp-steel-fy2026", "jp-steel-both-methods")
TABLES = {t.name: t for t in outputs.RESULT_TABLES}
CASES = [(s, t) for s in SHIPPED for t in TABLES]
TOL = 1e-6  # t-CO2e, as verify allows for solver noise


@pytest.fixture(scope="module")
def frames() -> dict[str, dict[str, pd.DataFrame]]:
    return {s: gxopt.run(REPO / "scenarios" / s).results.tables() for s in SHIPPED}


def _doc() -> str:
    return (REPO / "docs" / "file-contract.md").read_text(encoding="utf-8")


# (a) the docs are generated from the schema


def test_file_contract_output_part_matches_schema() -> None:
    doc = _doc()
    assert "## Output tables (result folder)" in doc
    assert outputs.markdown_outputs() in doc, "regenerate the output tables of docs/file-contract.md " \
                                              "(python -m gxopt.outputs)"
    assert doc.index("## Output tables (result folder)") > doc.index("### `account.csv`"), \
        "the output part comes after the input tables"


@pytest.mark.parametrize("table", outputs.RESULT_TABLES, ids=lambda t: t.name)
def test_file_contract_has_each_output_table(table: Table) -> None:
    assert outputs.markdown_output(table) in _doc(), f"regenerate the {table.file} (result) table"


def test_schema_covers_the_six_tables_with_their_keys() -> None:
    assert [t.name for t in outputs.RESULT_TABLES] == ["allocations", "orders", "pools", "products", "projects",
                                                       "connections"]
    keys = {"allocations": ("order_id", "pool_id"), "orders": ("order_id",), "pools": ("pool_id",),
            "products": ("product_id",), "projects": ("project_id",), "connections": ("project_id", "product_id")}
    for t in outputs.RESULT_TABLES:
        assert t.file == f"{t.name}.csv"
        assert t.key == keys[t.name]
        assert outputs.result_table(t.name) is t
        names = [c.name for c in t.columns]
        assert len(names) == len(set(names)), t.name
        assert set(t.key) <= set(names)
        for c in t.columns:
            assert c.required, (t.name, c.name)
            assert c.kind in ("text", "float", "date", "bool", "enum"), (t.name, c.name)
            assert c.description.strip(), (t.name, c.name)
            assert c.kind != "float" or c.unit, f"{t.name}.{c.name}: a float column needs a unit"
            assert c.kind != "enum" or c.choices, (t.name, c.name)
    with pytest.raises(KeyError):
        outputs.result_table("summary")


# (b) the engine's frames are the schema


def test_results_tables_are_the_schema_tables(frames: dict[str, dict[str, pd.DataFrame]]) -> None:
    for s, tables in frames.items():
        assert list(tables) == list(TABLES), s


@pytest.mark.parametrize(("scenario", "name"), CASES)
def test_frame_has_exactly_the_schema_columns(frames: dict[str, dict[str, pd.DataFrame]], scenario: str,
                                              name: str) -> None:
    assert outputs.check_frame(TABLES[name], frames[scenario][name]) == []


@pytest.mark.parametrize(("scenario", "name"), CASES)
def test_frame_key_is_unique(frames: dict[str, dict[str, pd.DataFrame]], scenario: str, name: str) -> None:
    f = frames[scenario][name]
    assert not f.duplicated(list(TABLES[name].key)).any()


def _is_empty(v: pd.Series) -> pd.Series:
    return v.isna() | (v.astype(object).map(lambda x: isinstance(x, str) and x.strip() == ""))


def _kind_problem(c: Column, v: pd.Series) -> str | None:
    """Why the values ``v`` do not fit the column's kind, or None."""
    if v.isna().all():  # an all-empty column has no type to check (e.g. a text column read as NaN)
        return None if c.nullable or v.empty else "empty but not nullable"
    if c.kind == "float" and not pd.api.types.is_float_dtype(v):
        return f"dtype {v.dtype}, expected float"
    if c.kind == "date" and not pd.api.types.is_datetime64_any_dtype(v):
        return f"dtype {v.dtype}, expected a date"
    if c.kind == "bool" and not pd.api.types.is_bool_dtype(v):
        return f"dtype {v.dtype}, expected bool"
    if c.kind in ("text", "enum") and not (pd.api.types.is_object_dtype(v) or pd.api.types.is_string_dtype(v)):
        return f"dtype {v.dtype}, expected text"
    if c.kind == "enum":
        bad = set(v[~_is_empty(v)]) - set(c.choices)
        if bad:
            return f"values {sorted(bad)} not in {c.choices}"
    if not c.nullable and _is_empty(v).any():
        return "empty cells in a column that is never empty"
    return None


@pytest.mark.parametrize(("scenario", "name"), CASES)
def test_frame_values_fit_the_kinds(frames: dict[str, dict[str, pd.DataFrame]], scenario: str, name: str) -> None:
    f = frames[scenario][name]
    problems = {c.name: p for c in TABLES[name].columns if c.name in f.columns
                and (p := _kind_problem(c, f[c.name])) is not None}
    assert problems == {}


def _bound_violations(c: Column, v: pd.Series) -> list[Any]:
    x = v.to_numpy(float)
    x = x[~np.isnan(x)]
    tol = TOL + 1e-9 * np.abs(x)
    bad = np.zeros(len(x), dtype=bool)
    if c.ge is not None:
        bad |= x < c.ge - tol
    if c.gt is not None:
        bad |= x <= c.gt - tol
    if c.le is not None:
        bad |= x > c.le + tol
    if c.lt is not None:
        bad |= x >= c.lt + tol
    return sorted(set(x[bad].tolist()))[:5]


# (c) fractions are fractions; every declared bound holds


def test_fraction_columns_are_bounded_to_zero_one() -> None:
    fractions = {(t.name, c.name): c for t in outputs.RESULT_TABLES for c in t.columns if c.unit == "fraction"}
    assert {("orders", "alpha"), ("orders", "alpha_max"), ("pools", "share"), ("products", "scrap_share")} <= set(
        fractions)
    for key, c in fractions.items():
        assert c.kind == "float", key
        lo = c.ge if c.ge is not None else c.gt
        hi = c.le if c.le is not None else c.lt
        assert lo is not None and lo >= 0 and hi is not None and hi <= 1, f"{key}: a fraction lies in [0, 1]"


@pytest.mark.parametrize(("scenario", "name"), CASES)
def test_fraction_values_lie_in_zero_one(frames: dict[str, dict[str, pd.DataFrame]], scenario: str,
                                         name: str) -> None:
    f = frames[scenario][name]
    for c in TABLES[name].columns:
        if c.unit == "fraction":
            x = f[c.name].to_numpy(float)
            x = x[~np.isnan(x)]
            assert ((x >= -1e-9) & (x <= 1 + 1e-9)).all(), (c.name, x[(x < 0) | (x > 1)][:5])


@pytest.mark.parametrize(("scenario", "name"), CASES)
def test_declared_bounds_hold(frames: dict[str, dict[str, pd.DataFrame]], scenario: str, name: str) -> None:
    f = frames[scenario][name]
    bad = {c.name: v for c in TABLES[name].columns if c.kind == "float"
           and (v := _bound_violations(c, f[c.name]))}
    assert bad == {}


# the writer writes the schema's columns


def test_written_csv_headers_are_the_schema(tmp_path: Path) -> None:
    gxopt.run(REPO / "scenarios" / "jp-steel-fy2026", out=tmp_path / "out")
    for t in outputs.RESULT_TABLES:
        header = pd.read_csv(tmp_path / "out" / t.file, nrows=0)
        assert outputs.check_frame(t, header) == [], t.file


# check_frame itself


def _frame(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=cols)


def test_check_frame_reports_missing_unexpected_duplicate_and_order() -> None:
    t = outputs.CONNECTIONS_TABLE
    assert outputs.check_frame(t, _frame(["project_id", "product_id", "evidence"])) == []
    assert outputs.check_frame(t, _frame(["project_id", "product_id"])) == [
        "connections.csv: missing column evidence"]
    assert outputs.check_frame(t, _frame(["project_id", "product_id", "evidence", "x"])) == [
        "connections.csv: unexpected column x"]
    out = outputs.check_frame(t, _frame(["product_id", "project_id", "evidence"]))
    assert len(out) == 1 and out[0].startswith("connections.csv: columns out of order: product_id where project_id")
    assert "connections.csv: duplicate column evidence" in outputs.check_frame(
        t, pd.DataFrame([[1, 2, 3, 4]], columns=["project_id", "product_id", "evidence", "evidence"]))


def test_check_frame_accepts_carried_input_columns_only_where_they_belong() -> None:
    t = outputs.PROJECTS_TABLE
    names = [c.name for c in t.columns]
    at = names.index(t.extra[outputs.EXTRA_COLUMNS_AFTER]) + 1
    assert outputs.check_frame(t, _frame(names[:at] + ["took_effect", "note"] + names[at:])) == []
    assert outputs.check_frame(t, _frame(names + ["note"])) == ["projects.csv: unexpected column note"]
    assert outputs.check_frame(outputs.ORDERS_TABLE, _frame([c.name for c in outputs.ORDERS_TABLE.columns]
                                                            + ["hold_id"])) == ["orders.csv: unexpected column hold_id"]
