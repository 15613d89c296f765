"""Scenarios as planners keep them: the shipped CSV scenarios rewritten as one workbook per folder, an Excel
file per table, or Parquet files, with typed cells (date cells, booleans, numbers, empty = no value)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from gxopt import schema

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def typed(text: str) -> object:
    """A cell as a planner's spreadsheet holds it: date cells, booleans, numbers, text; empty = no value."""
    if text == "":
        return None
    if DATE.match(text):
        return dt.date.fromisoformat(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text


def frames_of(folder: Path, tables: tuple[schema.Table, ...]) -> dict[str, pd.DataFrame]:
    return {t.file[:-4]: pd.read_csv(folder / t.file, dtype=str, keep_default_na=False)
            for t in tables if (folder / t.file).is_file()}


def write_book(file: Path, frames: dict[str, pd.DataFrame]) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in frames.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            ws.append([typed(v) for v in row])
    wb.save(file)


def write_parquet(file: Path, df: pd.DataFrame) -> None:
    cols = {}
    for c in df.columns:
        vals = [typed(v) for v in df[c]]
        kinds = {type(v) for v in vals if v is not None}
        if kinds <= {int, float} and kinds:
            cols[c] = pa.array([None if v is None else float(v) for v in vals], pa.float64())
        elif kinds == {dt.date}:
            cols[c] = pa.array(vals, pa.date32())
        elif kinds == {bool}:
            cols[c] = pa.array(vals, pa.bool_())
        else:
            cols[c] = pa.array([None if v is None else str(v) for v in vals], pa.string())
    pq.write_table(pa.table(cols), file)


def copy_as(src: Path, dst: Path, fmt: str) -> Path:
    """The scenario ``src`` (and its model) rewritten: ``book`` = one workbook each, ``parquet``, ``xlsx`` = a file
    per table."""
    model_src = (src / re.search(r"(?m)^model:\s*(.+)$", (src / "scenario.yaml").read_text()).group(1).strip())
    scen, model = dst / "scenario", dst / "model"
    scen.mkdir(parents=True)
    model.mkdir(parents=True)
    shutil.copyfile(model_src / "model.yaml", model / "model.yaml")
    text = re.sub(r"(?m)^model:.*$", "model: ../model", (src / "scenario.yaml").read_text())
    (scen / "scenario.yaml").write_text(text)
    for folder, out, tables, book in ((model_src.resolve(), model, schema.MODEL_TABLES, "model.xlsx"),
                                      (src, scen, schema.SCENARIO_TABLES, "scenario.xlsx")):
        frames = frames_of(folder, tables)
        if fmt == "book":
            write_book(out / book, frames)
        for name, df in frames.items():
            if fmt == "parquet":
                write_parquet(out / f"{name}.parquet", df)
            elif fmt == "xlsx":
                write_book(out / f"{name}.xlsx", {name: df})
    return scen
