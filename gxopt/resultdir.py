"""Result folders: written at once or not at all, in CSV, Parquet or one workbook, and read back in any of them."""

from __future__ import annotations

import contextlib
import datetime as dt
import io as stdio
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from gxopt.errors import OutputError
from gxopt.io import _read_sheet

RESULT_MARKER = "summary.json"


RESULT_FORMATS = ("csv", "parquet", "xlsx")
RESULT_BOOK = "results.xlsx"


def write_results(tables: dict[str, pd.DataFrame], summary: dict[str, Any], out_dir: str | os.PathLike[str],
                  copies: dict[str, Path | str] | None = None, fmt: str = "csv") -> Path:
    """Write result tables, ``summary.json`` and ``copies`` (relative name -> file) to ``out_dir`` at once or not at all.

    ``fmt``: ``csv`` (one file per table, the default), ``parquet`` (one file per table, full precision) or
    ``xlsx`` (one ``results.xlsx`` with a sheet per table, for people: units in the headers, frozen header
    row, number formats). Everything is written into a temporary sibling folder first and then swapped in,
    so a crash leaves either the previous results or the new ones, never a mix. A non-empty folder that is
    not a gxopt result folder is never overwritten.
    """
    if fmt not in RESULT_FORMATS:
        raise OutputError(f"--format must be one of {', '.join(RESULT_FORMATS)}, not {fmt!r}")
    from gxopt.outputs import RESULT_TABLES, check_frame

    schemas = {t.name: t for t in RESULT_TABLES}  # other folders (a ledger export) have tables of their own
    drift = [d for name, frame in tables.items() if name in schemas for d in check_frame(schemas[name], frame)]
    if drift:  # a bug: the output schema (docs/file-contract.md) and the engine disagree
        raise OutputError("internal: result tables differ from the output schema: " + "; ".join(drift))
    with atomic_dir(out_dir) as tmp:
        if fmt == "xlsx":
            _to_xlsx(tables, tmp / RESULT_BOOK)
        for name, frame in tables.items():
            if fmt == "csv":
                _to_csv(frame, tmp / f"{name}.csv")
            elif fmt == "parquet":
                import pyarrow.parquet as pq

                pq.write_table(_arrow(frame, round_floats=False), tmp / f"{name}.parquet")
        for rel, src in (copies or {}).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, str):
                (tmp / rel).write_text(src, encoding="utf-8")
            else:
                shutil.copyfile(src, tmp / rel)
        summary = {**summary, "result_format": fmt}
        (tmp / RESULT_MARKER).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return Path(out_dir)


def read_result_tables(root: Path, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Result tables of a result folder in whichever format it was written (CSV, Parquet or results.xlsx).

    Dates come back as text ``YYYY-MM-DD`` and booleans as bools in every format, as ``pd.read_csv`` gives
    them for CSV, so readers see the same frames whatever the format.
    """
    out: dict[str, pd.DataFrame] = {}
    book = root / RESULT_BOOK
    for name in names:
        if (root / f"{name}.csv").is_file():
            out[name] = pd.read_csv(root / f"{name}.csv", keep_default_na=True)
        elif (root / f"{name}.parquet").is_file():
            import pyarrow.parquet as pq

            frame = pq.read_table(root / f"{name}.parquet").to_pandas()
            for c in frame.columns:
                if not (pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])):
                    continue
                col = frame[c].astype(object)
                col = col.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
                frame[c] = col.where(col != "", np.nan)  # an empty cell reads as missing, as in CSV
            out[name] = frame
        elif book.is_file():
            raw, _lines, _label = _read_sheet(book, name, name, str(book))
            raw.columns = [re.sub(r" \[.*\]$", "", c) for c in raw.columns]
            buf = raw.replace("", np.nan)
            out[name] = pd.read_csv(stdio.StringIO(buf.to_csv(index=False)), keep_default_na=True)
        else:
            raise FileNotFoundError(root / f"{name}.csv")
    return out


def check_out_dir(out: Path, marker: str = RESULT_MARKER, kind: str = "gxopt result folder", *,
                  reads: Iterable[Path] = (), marker_kind: str | None = None) -> None:
    """The one guard of every output folder, run before any work: a non-empty folder without the file
    ``marker`` is never overwritten (with ``marker_kind``, the marker must be JSON whose ``kind`` is that), and
    ``out`` is never one of the folders a command ``reads`` nor inside one."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_marker(out / marker, marker_kind))):
        msg = f"{out}: exists and is not a {kind} (no {marker}); refusing to overwrite it - choose another --out"
        raise OutputError(msg)
    for d in reads:
        try:
            inside = d.exists() and (out.resolve() == d.resolve() or d.resolve() in out.resolve().parents)
        except OSError:
            continue
        if inside:
            msg = f"{out}: is (inside) the folder {d} it reads; choose another --out"
            raise OutputError(msg)


def _is_marker(file: Path, kind: str | None) -> bool:
    if not file.is_file():
        return False
    if kind is None:
        return True
    try:
        return json.loads(file.read_text(encoding="utf-8")).get("kind") == kind
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, OSError):
        return False


