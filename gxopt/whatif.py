"""What-ifs: a small YAML patch language applied to a base scenario without copying it.

A patch names the tables it changes and, per table, a list of operations; they are applied in the
order they are written, as pandas edits on the *text* of the base files (model and scenario). The
patched model and scenario are written to a folder and then read, validated and run by the normal
engine (:func:`gxopt.load` / :func:`gxopt.run`), so every input rule of the file contract and of the
guideline applies to a what-if exactly as to any other scenario. The language is documented in
``docs/whatif.md``::

    description: EAF project slips a year, production -10 %, demand doubles
    settings: {as_of: 2027-06-30}                       # deep-merged into scenario.yaml
    projects: {remove: [HG-PP-BIOMASS],
               change: [{project_id: NS-BF2-H2, additionality: technology, verified: true,
                         verifier: X, statement_id: Y}]}
    project_periods: {shift: [{project_id: MN-EAF-CONV, years: 1}],
                      scale: [{column: uncertainty, factor: 1.5, max: 0.99}]}
    products: {scale: [{column: production_t, factor: 0.9, where: {site: Nishi Works}}]}
    orders: {scale: [{columns: [tonnage_t, requested_reps_t], factor: 2.0}]}

Tables: ``nodes``, ``edges``, ``products`` (plant model), ``projects``, ``project_periods``, ``orders``,
``account`` (scenario). Operations: ``add``, ``remove``, ``change``, ``scale`` (float columns), ``shift``
(date columns). A patch that does not fit the base (unknown table, key, column or id, a selector that
matches nothing, a non-numeric factor ...) raises :class:`~gxopt.errors.InputError` whose issues name the
patch file, the line and key path (``projects.remove[0]``) and the rule; a patched scenario that breaks
an engine rule is reported with the base file and line of the row, or the patch key that added it.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from gxopt import schema
from gxopt.errors import InputError, Issue, OutputError
from gxopt.io import atomic_dir
from gxopt.scenario import display_path
from gxopt.settings import ScenarioSettings

TABLES: dict[str, schema.Table] = {t.name: t for t in schema.MODEL_TABLES + schema.SCENARIO_TABLES}
MODEL_TABLES = tuple(t.name for t in schema.MODEL_TABLES)
SCENARIO_TABLES = tuple(t.name for t in schema.SCENARIO_TABLES)
OPERATIONS = ("add", "remove", "change", "scale", "shift")
TOP_KEYS = ("description", "settings") + tuple(TABLES)
PATCH_FILE = "patch.yaml"
ORIGIN = "__gxopt_origin__"  # provenance of each row while patching; never written
SHIFT_UNITS = ("years", "months", "days")

__all__ = ["Inputs", "Patch", "apply", "apply_patch", "load_patch", "load_patched", "read_base", "whatif",
           "write_inputs"]


# ----------------------------------------------------------------------------------------------------------
# the base: every input file as text


@dataclass
class Inputs:
    """The raw inputs of a scenario and its plant model: settings as a mapping, tables as text frames.

    Every table has one extra column (``ORIGIN``) recording where each row came from: its line in the
    base file and the patch operations that changed it, or the patch key that added it. It is used to
    point engine errors back at the base line or the patch key, and is never written.
    """

    settings: dict[str, Any]
    model_yaml: str
    tables: dict[str, pd.DataFrame]
    present: set[str]
    labels: dict[str, str]
    base: str
    settings_label: str
    patches: list[str] = field(default_factory=list)

    def copy(self) -> Inputs:
        """A deep copy (patches never change the inputs they are applied to)."""
        return dataclasses.replace(self, settings=copy.deepcopy(self.settings),
                                   tables={k: v.copy() for k, v in self.tables.items()},
                                   present=set(self.present), labels=dict(self.labels), patches=list(self.patches))


def resolve_base(base_dir: str | os.PathLike[str]) -> Path:
    """The scenario folder of ``base_dir``: the folder itself, or ``inputs/scenario`` of a result folder."""
    root = Path(base_dir)
    if not (root / "scenario.yaml").is_file() and (root / "inputs" / "scenario" / "scenario.yaml").is_file():
        return root / "inputs" / "scenario"
    return root


def read_base(base_dir: str | os.PathLike[str]) -> Inputs:
    """Read the scenario folder ``base_dir`` (or a result folder's ``inputs/``) and its plant model as text.

    Raises InputError when the settings, the model folder or a CSV file cannot be read at all; every
    other problem of the base is left to the engine, which reports it when the patched scenario is read.
    """
    root = resolve_base(base_dir)
    label = display_path(root)
    if not root.is_dir():
        raise InputError([Issue(str(root), None, None, "scenario folder not found")])
    settings_file = root / "scenario.yaml"
    settings = _read_yaml(settings_file)
    model_key = settings.get("model")
    if not isinstance(model_key, str) or not (root / model_key).is_dir():
        raise InputError([Issue(display_path(settings_file), None, "model", "plant model folder not found",
                                value=None if model_key is None else str(model_key))])
    model_dir = (root / model_key).resolve()
    model_file = model_dir / "model.yaml"
    if not model_file.is_file():
        raise InputError([Issue(display_path(model_file), None, None, "file not found")])
    tables: dict[str, pd.DataFrame] = {}
    present: set[str] = set()
    labels: dict[str, str] = {}
    issues: list[Issue] = []
    for name, table in TABLES.items():
        folder = model_dir if name in MODEL_TABLES else root
        file = folder / table.file
        labels[name] = f"{display_path(folder)}/{table.file}"
        if not file.is_file():
            tables[name] = _empty_text(table)
            continue
        try:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            issues.append(Issue(labels[name], None, None, f"cannot be read as CSV: {exc}".splitlines()[0]))
            continue
        frame.columns = [str(c).strip() for c in frame.columns]
        lines = _record_lines(file)
        if lines is None or len(lines) != len(frame):
            lines = [i + 2 for i in range(len(frame))]  # the header is line 1
        frame[ORIGIN] = [str(n) for n in lines]
        tables[name] = frame
        present.add(name)
    if issues:
        raise InputError(issues)
    return Inputs(settings, model_file.read_text(encoding="utf-8"), tables, present, labels, label,
                  display_path(settings_file))


def _record_lines(file: Path) -> list[int] | None:
    """The line each data record of a CSV file starts on, counting blank lines and cells that span lines."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            starts, end = [], reader.line_num
            for row in reader:
                if row:  # csv yields [] for a blank line: no record (the CSV readers skip it too)
                    starts.append(end + 1)
                end = reader.line_num
            return starts
    except (csv.Error, UnicodeDecodeError, OSError):
        return None


def _read_yaml(file: Path) -> dict[str, Any]:
    label = display_path(file)
    if not file.is_file():
        raise InputError([Issue(label, None, None, "file not found")])
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:  # ValueError: an impossible date (2026-02-30)
        raise InputError([Issue(label, None, None, f"not valid YAML: {str(exc).splitlines()[0]}")]) from None
    if not isinstance(data, dict):
        raise InputError([Issue(label, None, None, "must be a YAML mapping of keys to values")])
    return data


def _empty_text(table: schema.Table) -> pd.DataFrame:
    frame = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.columns if c.required})
    frame[ORIGIN] = pd.Series([], dtype=object)
    return frame


