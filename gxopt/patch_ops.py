"""Applying a patch to a scenario's text tables in memory: the settings merge and the five table
operations (add, remove, change, scale, shift), each row keeping its origin.

Operations run in the order they are written (tables in the order of the file), each on the table as
the operations before it left it; every problem is collected with its key path, then raised at once.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import ValidationError

from gxopt.errors import InputError
from gxopt.patch import (OPERATIONS, ORIGIN, SHIFT_UNITS, TABLES, TOP_KEYS, Errors, Inputs, Patch, _bad_columns,
                         _cell, _cell_at, _date_columns, _float_columns, _ids, _is_scalar, _mark, _num, _number,
                         _select, _show, _split_item, load_patch)
from gxopt.settings import ScenarioSettings


def apply(inputs: Inputs, patch: Patch | dict[str, Any] | str | os.PathLike[str]) -> tuple[Inputs, list[str]]:
    """Apply ``patch`` to a copy of ``inputs``; return the patched inputs and a log line per operation.

    Operations run in the order they are written (tables in the order of the file). Every problem of the
    patch is collected (an operation that fails is skipped and the rest still checked), then raised as one
    :class:`InputError`.
    """
    p = load_patch(patch)
    out = inputs.copy()
    err = Errors(p)
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


def _apply_settings(out: Inputs, value: Any, err: Errors, log: list[str]) -> None:
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


def _apply_table(out: Inputs, name: str, value: Any, err: Errors, log: list[str]) -> None:
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
            OPS[op](out, name, item, f"{path}[{i}]", err, log)


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


def _op_remove(out: Inputs, name: str, item: Any, path: str, err: Errors, log: list[str]) -> None:
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


def _op_add(out: Inputs, name: str, item: Any, path: str, err: Errors, log: list[str]) -> None:
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


def _op_change(out: Inputs, name: str, item: Any, path: str, err: Errors, log: list[str]) -> None:
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


def _op_scale(out: Inputs, name: str, item: Any, path: str, err: Errors, log: list[str]) -> None:
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
    mask = None if bad else _select(out, name, selector or None, path, err, where=where)
    given = None if mask is None else _given_cells(out, name, mask, cols, lambda v: pd.to_numeric(v, errors="coerce"),
                                                   "scale", "a number", path, err)
    if given is None:
        return
    frame = out.tables[name]
    for c, (_cells, nums) in given.items():
        scaled = nums * factor
        if "min" in bounds:
            scaled = scaled.clip(lower=bounds["min"])
        if "max" in bounds:
            scaled = scaled.clip(upper=bounds["max"])
        frame.loc[scaled.index, c] = [_num(x) for x in scaled]
    _mark(frame, mask, path)
    clip = "".join(f", {b} {v:g}" for b, v in bounds.items())
    log.append(f"{path}: {', '.join(cols)} x {factor:g}{clip} on {int(mask.sum())} row(s) of {name}")


def _op_shift(out: Inputs, name: str, item: Any, path: str, err: Errors, log: list[str]) -> None:
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
    mask = None if bad else _select(out, name, selector or None, path, err, where=where)
    given = None if mask is None else _given_cells(
        out, name, mask, cols, lambda v: pd.to_datetime(v, format="%Y-%m-%d", errors="coerce"), "shift",
        "a date YYYY-MM-DD", path, err)
    if given is None:
        return
    frame = out.tables[name]
    offset = pd.DateOffset(**amount)
    moved: dict[tuple[str, str], str] = {}
    for c, (cells, parsed) in given.items():
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


def _given_cells(out: Inputs, name: str, mask: pd.Series, columns: list[str], parse: Callable[[pd.Series], pd.Series],
                 verb: str, kind: str, path: str, err: Errors) -> dict[str, tuple[pd.Series, pd.Series]] | None:
    """Per column of ``columns`` the table has: its non-empty cells in the selected rows, as text and as ``parse``
    reads them (NaN/NaT = not read). None, with the problem at ``path`` (``cannot VERB column: CELL is not
    KIND``), when a cell is not read: then nothing is changed."""
    frame = out.tables[name]
    given = {}
    for c in columns:
        if c not in frame.columns:
            continue
        cells = frame.loc[mask, c].str.strip()
        parsed = parse(cells[cells != ""])
        unread = parsed.index[parsed.isna()]
        if len(unread):
            err.add(path, f"cannot {verb} {c}: {_cell_at(out, name, frame.at[unread[0], ORIGIN])} is not {kind}",
                    cells[unread[0]])
            return None
        given[c] = (cells, parsed)
    return given


OPS: dict[str, Callable[[Inputs, str, Any, str, Errors, list[str]], None]] = {
    "add": _op_add, "remove": _op_remove, "change": _op_change, "scale": _op_scale, "shift": _op_shift}
