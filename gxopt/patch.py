"""The what-if patch language: a YAML patch read with the line of every key, the text tables it edits
(each row keeping its origin), and how it selects rows and spells cells.

A patch names the tables it changes and, per table, a list of operations (``add``, ``remove``,
``change``, ``scale``, ``shift``; see :mod:`gxopt.patch_ops` and ``docs/whatif.md``)::

    description: EAF project slips a year, production -10 %, demand doubles
    settings: {as_of: 2027-06-30}                       # deep-merged into scenario.yaml
    projects: {remove: [HG-PP-BIOMASS]}
    project_periods: {shift: [{project_id: MN-EAF-CONV, years: 1}]}
    products: {scale: [{column: production_t, factor: 0.9, where: {site: Nishi Works}}]}

Every table of :class:`Inputs` is a frame of text cells (as :func:`gxopt.io.read_raw` read them) with one
extra column, ``ORIGIN``: the row's place in the base file (CSV line, Excel row or Parquet record)
followed by the patch keys that changed it (``"12;orders.scale[0]"``), or ``@`` and the patch key that
added it (``"@orders.add[1]"``). It is how a problem of the patched scenario is named by the base row and
the patch key (:func:`gxopt.whatif.explain`), and it is never written.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gxopt import schema
from gxopt.errors import InputError, Issue, row_word
from gxopt.io import RawInputs
from gxopt.scenario import display_path

TABLES: dict[str, schema.Table] = {t.name: t for t in schema.MODEL_TABLES + schema.SCENARIO_TABLES}
MODEL_TABLES = tuple(t.name for t in schema.MODEL_TABLES)
SCENARIO_TABLES = tuple(t.name for t in schema.SCENARIO_TABLES)
OPERATIONS = ("add", "remove", "change", "scale", "shift")
TOP_KEYS = ("description", "settings") + tuple(TABLES)
ORIGIN = "__gxopt_origin__"  # where each row came from, while patching; never written
SHIFT_UNITS = ("years", "months", "days")


@dataclass
class Inputs:
    """A scenario and its plant model as text, ready to patch: settings as a mapping, tables as text frames.

    ``tables`` holds every input table (an empty frame when the base has none; ``present`` names the
    tables that exist), each with the ``ORIGIN`` column. ``labels`` names each table's base file (or
    sheet) as messages show it; ``raw`` is the base as read (its tables dropped), ``missing`` the
    "file not found" issues of required tables the base lacks (reported unless a patch adds the table).
    """

    settings: dict[str, Any]
    model_yaml: str
    tables: dict[str, pd.DataFrame]
    present: set[str]
    labels: dict[str, str]
    base: str
    settings_label: str
    patches: list[str] = field(default_factory=list)
    raw: RawInputs | None = None
    missing: dict[str, Issue] = field(default_factory=dict)

    def copy(self) -> Inputs:
        """A deep copy (patches never change the inputs they are applied to)."""
        return dataclasses.replace(self, settings=copy.deepcopy(self.settings),
                                   tables={k: v.copy() for k, v in self.tables.items()},
                                   present=set(self.present), labels=dict(self.labels), patches=list(self.patches))


# ----------------------------------------------------------------------------------------------------------
# the patch file


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
    data, text, lines = read_yaml(file, name, "patch")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError([Issue(name, None, None, "a patch must be a YAML mapping (description, settings, "
                                                  "tables)")])
    return Patch(data, text, name, lines)


def read_yaml(file: Path, name: str, what: str) -> tuple[Any, str, dict[str, int]]:
    """A YAML file's data, text and line of every key path (a patch, a sweep grid); a missing file or invalid
    YAML is an :class:`InputError` named ``name`` (``what`` says what kind of file), at the line of the fault."""
    if not file.is_file():
        raise InputError([Issue(name, None, None, f"{what} file not found")])
    try:
        text = file.read_text(encoding="utf-8")
        loader = yaml.SafeLoader(text)  # composed once: the data and the line of every key
        try:
            root = loader.get_single_node()
            data = None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:  # ValueError: an impossible date (2026-02-30)
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError([Issue(name, None if line is None else line + 1, None,
                                f"not valid YAML: {str(exc).splitlines()[0]}")]) from None
    return data, text, _node_lines(root)


def _line_map(text: str) -> dict[str, int]:
    """Line (1-based) of every key path of a YAML text: ``{"projects.remove[0]": 4, ...}``."""
    try:
        return _node_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return {}


def _node_lines(root: yaml.Node | None) -> dict[str, int]:
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


class Errors:
    """Issues found in one YAML file (a patch, a sweep grid); each names the file, the line of its key path
    (or of the nearest enclosing key) and the key path."""

    def __init__(self, patch: Patch | None = None, *, label: str = "", lines: dict[str, int] | None = None,
                 show: Any = None):
        self.label = patch.label if patch is not None else label
        self.lines = patch.lines if patch is not None else (lines or {})
        self.show = show or _show
        self.issues: list[Issue] = []

    def add(self, path: str, rule: str, value: object = None) -> None:
        line = self.lines.get(path)
        p = path
        while line is None and p:  # the nearest enclosing key that has a line
            p = re.sub(r"(\[\d+\]|\.[^.\[]*)$", "", p)
            line = self.lines.get(p)
        self.issues.append(Issue(self.label, line, path or None, rule,
                                 value=None if value is None else self.show(value)))


def _show(v: object) -> str:
    if isinstance(v, (dict, list)):
        return yaml.safe_dump(v, default_flow_style=True, sort_keys=False).strip()
    return str(v)


# ----------------------------------------------------------------------------------------------------------
# rows and cells


def _cell_at(out: Inputs, name: str, origin: str) -> str:
    """Where a cell came from, for a message: its base file and line/row, or the patch key that added it."""
    first = str(origin).split(";")[0]
    if first.startswith("@"):
        return f"the cell added by {first[1:]}"
    return f"the base cell at {out.labels[name]} {row_word(out.labels[name])} {first}"


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


def _select(out: Inputs, name: str, selector: Any, path: str, err: Errors, *, must_match: bool = True,
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


def _split_item(item: Any, path: str, params: tuple[str, ...], err: Errors
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


def _bad_columns(out: Inputs, name: str, values: dict[str, Any], path: str, err: Errors) -> bool:
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


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    x = float(v)
    return x if math.isfinite(x) else None