# ----------------------------------------------------------------------------------------------------------
# the patch


@dataclass(frozen=True)
class Patch:
    """A parsed patch: its data, its text (kept in result folders), a label for messages and key lines."""

    data: Any
    text: str
    label: str
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def description(self) -> str:
        """The patch's ``description`` (empty when not given)."""
        d = self.data.get("description") if isinstance(self.data, dict) else None
        return str(d).strip() if d else ""


def load_patch(patch: Patch | dict[str, Any] | str | os.PathLike[str], label: str | None = None) -> Patch:
    """Read a patch from a YAML file, or wrap a mapping given in Python.

    Only the YAML itself is checked here; whether the operations fit a base is checked by :func:`apply`.
    """
    if isinstance(patch, Patch):
        return patch
    if isinstance(patch, dict):
        text = yaml.safe_dump(patch, sort_keys=False, allow_unicode=True)
        return Patch(patch, text, label or "<patch>", _line_map(text))
    file = Path(patch)
    name = label or display_path(file)
    if not file.is_file():
        raise InputError([Issue(name, None, None, "patch file not found")])
    try:
        text = file.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:  # ValueError: an impossible date (2026-02-30)
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError([Issue(name, None if line is None else line + 1, None,
                                f"not valid YAML: {str(exc).splitlines()[0]}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError([Issue(name, None, None, "a patch must be a YAML mapping (description, settings, "
                                                  "tables)")])
    return Patch(data, text, name, _line_map(text))


def _line_map(text: str) -> dict[str, int]:
    """Line (1-based) of every key path of a YAML text: ``{"projects.remove[0]": 4, ...}``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else "?"
                sub = f"{path}.{key}" if path else str(key)
                walk(v, sub)
                lines[sub] = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{path}[{i}]")

    if root is not None:
        walk(root, "")
    return lines


class _Errors:
    """Issues found while applying one patch; each names the patch file, line and key path."""

    def __init__(self, patch: Patch):
        self.patch = patch
        self.issues: list[Issue] = []

    def add(self, path: str, rule: str, value: object = None) -> None:
        line = self.patch.lines.get(path)
        if line is None:  # the nearest enclosing key that has a line
            p = path
            while line is None and p:
                p = re.sub(r"(\[\d+\]|\.[^.\[]*)$", "", p)
                line = self.patch.lines.get(p)
        self.issues.append(Issue(self.patch.label, line, path or None, rule,
                                 value=None if value is None else _show(value)))


def _show(v: object) -> str:
    if isinstance(v, (dict, list)):
        return yaml.safe_dump(v, default_flow_style=True, sort_keys=False).strip()
    return str(v)


# ----------------------------------------------------------------------------------------------------------
# applying a patch


def apply(inputs: Inputs, patch: Patch | dict[str, Any] | str | os.PathLike[str]) -> tuple[Inputs, list[str]]:
    """Apply ``patch`` to a copy of ``inputs``; return the patched inputs and a log line per operation.

    Operations run in the order they are written (tables in the order of the file). Every problem of the
    patch is collected (an operation that fails is skipped and the rest still checked), then raised as one
    :class:`InputError`.
    """
    p = load_patch(patch)
    out = inputs.copy()
    err = _Errors(p)
    log: list[str] = []
    data = p.data
    for key, value in data.items():
        if key == "description":
            if value is not None and not isinstance(value, str):
                err.add("description", "must be text")
        elif key == "settings":
            _apply_settings(out, value, err, log)
        elif key in TABLES:
            _apply_table(out, str(key), value, err, log)
        else:
            err.add(str(key), "unknown table or key; a patch may hold: " + ", ".join(TOP_KEYS), key)
    if err.issues:
        raise InputError(err.issues)
    out.patches.append(p.label)
    return out, log


def _apply_settings(out: Inputs, value: Any, err: _Errors, log: list[str]) -> None:
    if not isinstance(value, dict):
        err.add("settings", "must be a mapping of scenario.yaml keys to values", value)
        return
    allowed = [k for k in ScenarioSettings.model_fields if k != "model"]
    ok = True
    for k in value:
        if k == "model":
            err.add("settings.model", "the plant model cannot be swapped by a patch; change it with the nodes, "
                                      "edges and products tables")
            ok = False
        elif k not in allowed:
            err.add(f"settings.{k}", "unknown setting; scenario.yaml keys are: " + ", ".join(allowed), k)
            ok = False
    value = {k: v for k, v in value.items() if k in allowed}
    merged = _deep_merge(out.settings, value)
    try:
        ScenarioSettings.model_validate(out.settings)
        base_ok = True
    except ValidationError:
        base_ok = False  # the base's own problem: the engine reports it against the base file
    if base_ok:
        try:
            ScenarioSettings.model_validate(merged)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(x) for x in e["loc"])
                err.add("settings" + (f".{loc}" if loc else ""), e["msg"],
                        None if isinstance(e.get("input"), dict) else e.get("input"))
            return
    if not ok:
        return
    out.settings = merged
    log.append("settings: " + ", ".join(f"{k} = {_show(v)}" for k, v in _flatten(value).items()))


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _deep_merge(merged[k], v)
        else:
            merged[k] = copy.deepcopy(v)
    return merged


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            flat |= _flatten(v, f"{prefix}{k}.")
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def _apply_table(out: Inputs, name: str, value: Any, err: _Errors, log: list[str]) -> None:
    if not isinstance(value, dict):
        err.add(name, "must be a mapping of operations (" + ", ".join(OPERATIONS) + ") to lists", value)
        return
    for op, items in value.items():
        path = f"{name}.{op}"
        if op not in OPERATIONS:
            err.add(path, f"unknown operation; {name} takes: " + ", ".join(OPERATIONS), op)
            continue
        if op == "shift" and not _date_columns(name):
            err.add(path, f"{name} has no date column to shift")
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            items = [items]  # a single item may be written without the list
        for i, item in enumerate(items):
            _OPS[op](out, name, item, f"{path}[{i}]", err, log)


# --- helpers on text tables -------------------------------------------------------------------------------


def _known_columns(out: Inputs, name: str) -> list[str]:
    """Columns a patch may name: the schema's and any extra column the base file already has."""
    cols = [c.name for c in TABLES[name].columns]
    cols += [c for c in out.tables[name].columns if c not in cols and c != ORIGIN]
    return cols


def _kind(name: str, col: str) -> str:
    try:
        return TABLES[name].column(col).kind
    except KeyError:
        return "text"


def _date_columns(name: str) -> list[str]:
    return [c.name for c in TABLES[name].columns if c.kind == "date"]


def _float_columns(name: str) -> list[str]:
    return [c.name for c in TABLES[name].columns if c.kind == "float"]


def _cell(value: Any) -> str:
    """A YAML value as the text of a CSV cell (the file contract's spelling)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, float):
        return _num(value)
    return str(value).strip()


def _num(x: float) -> str:
    """A float as a cell: 12 significant digits (no 0.30000000000000004), integers without '.0'."""
    return f"{x:.12g}"


def _norm(kind: str, value: Any) -> Any:
    """A value (cell text or YAML value) in the form selectors compare: numbers as floats, dates ISO."""
    if value is None:
        return ""
    if kind == "float":
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value).strip()
    if kind == "bool":
        return _cell(value).lower()
    return _cell(value)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool, dt.date))


def _select(out: Inputs, name: str, selector: Any, path: str, err: _Errors, *, must_match: bool = True,
            where: tuple[str, ...] = ()) -> pd.Series | None:
    """Rows matching ``selector`` ({column: value or [values]}; all must hold); None after an error.

    ``where`` names the selector columns that were written under ``where:`` (for the key path of errors).
    """
    frame = out.tables[name]
    if selector is None:
        return pd.Series(True, index=frame.index)
    if not isinstance(selector, dict):
        err.add(path, "a selector must be a mapping of column to value (or list of values)", selector)
        return None
    known = _known_columns(out, name)
    mask = pd.Series(True, index=frame.index)
    for col, want in selector.items():
        key = f"{path}.where.{col}" if col in where else f"{path}.{col}"
        if col not in known:
            err.add(key, f"unknown column of {name}; known: " + ", ".join(known), col)
            return None
        wants = want if isinstance(want, list) else [want]
        if not all(_is_scalar(w) for w in wants):
            err.add(key, "must be a value or a list of values", want)
            return None
        kind = _kind(name, col)
        targets = {_norm(kind, w) for w in wants}
        cells = frame[col] if col in frame.columns else pd.Series("", index=frame.index)
        mask &= cells.map(lambda s, k=kind: _norm(k, s)).isin(targets)
    if must_match and not mask.any():
        err.add(path, f"matches no row of {name}", selector)
        return None
    return mask


def _mark(frame: pd.DataFrame, mask: pd.Series, path: str) -> None:
    frame.loc[mask, ORIGIN] = frame.loc[mask, ORIGIN] + ";" + path


def _ids(frame: pd.DataFrame, name: str, mask: pd.Series) -> str:
    key = list(TABLES[name].key)
    rows = frame.loc[mask, [k for k in key if k in frame.columns]]
    shown = ["/".join(r) for r in rows.astype(str).itertuples(index=False)]
    return ", ".join(shown[:6]) + (f", ... ({len(shown)} rows)" if len(shown) > 6 else "")


def _split_item(item: Any, path: str, params: tuple[str, ...], err: _Errors
                ) -> tuple[dict[str, Any], dict[str, Any], tuple[str, ...]] | None:
    """Split an operation item into its parameters, its row selector (``where:`` plus inline columns) and the
    names of the selector columns written under ``where:``."""
    if not isinstance(item, dict):
        err.add(path, "must be a mapping", item)
        return None
    args = {k: v for k, v in item.items() if k in params}
    selector = {k: v for k, v in item.items() if k not in params and k != "where"}
    where = item.get("where")
    if where is not None:
        if not isinstance(where, dict):
            err.add(f"{path}.where", "must be a mapping of column to value (or list of values)", where)
            return None
        overlap = set(where) & set(selector)
        if overlap:
            err.add(f"{path}.where", "a column is selected twice: " + ", ".join(sorted(overlap)))
            return None
        selector |= where
    return args, selector, tuple(where or ())


def _cascade_remove(out: Inputs, name: str, removed: pd.DataFrame) -> list[str]:
    """Rows that only make sense with the removed ones go too: periods and account rows of a removed
    project, orders of a removed product, edges of a removed node."""
    notes = []
    links = {"projects": [("project_periods", "project_id", "project_id"), ("account", "project_id", "project_id")],
             "products": [("orders", "product_id", "product_id")],
             "nodes": [("edges", "node_id", "source"), ("edges", "node_id", "target")]}
    for child, key, col in links.get(name, []):
        frame = out.tables[child]
        if col not in frame.columns or key not in removed.columns:
            continue
        gone = frame[col].str.strip().isin(set(removed[key].str.strip()))
        if gone.any():
            out.tables[child] = frame[~gone].reset_index(drop=True)
            notes.append(f"{int(gone.sum())} row(s) of {child} with that {col}")
    return notes


# --- the operations ---------------------------------------------------------------------------------------


def _op_remove(out: Inputs, name: str, item: Any, path: str, err: _Errors, log: list[str]) -> None:
    table = TABLES[name]
    if _is_scalar(item) and not isinstance(item, bool) and item is not None:
        if len(table.key) != 1:
            err.add(path, f"{name} rows are identified by {', '.join(table.key)}: give a mapping "
                          f"(e.g. {{{', '.join(f'{k}: ...' for k in table.key)}}})", item)
            return
        selector: Any = {table.key[0]: item}
    else:
        split = _split_item(item, path, (), err)
        if split is None:
            return
        selector, where = split[1], split[2]
        if not selector:
            err.add(path, "names no row: give the id or a mapping of column to value")
            return
    mask = _select(out, name, selector, path, err, where=where if isinstance(item, dict) else ())
    if mask is None:
        return
    frame = out.tables[name]
    ids = _ids(frame, name, mask)
    removed = frame[mask]
    out.tables[name] = frame[~mask].reset_index(drop=True)
    notes = _cascade_remove(out, name, removed)
    log.append(f"{path}: removed {len(removed)} row(s) of {name} ({ids})" + ("; with them " + "; ".join(notes)
                                                                             if notes else ""))


def _bad_columns(out: Inputs, name: str, values: dict[str, Any], path: str, err: _Errors) -> bool:
    """Report every unknown column and every non-scalar value of ``values``; True when there was any."""
    known = _known_columns(out, name)
    bad = False
    for col, v in values.items():
        if col not in known:
            err.add(f"{path}.{col}", f"unknown column of {name}; known: " + ", ".join(known), col)
            bad = True
        elif not _is_scalar(v):
            err.add(f"{path}.{col}", "must be a single value", v)
            bad = True
    return bad


def _op_add(out: Inputs, name: str, item: Any, path: str, err: _Errors, log: list[str]) -> None:
    table = TABLES[name]
    if not isinstance(item, dict) or not item:
        err.add(path, f"must be a mapping of {name} columns to values (one new row)", item)
        return
    bad = _bad_columns(out, name, item, path, err)
    missing = [c.name for c in table.columns if c.required and not c.nullable and c.name not in item]
    if missing:
        err.add(path, f"a new {name} row needs {', '.join(missing)}")
        bad = True
    if bad:
        return
    frame = out.tables[name]
    if table.key:
        sel = {k: item[k] for k in table.key}
        hit = _select(out, name, sel, path, err, must_match=False)
        if hit is not None and hit.any():
            err.add(path, f"{name} already has a row with {', '.join(f'{k}={_cell(v)}' for k, v in sel.items())}; "
                          "use change to edit it", _cell(item[table.key[0]]))
            return
    row = {c: "" for c in frame.columns}
    row |= {c: _cell(v) for c, v in item.items()}
    row[ORIGIN] = "@" + path
    new = pd.DataFrame([row], columns=list(dict.fromkeys([*frame.columns, *row])))
    out.tables[name] = new if frame.empty else pd.concat([frame, new], ignore_index=True).fillna("")
    out.present.add(name)
    log.append(f"{path}: added {name} row " + "/".join(_cell(item[k]) for k in table.key))


def _op_change(out: Inputs, name: str, item: Any, path: str, err: _Errors, log: list[str]) -> None:
    table = TABLES[name]
    if not isinstance(item, dict):
        err.add(path, "must be a mapping: the row's id column(s) and the new values, or where: and set:", item)
        return
    if "where" in item or "set" in item:
        extra = [k for k in item if k not in ("where", "set")]
        if extra:
            err.add(f"{path}.{extra[0]}", "with where: and set:, put every column under one of them", extra[0])
            return
        selector, values = item.get("where"), item.get("set")
        if not isinstance(values, dict) or not values:
            err.add(f"{path}.set", "must be a non-empty mapping of column to new value", values)
            return
        if selector is None:
            err.add(f"{path}.where", "required with set: (use where: {} to change every row)")
            return
    else:
        missing = [k for k in table.key if k not in item]
        if missing:
            err.add(path, f"name the row by its id column(s) {', '.join(table.key)} (missing: "
                          f"{', '.join(missing)}), or use where: and set:")
            return
        selector = {k: item[k] for k in table.key}
        values = {k: v for k, v in item.items() if k not in table.key}
        if not values:
            err.add(path, "nothing to change: give at least one column with its new value")
            return
    if _bad_columns(out, name, values, path, err):
        return
    mask = _select(out, name, selector, path, err, where=tuple(selector) if "where" in item else ())
    if mask is None:
        return
    frame = out.tables[name]
    for col, v in values.items():
        if col not in frame.columns:
            frame[col] = ""
        frame.loc[mask, col] = _cell(v)
    _mark(frame, mask, path)
    log.append(f"{path}: set {', '.join(f'{c} = {_cell(v)!r}' for c, v in values.items())} on {int(mask.sum())} "
               f"row(s) of {name} ({_ids(frame, name, mask)})")


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def _op_scale(out: Inputs, name: str, item: Any, path: str, err: _Errors, log: list[str]) -> None:
    split = _split_item(item, path, ("column", "columns", "factor", "min", "max"), err)
    if split is None:
        return
    args, selector, where = split
    cols = args.get("columns", args.get("column"))
    if "column" in args and "columns" in args:
        err.add(path, "give column or columns, not both")
        return
    if cols is None:
        err.add(path, "names no column: give column: (or columns: [...])")
        return
    cols = cols if isinstance(cols, list) else [cols]
    floats = _float_columns(name)
    bad = False
    for c in cols:
        if c not in floats:
            err.add(f"{path}.column{'s' if 'columns' in args else ''}",
                    f"not a numeric column of {name}; scale one of: " + ", ".join(floats), c)
            bad = True
    factor = _number(args.get("factor"))
    if factor is None or factor < 0:
        err.add(f"{path}.factor", "must be a number at least 0" if "factor" in args else "required: the factor "
                                                                                        "to multiply by",
                args.get("factor"))
        bad = True
    bounds = {}
    for b in ("min", "max"):
        if b in args:
            x = _number(args[b])
            if x is None:
                err.add(f"{path}.{b}", "must be a number", args[b])
                bad = True
            bounds[b] = x
    if bad:
        return
    mask = _select(out, name, selector or None, path, err, where=where)
    if mask is None:
        return
    frame = out.tables[name]
    for c in cols:
        if c not in frame.columns:
            continue
        cells = frame.loc[mask, c].str.strip()
        given = cells != ""
        nums = pd.to_numeric(cells[given], errors="coerce")
        if nums.isna().any():
            line = frame.loc[nums[nums.isna()].index[0], ORIGIN].split(";")[0]
            err.add(path, f"cannot scale {c}: the base cell at {TABLES[name].file} line {line} is not a number",
                    cells[nums[nums.isna()].index[0]])
            return
        scaled = nums * factor
        if "min" in bounds:
            scaled = scaled.clip(lower=bounds["min"])
        if "max" in bounds:
            scaled = scaled.clip(upper=bounds["max"])
        frame.loc[scaled.index, c] = [_num(x) for x in scaled]
    _mark(frame, mask, path)
    clip = "".join(f", {b} {v:g}" for b, v in bounds.items())
    log.append(f"{path}: {', '.join(cols)} x {factor:g}{clip} on {int(mask.sum())} row(s) of {name}")


def _op_shift(out: Inputs, name: str, item: Any, path: str, err: _Errors, log: list[str]) -> None:
    split = _split_item(item, path, (*SHIFT_UNITS, "columns", "column"), err)
    if split is None:
        return
    args, selector, where = split
    amount = {}
    bad = False
    for u in SHIFT_UNITS:
        if u in args:
            v = args[u]
            if isinstance(v, bool) or not isinstance(v, int):
                err.add(f"{path}.{u}", "must be a whole number (negative = earlier)", v)
                bad = True
            else:
                amount[u] = v
    if not amount and not bad:
        err.add(path, "give years:, months: and/or days: to shift by")
        bad = True
    dates = _date_columns(name)
    cols = args.get("columns", args.get("column", dates))
    cols = cols if isinstance(cols, list) else [cols]
    for c in cols:
        if c not in dates:
            err.add(f"{path}.columns", f"not a date column of {name}; shift one of: " + ", ".join(dates), c)
            bad = True
    if bad:
        return
    mask = _select(out, name, selector or None, path, err, where=where)
    if mask is None:
        return
    frame = out.tables[name]
    offset = pd.DateOffset(**amount)
    moved: dict[tuple[str, str], str] = {}
    for c in cols:
        if c not in frame.columns:
            continue
        cells = frame.loc[mask, c].str.strip()
        given = cells != ""
        parsed = pd.to_datetime(cells[given], format="%Y-%m-%d", errors="coerce")
        if parsed.isna().any():
            i = parsed[parsed.isna()].index[0]
            err.add(path, f"cannot shift {c}: the base cell at {TABLES[name].file} line "
                          f"{frame.loc[i, ORIGIN].split(';')[0]} is not a date YYYY-MM-DD", cells[i])
            return
        shifted = parsed + offset
        if "days" not in amount:  # the last day of a month stays the last day (a period ending 09-30 + 3 months
            ends = parsed.dt.is_month_end  # ends 12-31, not 12-30)
            shifted[ends] = shifted[ends] + pd.offsets.MonthEnd(0)
        new = shifted.dt.strftime("%Y-%m-%d")
        if name == "project_periods" and c == "period_end":
            for i in new.index:
                moved[(frame.at[i, "project_id"].strip(), cells[i])] = new[i]
        frame.loc[new.index, c] = new
    _mark(frame, mask, path)
    note = ""
    if moved and "period_end" in out.tables["account"].columns:
        acc = out.tables["account"]
        keys = list(zip(acc["project_id"].str.strip(), acc["period_end"].str.strip()))
        hit = [i for i, k in zip(acc.index, keys) if k in moved]
        for i, k in zip(acc.index, keys):
            if k in moved:
                acc.at[i, "period_end"] = moved[k]
        if hit:
            _mark(acc, acc.index.isin(hit), path)
            note = f"; with them {len(hit)} account row(s) of those pools"
    by = " ".join(f"{v:+d} {u}" for u, v in amount.items())
    log.append(f"{path}: {', '.join(cols)} {by} on {int(mask.sum())} row(s) of {name} ({_ids(frame, name, mask)})"
               + note)


_OPS: dict[str, Callable[[Inputs, str, Any, str, _Errors, list[str]], None]] = {
    "add": _op_add, "remove": _op_remove, "change": _op_change, "scale": _op_scale, "shift": _op_shift}


# ----------------------------------------------------------------------------------------------------------
# writing the patched inputs and reading them through the engine


def write_inputs(inputs: Inputs, folder: str | os.PathLike[str], note: str = "") -> Path:
    """Write ``inputs`` as ``folder/model`` and ``folder/scenario`` (``model: ../model``); return the
    scenario folder. This is the layout of a result folder's ``inputs/``."""
    root = Path(folder)
    model, scen = root / "model", root / "scenario"
    model.mkdir(parents=True, exist_ok=True)
    scen.mkdir(parents=True, exist_ok=True)
    (model / "model.yaml").write_text(inputs.model_yaml, encoding="utf-8")
    settings = {"model": "../model"} | {k: v for k, v in inputs.settings.items() if k != "model"}
    head = ""
    if inputs.patches:
        head = f"# what-if: base {inputs.base} patched by {', '.join(inputs.patches)}\n"
    if note:
        head += "".join(f"# {line}\n" for line in note.splitlines())
    (scen / "scenario.yaml").write_text(head + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True),
                                        encoding="utf-8")
    for name, frame in inputs.tables.items():
        if name not in inputs.present:
            continue
        target = (model if name in MODEL_TABLES else scen) / TABLES[name].file
        frame.drop(columns=ORIGIN).to_csv(target, index=False, lineterminator="\n")
    return scen


