"""Reading scenario folders and writing result folders; the only module that touches the file system."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml
from pydantic import BaseModel, ValidationError

from gxopt import schema
from gxopt.errors import Issue, OutputError
from gxopt.scenario import PlantModel, Scenario, display_path
from gxopt.settings import ModelMeta, ScenarioSettings

RESULT_MARKER = "summary.json"
M = TypeVar("M", bound=BaseModel)


TABLE_FORMATS = (".csv", ".xlsx", ".parquet")  # one file per table, in any of these
WORKBOOKS = {"model": "model.xlsx", "scenario": "scenario.xlsx"}  # or one workbook with a sheet per table


@dataclass(frozen=True)
class RawTable:
    """One input table as read, before typing: every cell as text ("" = empty), the place of each record
    (CSV line, Excel row or Parquet record number) and the label messages name it by."""

    frame: pd.DataFrame
    lines: np.ndarray | None
    label: str
    file: Path | None = None


@dataclass(frozen=True)
class RawInputs:
    """A scenario and its plant model as read, before typing: what a what-if patches in memory."""

    root: Path
    model_dir: Path
    settings: dict[str, Any]  # scenario.yaml as loaded (dates as text)
    settings_label: str
    meta: dict[str, Any]  # model.yaml as loaded
    meta_label: str
    tables: dict[str, RawTable]  # by table name; absent optional tables are missing


def read_scenario(path: str | os.PathLike[str]) -> tuple[Scenario | None, list[Issue]]:
    """Read a scenario folder and its plant model; return the typed scenario and every issue found.

    Each table may be a CSV, Excel or Parquet file of the folder, or a sheet of the folder's workbook
    (``model.xlsx`` / ``scenario.xlsx``). The scenario is None when the folder or its settings cannot be
    read at all. Cross-table rules are not checked here (see :func:`gxopt.checks.check_scenario`).
    """
    raw, issues = read_raw(path)
    if raw is None:
        return None, issues
    scenario, more = parse_inputs(raw)
    return scenario, issues + more


def read_raw(path: str | os.PathLike[str]) -> tuple[RawInputs | None, list[Issue]]:
    """Read every input of a scenario folder once, as text, with the origin of every record."""
    root = Path(path)
    issues: list[Issue] = []
    if not root.is_dir():
        return None, [Issue(str(root), None, None, "scenario folder not found")]
    settings = _read_yaml(root / "scenario.yaml", issues)
    if settings is None:
        return None, issues
    model_key = settings.get("model")
    if not isinstance(model_key, str):  # the settings model says what is wrong with them
        before = len(issues)
        _validate(settings, ScenarioSettings, display_path(root / "scenario.yaml"), issues)
        if len(issues) > before:
            return None, issues
    model_dir = (root / str(model_key)).resolve() if isinstance(model_key, str) else None
    if model_dir is None or not model_dir.is_dir():
        issues.append(Issue(display_path(root / "scenario.yaml"), None, "model", "plant model folder not found",
                            value=None if model_key is None else str(model_key)))
        return None, issues
    meta = _read_yaml(model_dir / "model.yaml", issues)
    tables: dict[str, RawTable] = {}
    for folder, group, book in ((model_dir, schema.MODEL_TABLES, WORKBOOKS["model"]),
                                (root, schema.SCENARIO_TABLES, WORKBOOKS["scenario"])):
        for t in group:
            got = _read_raw_table(folder, t, display_path(folder), book, issues)
            if got is not None:
                tables[t.name] = got
    if meta is None:
        return None, issues
    return RawInputs(root, model_dir, settings, display_path(root / "scenario.yaml"), meta,
                     display_path(model_dir / "model.yaml"), tables), issues


def parse_inputs(raw: RawInputs) -> tuple[Scenario | None, list[Issue]]:
    """Type and check every cell of ``raw`` (the one parser of every input, whatever its source)."""
    issues: list[Issue] = []
    settings = _validate(raw.settings, ScenarioSettings, raw.settings_label, issues)
    meta = _validate(raw.meta, ModelMeta, raw.meta_label, issues)
    typed: dict[str, pd.DataFrame] = {}
    for t in schema.MODEL_TABLES + schema.SCENARIO_TABLES:
        r = raw.tables.get(t.name)
        if r is None:
            typed[t.name] = schema.empty_frame(t)
            continue
        typed[t.name], found = schema.parse_table(r.frame, t, r.label, lines=r.lines)
        issues.extend(found)
    if settings is None or meta is None:
        return None, issues
    model = PlantModel(raw.model_dir, meta, typed["nodes"], typed["edges"], typed["products"])
    sources = {n: r.file for n, r in raw.tables.items() if r.file is not None}
    return Scenario(raw.root, settings, model, typed["projects"], typed["project_periods"], typed["orders"],
                    typed["account"], sources=sources), issues


def table_sources(folder: Path, table: schema.Table, workbook: str) -> list[tuple[Path, str | None]]:
    """Where ``table`` may be in ``folder``: (file, sheet) for each format found (sheet None = whole file)."""
    stem = table.file.rsplit(".", 1)[0]
    found: list[tuple[Path, str | None]] = [(folder / (stem + ext), None) for ext in TABLE_FORMATS
                                            if (folder / (stem + ext)).is_file()]
    book = folder / workbook
    if book.is_file() and stem in _sheet_names(book):
        found.append((book, stem))
    return found


def _sheet_names(book: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(book, read_only=True)
    except Exception:  # noqa: BLE001  any unreadable workbook: reported when a table is read from it
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _read_raw_table(folder: Path, table: schema.Table, folder_label: str, workbook: str,
                    issues: list[Issue]) -> RawTable | None:
    """One input table as text from whichever format holds it (None when absent or unreadable)."""
    sources = table_sources(folder, table, workbook)
    stem = table.file.rsplit(".", 1)[0]
    if len(sources) > 1:
        where = ", ".join(f.name + (f" (sheet {sh})" if sh else "") for f, sh in sources)
        issues.append(Issue(f"{folder_label}/{stem}", None, None,
                            f"given twice ({where}): keep one file or sheet per table"))
        return None
    if not sources:
        if not table.optional_file:
            issues.append(Issue(f"{folder_label}/{table.file}", None, None,
                                "file not found (also looked for " + ", ".join(
                                    [stem + e for e in TABLE_FORMATS[1:]] + [f"sheet {stem} of {workbook}"]) + ")"))
        return None
    file, sheet = sources[0]
    label = f"{folder_label}/{file.name}" + (f" sheet {sheet}" if sheet else "")
    try:
        if file.suffix == ".csv":
            frame = _read_text_table(file)
            lines = _record_lines(file, len(frame))
        elif file.suffix == ".xlsx":
            frame, lines, label = _read_sheet(file, sheet, stem, label)
        else:
            frame, lines = _read_parquet(file)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError, ValueError, OSError,
            pa.ArrowException) as exc:
        issues.append(Issue(label, None, None, f"cannot be read as {file.suffix[1:].upper()}: "
                            + (str(exc).splitlines() or [type(exc).__name__])[0]))
        return None
    except Exception as exc:  # noqa: BLE001  openpyxl raises its own classes for broken workbooks
        issues.append(Issue(label, None, None, f"cannot be read as {file.suffix[1:].upper()}: {type(exc).__name__}"))
        return None
    return RawTable(frame, lines, label, file)


def _cell_text(v: Any) -> str:
    """One spreadsheet / Parquet value as the text a CSV would hold: dates ISO, booleans true/false, empty ""."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, dt.datetime | pd.Timestamp):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float | np.floating):
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
    return str(v)


