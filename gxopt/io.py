"""Reading scenario folders and writing result folders; the only module that touches the file system."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import tempfile
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


def read_scenario(path: str | os.PathLike[str]) -> tuple[Scenario | None, list[Issue]]:
    """Read a scenario folder and its plant model; return the typed scenario and every issue found.

    The scenario is None when the folder or its settings cannot be read at all. Cross-table rules
    are not checked here (see :func:`gxopt.checks.check_scenario`).
    """
    root = Path(path)
    issues: list[Issue] = []
    if not root.is_dir():
        return None, [Issue(str(root), None, None, "scenario folder not found")]
    settings = _read_yaml_model(root / "scenario.yaml", ScenarioSettings, issues)
    if settings is None:
        return None, issues
    model_dir = (root / settings.model).resolve()
    if not model_dir.is_dir():
        issues.append(Issue(str(root / "scenario.yaml"), None, "model", "plant model folder not found",
                            value=settings.model))
        return None, issues
    meta = _read_yaml_model(model_dir / "model.yaml", ModelMeta, issues)
    model_label = display_path(model_dir)
    nodes, edges, products = (_read_csv(model_dir, t, model_label, issues) for t in schema.MODEL_TABLES)
    projects, periods, orders, account = (_read_csv(root, t, display_path(root), issues) for t in schema.SCENARIO_TABLES)
    if meta is None:
        return None, issues
    model = PlantModel(model_dir, meta, nodes, edges, products)
    return Scenario(root, settings, model, projects, periods, orders, account), issues


class _TextDatesLoader(yaml.SafeLoader):
    """Safe YAML loader that leaves dates as text, so the settings model validates them (and names the key)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _read_yaml_model(file: Path, model: type[M], issues: list[Issue]) -> M | None:
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


def _read_csv(folder: Path, table: schema.Table, folder_label: str,
              issues: list[Issue]) -> pd.DataFrame:
    file = folder / table.file
    label = f"{folder_label}/{table.file}"
    if not file.is_file():
        if not table.optional_file:
            issues.append(Issue(label, None, None, "file not found"))
        return schema.empty_frame(table)
    try:
        raw = _read_text_table(file)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        issues.append(Issue(label, None, None, f"cannot be read as CSV: {exc}".splitlines()[0]))
        return schema.empty_frame(table)
    typed, found = schema.parse_table(raw, table, label, lines=_record_lines(file, len(raw)))
    issues.extend(found)
    return typed


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


def write_results(tables: dict[str, pd.DataFrame], summary: dict[str, Any], out_dir: str | os.PathLike[str],
                  copies: dict[str, Path | str] | None = None) -> Path:
    """Write result tables, ``summary.json`` and ``copies`` (relative name -> file) to ``out_dir`` at once or not at all.

    Everything is written into a temporary sibling folder first and then swapped in, so a crash
    leaves either the previous results or the new ones, never a mix. A non-empty folder that is not
    a gxopt result folder is never overwritten.
    """
    with atomic_dir(out_dir) as tmp:
        for name, frame in tables.items():
            _to_csv(frame, tmp / f"{name}.csv")
        for rel, src in (copies or {}).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, str):
                (tmp / rel).write_text(src, encoding="utf-8")
            else:
                shutil.copyfile(src, tmp / rel)
        (tmp / RESULT_MARKER).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return Path(out_dir)


@contextlib.contextmanager
def atomic_dir(out_dir: str | os.PathLike[str], marker: str = RESULT_MARKER) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; on success it replaces ``out_dir`` in one rename.

    A crash leaves either the previous folder or the new one, never a mix. A non-empty existing folder
    without ``marker`` (not written by gxopt) is never overwritten: :class:`OutputError`. The new
    folder must contain ``marker`` when the block ends.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).is_file())):
        msg = (f"{out}: exists and is not a gxopt result folder (no {marker}); "
               "refusing to overwrite it - choose another --out")
        raise OutputError(msg)
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


def _to_csv(frame: pd.DataFrame, file: Path) -> None:
    """Write a result table: floats to 6 decimals, dates as YYYY-MM-DD, booleans as true/false."""
    cols = {}
    for c in frame.columns:
        v = frame[c]
        if pd.api.types.is_datetime64_any_dtype(v):
            cols[c] = pa.array(v.dt.date, type=pa.date32(), from_pandas=True)
        elif pd.api.types.is_float_dtype(v):
            cols[c] = pa.array(np.round(v.to_numpy(float), 6) + 0.0, from_pandas=True)  # + 0.0: no "-0"
        elif pd.api.types.is_bool_dtype(v) or pd.api.types.is_integer_dtype(v):
            cols[c] = pa.array(v.to_numpy(), from_pandas=True)
        else:
            cols[c] = pa.array(v.astype(object).where(v.notna(), None).astype(str).where(v.notna(), None),
                               type=pa.string(), from_pandas=True)
    pacsv.write_csv(pa.table(cols) if cols else pa.table({}), file,
                    write_options=pacsv.WriteOptions(quoting_style="needed"))