def load_patched(inputs: Inputs, scenario_dir: str | os.PathLike[str], patch_label: str = "the patch"):  # type: ignore[no-untyped-def]
    """:func:`gxopt.load` the written patched scenario; on bad inputs, re-raise the issues pointing at the
    base file and line of each row (and the patch operations that changed it) or the patch key that added it.
    """
    from gxopt.pipeline import load

    try:
        return load(scenario_dir)
    except InputError as exc:
        raise InputError([explain(issue, inputs, Path(scenario_dir), patch_label) for issue in exc.issues]) from None


def explain(issue: Issue, inputs: Inputs, scenario_dir: Path, patch_label: str) -> Issue:
    """Map an engine issue on a written patched file back to the base file/line or to the patch key."""
    scen = Path(scenario_dir)
    model = (scen / ".." / "model").resolve()
    written = {f"{display_path(model if n in MODEL_TABLES else scen)}/{t.file}": n for n, t in TABLES.items()}
    if issue.file == display_path(scen / "scenario.yaml"):
        return dataclasses.replace(issue, file=f"{inputs.settings_label} with the settings of {patch_label}")
    name = written.get(issue.file)
    if name is None:
        return issue
    base_file = inputs.labels[name]
    if issue.row is None:
        return dataclasses.replace(issue, file=f"{base_file} as patched by {patch_label}")
    frame = inputs.tables[name]
    pos = issue.row - 2
    if not 0 <= pos < len(frame):
        return dataclasses.replace(issue, file=f"{base_file} as patched by {patch_label}")
    origin = str(frame[ORIGIN].iloc[pos])
    if origin.startswith("@"):  # a row the patch added
        return dataclasses.replace(issue, file=f"{patch_label}, {origin[1:]}", row=None)
    line, *ops = origin.split(";")
    rule = issue.rule + (f" (row changed by {', '.join(ops)} of {patch_label})" if ops else "")
    return dataclasses.replace(issue, file=f"{base_file} as patched by {patch_label}", row=int(line), rule=rule)