def _read_sheet(book: Path, sheet: str | None, stem: str, label: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Cells of one sheet as text, with the Excel row number of each record (header = row 1 of the sheet).

    A single-table workbook (``orders.xlsx``) may name its sheet after the table or hold just one sheet.
    Blank rows are skipped, as blank lines are in CSV.
    """
    from openpyxl import load_workbook

    wb = load_workbook(book, read_only=True, data_only=True)
    try:
        if sheet is None:
            sheet = stem if stem in wb.sheetnames else (wb.sheetnames[0] if len(wb.sheetnames) == 1 else None)
            if sheet is None:
                msg = f"has several sheets and none named {stem!r}"
                raise ValueError(msg)
            label = f"{label} sheet {sheet}"
        rows = [[_cell_text(c) for c in r] for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()
    rows_with_no = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not rows_with_no:
        raise pd.errors.EmptyDataError("the sheet has no header row")
    (_, header), body = rows_with_no[0], rows_with_no[1:]
    names = [h.strip() for h in header]
    keep = [i for i, n in enumerate(names) if n]
    frame = pd.DataFrame([[r[i] if i < len(r) else "" for i in keep] for _, r in body],
                         columns=[names[i] for i in keep], dtype=object)
    return frame, np.asarray([n for n, _ in body], dtype=np.int64), label


def _read_parquet(file: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Columns of a Parquet file as text (rows numbered from 1: a Parquet file has no header row)."""
    import pyarrow.parquet as pq

    t = pq.read_table(file)
    cols = {}
    for name, col in zip(t.column_names, t.columns):
        typ = col.type
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            cols[name] = pd.Series(col.to_pylist(), dtype=object).fillna("")
        else:
            cols[name] = pd.Series([_cell_text(v) for v in col.to_pylist()], dtype=object)
    frame = pd.DataFrame(cols) if cols else pd.DataFrame()
    return frame, np.arange(1, len(frame) + 1, dtype=np.int64)


class _TextDatesLoader(yaml.SafeLoader):
    """Safe YAML loader that leaves dates as text, so the settings model validates them (and names the key)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _read_yaml(file: Path, issues: list[Issue]) -> dict[str, Any] | None:
    """A YAML mapping (dates left as text), or None with the issue."""
    label = display_path(file)
    if not file.is_file():
        issues.append(Issue(label, None, None, "file not found"))
        return None
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_TextDatesLoader)  # noqa: S506 (safe loader)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:  # ValueError: e.g. as_of: 2026-02-30
        mark = getattr(exc, "problem_mark", None)
        issues.append(Issue(label, None if mark is None else mark.line + 1, None,
                            "not valid YAML: " + " ".join(str(exc).split())))
        return None
    if not isinstance(data, dict):
        issues.append(Issue(label, None, None, "must be a YAML mapping of keys to values"))
        return None
    return data


def _validate(data: dict[str, Any], model: type[M], label: str, issues: list[Issue]) -> M | None:
    """The settings model of ``data``, or None with one issue per bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or None
            clause = "7.2.2" if key and key.startswith("mass_balance") else None
            value = err.get("input")
            issues.append(Issue(label, None, key, err["msg"], clause,
                                None if isinstance(value, dict) else str(value)))
        return None


def _read_text_table(file: Path) -> pd.DataFrame:
    """Every cell of a CSV as text (empty cells as ""), read with pyarrow; pandas only for its error messages."""
    with file.open("rb") as fh:
        header = fh.readline().decode("utf-8-sig").rstrip("\r\n")
    names = next(csv.reader([header])) if header else []
    if not names:
        raise pd.errors.EmptyDataError("the file has no header row")
    try:
        t = pacsv.read_csv(file, convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        # let pandas read it: it names the line of a malformed row, or reads what pyarrow was too strict for
        return pd.read_csv(file, dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=True,
                           encoding="utf-8")
    return t.to_pandas()


def _record_lines(file: Path, n: int) -> np.ndarray | None:
    """Physical line number of each data record (header = line 1), counting blank lines and cells that
    span lines; None when every record is on its own line with no blank line (then line = row + 2)."""
    data = file.read_bytes()
    if b'"' not in data and b"\n\n" not in data.replace(b"\r\n", b"\n") and not data.startswith(b"\n"):
        return None
    lines = []
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        prev_end = 0
        for k, row in enumerate(reader):
            start = prev_end + 1
            prev_end = reader.line_num
            if k == 0 or not row or all(c == "" for c in row) and len(row) <= 1:
                continue
            lines.append(start)
    return np.asarray(lines[:n]) if len(lines) >= n else None


def input_copies(scenario: Scenario) -> dict[str, Path | str]:
    """The inputs as kept in a result folder: the files, with scenario.yaml pointing at ``../model``,
    so ``gxopt run OUT/inputs/scenario`` reruns exactly the same run."""
    copies: dict[str, Path | str] = dict(input_files(scenario))
    text = (scenario.path / "scenario.yaml").read_text(encoding="utf-8")
    copies["inputs/scenario/scenario.yaml"] = re.sub(r"(?m)^model:.*$", "model: ../model", text, count=1)
    return copies


def input_files(scenario: Scenario) -> dict[str, Path]:
    """Every input file of a run, keyed by where it is kept in a result folder (``inputs/...``)."""
    files = {"inputs/scenario/scenario.yaml": scenario.path / "scenario.yaml",
             "inputs/model/model.yaml": scenario.model.path / "model.yaml"}
    model_tables = {t.name for t in schema.MODEL_TABLES}
    for name, src in sorted(scenario.sources.items()):
        files[f"inputs/{'model' if name in model_tables else 'scenario'}/{src.name}"] = src
    if not scenario.sources:  # a scenario built in memory: whatever CSV files its folders hold
        files |= {f"inputs/model/{t.file}": scenario.model.path / t.file for t in schema.MODEL_TABLES}
        files |= {f"inputs/scenario/{t.file}": scenario.path / t.file for t in schema.SCENARIO_TABLES}
    return {k: v for k, v in files.items() if v.is_file()}


def input_digest(scenario: Scenario) -> str:
    """SHA-256 over every input file of the scenario and its model (audit trail of a run)."""
    h = hashlib.sha256()
    for f in input_files(scenario).values():
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


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
            out[name] = pd.read_csv(__import__("io").StringIO(buf.to_csv(index=False)), keep_default_na=True)
        else:
            raise FileNotFoundError(root / f"{name}.csv")
    return out


def check_out_dir(out: Path, marker: str = RESULT_MARKER, kind: str = "gxopt result folder") -> None:
    """The one guard of every output folder: a non-empty folder without ``marker`` is never overwritten."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).is_file())):
        msg = f"{out}: exists and is not a {kind} (no {marker}); refusing to overwrite it - choose another --out"
        raise OutputError(msg)


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