@contextlib.contextmanager
def atomic_dir(out_dir: str | os.PathLike[str], marker: str = RESULT_MARKER,
               kind: str = "gxopt result folder") -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; on success it replaces ``out_dir`` in one rename.

    A crash leaves either the previous folder or the new one, never a mix. A non-empty existing folder
    without ``marker`` (not written by gxopt) is never overwritten: :class:`OutputError`. The new
    folder must contain ``marker`` when the block ends.
    """
    out = Path(out_dir)
    check_out_dir(out, marker, kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        if not (tmp / marker).is_file():
            msg = f"internal: {marker} was not written"
            raise OutputError(msg)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _arrow(frame: pd.DataFrame, round_floats: bool = True) -> pa.Table:
    """A result frame as an Arrow table: dates as dates, floats (to 6 decimals for text), bools, text."""
    cols = {}
    for c in frame.columns:
        v = frame[c]
        if pd.api.types.is_datetime64_any_dtype(v):
            cols[c] = pa.array(v.dt.date, type=pa.date32(), from_pandas=True)
        elif pd.api.types.is_float_dtype(v):
            x = v.to_numpy(float)
            cols[c] = pa.array((np.round(x, 6) if round_floats else x) + 0.0, from_pandas=True)  # + 0.0: no "-0"
        elif pd.api.types.is_bool_dtype(v) or pd.api.types.is_integer_dtype(v):
            cols[c] = pa.array(v.to_numpy(), from_pandas=True)
        else:
            cols[c] = pa.array(v.astype(object).where(v.notna(), None).astype(str).where(v.notna(), None),
                               type=pa.string(), from_pandas=True)
    return pa.table(cols) if cols else pa.table({})


def _to_csv(frame: pd.DataFrame, file: Path) -> None:
    """Write a result table: floats to 6 decimals, dates as YYYY-MM-DD, booleans as true/false."""
    pacsv.write_csv(_arrow(frame), file, write_options=pacsv.WriteOptions(quoting_style="needed"))


NUMBER_FORMATS = {"t": "#,##0.0", "t-CO2e": "#,##0.0", "t-CO2e/t": "0.000", "fraction": "0.0000",
                  "currency/t-CO2e": "#,##0.00", "currency": "#,##0"}


def _to_xlsx(tables: dict[str, pd.DataFrame], file: Path) -> None:
    """One workbook, a sheet per table, for people: ``column [unit]`` headers, frozen header row, number formats."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    units = _result_units()
    wb = Workbook(write_only=False)
    wb.remove(wb.active)
    for name, frame in tables.items():
        ws = wb.create_sheet(name)
        unit = units.get(name, {})
        ws.append([f"{c} [{unit[c]}]" if unit.get(c) else c for c in frame.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        arrow = _arrow(frame).to_pylist()
        for row in arrow:
            ws.append([row[c] for c in frame.columns])
        for j, c in enumerate(frame.columns, start=1):
            fmt = "yyyy-mm-dd" if pd.api.types.is_datetime64_any_dtype(frame[c]) else NUMBER_FORMATS.get(unit.get(c, ""))
            letter = ws.cell(row=1, column=j).column_letter
            ws.column_dimensions[letter].width = max(10, min(48, len(str(ws.cell(row=1, column=j).value)) + 2))
            if fmt:
                for cell in ws[letter][1:]:
                    cell.number_format = fmt
    wb.save(file)


def _result_units() -> dict[str, dict[str, str]]:
    """Unit of every result column from the output schema (:mod:`gxopt.outputs`); dates need none."""
    from gxopt.outputs import RESULT_TABLES

    return {t.name: {c.name: c.unit for c in t.columns if c.kind != "date"} for t in RESULT_TABLES}