def _check_out(out: Path, marker: str, kind: str) -> None:
    """Fail early (before any work) on an output folder :func:`gxopt.io.atomic_dir` would refuse."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).exists())):
        msg = (f"{out}: exists and is not a {kind} (no {marker}); refusing to overwrite it - choose another --out")
        raise OutputError(msg)


def apply_patch(base_dir: str | os.PathLike[str], patch: Patch | dict[str, Any] | str | os.PathLike[str],
                out_dir: str | os.PathLike[str], validate: bool = True) -> Path:
    """Write the base scenario with ``patch`` applied to ``out_dir`` and return the patched scenario folder.

    ``out_dir`` gets ``model/``, ``scenario/`` (run it with ``gxopt run OUT_DIR/scenario``) and a copy of the
    patch (``patch.yaml``); it is written to a temporary sibling and swapped in, and a non-empty folder that
    is not a patched scenario is never overwritten. With ``validate`` the engine reads the result and any
    problem is raised as :class:`InputError` pointing at the base line or the patch key.
    """
    p = load_patch(patch)
    inputs = read_base(base_dir)
    patched, log = apply(inputs, p)
    patched = _named(patched, p, base_dir)
    out = Path(out_dir)
    _check_out(out, PATCH_FILE, "patched scenario folder")
    with atomic_dir(out, PATCH_FILE) as tmp:
        write_inputs(patched, tmp, _note(p, log))
        (tmp / PATCH_FILE).write_text(p.text, encoding="utf-8")
    if validate:
        load_patched(patched, out / "scenario", p.label)
    return out / "scenario"


def _named(patched: Inputs, p: Patch, base_dir: str | os.PathLike[str]) -> Inputs:
    """Name the what-if after its base and patch (unless the patch sets ``settings.name`` itself)."""
    if isinstance(p.data.get("settings"), dict) and "name" in p.data["settings"]:
        return patched
    base_name = patched.settings.get("name") or resolve_base(base_dir).name
    what = Path(p.label).stem if p.label != "<patch>" else (p.description[:60] or "patch")
    patched.settings = patched.settings | {"name": f"{base_name} (what-if {what})"}
    return patched


def _note(p: Patch, log: list[str]) -> str:
    lines = [p.description] if p.description else []
    return "\n".join(lines + log)


def whatif(base_dir: str | os.PathLike[str], patch_path: Patch | dict[str, Any] | str | os.PathLike[str],
           out_dir: str | os.PathLike[str] | None, progress: Callable[[str], None] | None = None):  # type: ignore[no-untyped-def]
    """Run the base scenario with a patch applied; write a normal result folder to ``out_dir``.

    The result folder's ``inputs/`` is the *patched* model and scenario (``gxopt run OUT/inputs/scenario``
    reruns the what-if exactly), ``patch.yaml`` is a copy of the patch, and ``summary.json`` carries a
    ``patch`` block (base, patch file, description and one line per operation). Returns the
    :class:`~gxopt.pipeline.RunResult`; ``out_dir=None`` runs without writing.
    """
    from gxopt.io import input_copies, write_results
    from gxopt.pipeline import run

    say = progress or (lambda _m: None)
    p = load_patch(patch_path)
    say("read the base and apply the patch")
    inputs = read_base(base_dir)
    patched, log = apply(inputs, p)
    patched = _named(patched, p, base_dir)
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        from gxopt.io import RESULT_MARKER

        _check_out(out, RESULT_MARKER, "gxopt result folder")
    with tempfile.TemporaryDirectory(prefix="gxopt-whatif-") as tmp:
        scen_dir = write_inputs(patched, tmp, _note(p, log))
        scenario = load_patched(patched, scen_dir, p.label)
        result = run(scenario, progress=progress)
        summ = dict(result.summary)
        summ["patch"] = {"base": inputs.base, "patch": p.label, "description": p.description, "operations": log}
        if out is None:
            return dataclasses.replace(result, summary=summ)
        say(f"write {out}")
        t0 = time.perf_counter()
        summ["timings_s"] = dict(summ["timings_s"]) | {"write": 0.0}
        copies = input_copies(scenario) | {PATCH_FILE: p.text}
        write_results(result.results.tables(), summ, out, copies=copies)
        summ["timings_s"]["write"] = time.perf_counter() - t0
    kept = out / "inputs" / "scenario"
    scen = dataclasses.replace(scenario, path=kept, model=dataclasses.replace(scenario.model, path=out / "inputs" / "model"))
    return dataclasses.replace(result, scenario=scen, summary=summ, out_dir=out)
