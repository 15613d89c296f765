"""Reading scenario folders (CSV, Excel or Parquet) into typed inputs; result folders are :mod:`gxopt.resultdir`."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml
from pydantic import BaseModel, ValidationError

from gxopt import schema
from gxopt.errors import Issue
from gxopt.scenario import PlantModel, Scenario, display_path
from gxopt.settings import ModelMeta, ScenarioSettings

M = TypeVar("M", bound=BaseModel)
K = TypeVar("K", Path, str)  # an input kept as a file or as its text


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
    """Every input file of a run, keyed by where it is kept in a result folder (``inputs/...``), in the
    order :func:`input_sha256` hashes them."""
    tables = {name: (src.name, src) for name, src in scenario.sources.items()}
    if not scenario.sources:  # a scenario built in memory: whatever CSV files its folders hold
        tables = {t.name: (t.file, folder / t.file) for folder, group in (
            (scenario.model.path, schema.MODEL_TABLES), (scenario.path, schema.SCENARIO_TABLES)) for t in group}
    files = kept_inputs(scenario.path / "scenario.yaml", scenario.model.path / "model.yaml", tables)
    return {f"inputs/{rel}": f for rel, f in files.items() if f.is_file()}


def kept_inputs(scenario_yaml: K, model_yaml: K, tables: dict[str, tuple[str, K]]) -> dict[str, K]:
    """The inputs of a run as a result folder keeps them under ``inputs/`` (``scenario/scenario.yaml``,
    ``model/model.yaml``, ``model/nodes.csv``, ...), each a file or its text, in the order they are hashed:
    the two YAML files, then the tables by table name (``tables``: name -> (file name, file or text); a
    workbook holding several tables once, at its first table)."""
    model_tables = {t.name for t in schema.MODEL_TABLES}
    files = {"scenario/scenario.yaml": scenario_yaml, "model/model.yaml": model_yaml}
    for name, (file_name, src) in sorted(tables.items()):
        files.setdefault(f"{'model' if name in model_tables else 'scenario'}/{file_name}", src)
    return files


def input_sha256(files: dict[str, Path] | dict[str, str]) -> str:
    """The input SHA-256 a run records (``input_sha256`` of ``summary.json`` and of the ledger's batch):
    SHA-256 over the file name and bytes of every input, in the order of :func:`kept_inputs` (text as UTF-8,
    as it is written). The one definition of the digest; ``gxopt/report/recheck/integrity.py`` recomputes it
    with the standard library alone."""
    h = hashlib.sha256()
    for rel, src in files.items():
        h.update(PurePosixPath(rel).name.encode())
        h.update(src.read_bytes() if isinstance(src, Path) else src.encode("utf-8"))
    return h.hexdigest()


def input_digest(scenario: Scenario) -> str:
    """The input SHA-256 of a scenario read from its folders (the audit trail of a run)."""
    return input_sha256(input_files(scenario))
