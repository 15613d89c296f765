"""Running a what-if in memory: the base read once, patched, parsed and validated like any scenario, every
issue named by its base row and patch key, and a result folder with a re-runnable copy of the inputs.

The base scenario and its plant model are read once by :func:`gxopt.io.read_raw` (CSV, Excel or Parquet,
every record with its place in its file) into :class:`~gxopt.patch.Inputs`; a patch
(:mod:`gxopt.patch`, ``docs/whatif.md``) is applied to those text tables in memory
(:func:`~gxopt.patch_ops.apply`); the result is typed by the one parser of every input
(:func:`gxopt.io.parse_inputs`), checked by :func:`gxopt.checks.check_scenario` and run by
:func:`gxopt.pipeline.run` - no input is written to or read back from a folder. A problem of the patched
scenario is reported with the base file and line (or sheet row, or Parquet record) of its row and the patch
operations that changed it, or with the patch key that added the row (:func:`explain`). A what-if's result
folder keeps the patched inputs as CSV (``inputs/model``, ``inputs/scenario``) and the patch, so
``gxopt run OUT/inputs/scenario`` reruns it exactly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gxopt import schema
from gxopt.checks import RELIED_ON, check_scenario, table_of
from gxopt.errors import InputError, Issue
from gxopt.graph import build_graph
from gxopt.io import RawInputs, RawTable, input_sha256, kept_inputs, parse_inputs, read_raw
from gxopt.resultdir import atomic_dir, check_out_dir, write_results
from gxopt.patch import MODEL_TABLES, ORIGIN, TABLES, Inputs, Patch, load_patch
from gxopt.patch_ops import apply
from gxopt.pipeline import prepare, run
from gxopt.scenario import Scenario, display_path

PATCH_FILE = "patch.yaml"

__all__ = ["Inputs", "Patch", "apply", "apply_patch", "explain", "input_texts", "load_patch", "load_patched",
           "read_base", "resolve_base", "whatif"]


# ----------------------------------------------------------------------------------------------------------
# the base, read once


def resolve_base(base_dir: str | os.PathLike[str]) -> Path:
    """The scenario folder of ``base_dir``: the folder itself, or ``inputs/scenario`` of a result folder."""
    root = Path(base_dir)
    if not (root / "scenario.yaml").is_file() and (root / "inputs" / "scenario" / "scenario.yaml").is_file():
        return root / "inputs" / "scenario"
    return root


def read_base(base_dir: str | os.PathLike[str]) -> Inputs:
    """Read the scenario folder ``base_dir`` (or a result folder's ``inputs/``) and its plant model once, as text.

    Every table may be CSV, Excel or Parquet (:func:`gxopt.io.read_raw`); each row keeps its place in its
    file. Raises InputError when the settings, the model or a table cannot be read at all; every other
    problem of the base is reported when the patched scenario is validated (:func:`load_patched`).
    """
    root = resolve_base(base_dir)
    raw, issues = read_raw(root)
    if raw is None:
        raise InputError(issues)
    labels: dict[str, str] = {}
    tables: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        r = raw.tables.get(name)
        folder = raw.model_dir if name in MODEL_TABLES else raw.root
        labels[name] = r.label if r is not None else f"{display_path(folder)}/{table.file}"
        tables[name] = _text_frame(r, table)
    missing = {n: i for i in issues for n in TABLES
               if n not in raw.tables and i.file == labels[n] and i.row is None and "not found" in i.rule}
    fatal = [i for i in issues if i not in missing.values()]
    if fatal:
        raise InputError(fatal)
    model_yaml = (raw.model_dir / "model.yaml").read_text(encoding="utf-8")  # kept verbatim in result folders
    return Inputs(dict(raw.settings), model_yaml, tables, set(raw.tables), labels, display_path(root),
                  raw.settings_label, raw=dataclasses.replace(raw, tables={}), missing=missing)


def _text_frame(r: RawTable | None, table: schema.Table) -> pd.DataFrame:
    """A table's text cells with the ``ORIGIN`` of each row (its line, sheet row or record in the base)."""
    if r is None:
        frame = pd.DataFrame({c.name: pd.Series([], dtype=object) for c in table.columns if c.required})
        frame[ORIGIN] = pd.Series([], dtype=object)
        return frame
    frame = r.frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(len(frame)) + 2 if r.lines is None else r.lines  # the header is line 1
    frame[ORIGIN] = [str(int(n)) for n in lines]
    return frame


# ----------------------------------------------------------------------------------------------------------
# the patched inputs through the engine, in memory


def patched_raw(inputs: Inputs) -> RawInputs:
    """``inputs`` as :class:`gxopt.io.RawInputs`, for the parser: the base's folders, settings and model,
    the patched tables (record ``i`` numbered ``i + 2``, which :func:`explain` maps back to its origin)."""
    tables = {n: RawTable(inputs.tables[n].drop(columns=ORIGIN), None, inputs.labels[n])
              for n in TABLES if n in inputs.present}
    return dataclasses.replace(inputs.raw, settings=inputs.settings, tables=tables)


def load_patched(inputs: Inputs, patch_label: str = "the patch", *, computed: bool = True) -> Scenario:
    """Parse and validate patched inputs by the rules :func:`gxopt.pipeline.load` applies to a scenario folder;
    on bad inputs raise InputError whose issues name the base row and the patch key (:func:`explain`).

    The rules on computed values (account use, a stated cfp_basis; :func:`gxopt.pipeline.prepare`) run
    when the tables they rely on are sound, as for any scenario; ``computed=False`` leaves them to the run
    that follows (:func:`run_patched`) when nothing else is wrong, so the pools are computed once.
    """
    scenario, issues = parse_inputs(patched_raw(inputs))
    issues = [i for n, i in inputs.missing.items() if n not in inputs.present] + issues
    if scenario is not None:
        issues = issues + check_scenario(scenario, issues, build_graph(scenario.model.nodes, scenario.model.edges))
        if (issues or computed) and not any(table_of(i.file) in RELIED_ON for i in issues):
            try:
                prepare(scenario)
            except InputError as exc:
                issues = issues + exc.issues
    if issues or scenario is None:
        raise InputError([explain(i, inputs, patch_label) for i in issues])
    return scenario


def run_patched(scenario: Scenario, inputs: Inputs, patch_label: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    """:func:`gxopt.pipeline.run` on a validated patched scenario; input issues it finds are explained too."""
    try:
        return run(scenario, **kwargs)
    except InputError as exc:
        raise InputError([explain(i, inputs, patch_label) for i in exc.issues]) from None


def explain(issue: Issue, inputs: Inputs, patch_label: str) -> Issue:
    """An issue of the patched scenario named by its source: the base file and line (sheet row, Parquet record)
    of the row and the patch operations that changed it, or the patch key of a row the patch added."""
    if issue.file == inputs.settings_label:
        return dataclasses.replace(issue, file=f"{inputs.settings_label} with the settings of {patch_label}")
    name = _table_labels(inputs).get(issue.file)
    if name is None:
        return issue
    # one wording for every format; it ends with the base label, so Issue names the place as in the base
    patched = f"{patch_label} applied to {inputs.labels[name]}"  # (CSV line, sheet row, Parquet record as row)
    frame = inputs.tables[name]
    pos = None if issue.row is None else issue.row - 2
    if pos is None or not 0 <= pos < len(frame):
        return dataclasses.replace(issue, file=patched)
    first, *ops = str(frame[ORIGIN].iloc[pos]).split(";")
    rule = issue.rule + (f" (row changed by {', '.join(ops)} of {patch_label})" if ops else "")
    if first.startswith("@"):  # a row the patch added
        return dataclasses.replace(issue, file=f"{patch_label}, {first[1:]}", row=None, rule=rule)
    return dataclasses.replace(issue, file=patched, row=int(first), rule=rule)


def _table_labels(inputs: Inputs) -> dict[str, str]:
    """Every label an issue may give a table by: its base label, and ``folder/<table>.csv`` as the checks name it."""
    raw = inputs.raw
    by = {f"{display_path(raw.model_dir if n in MODEL_TABLES else raw.root)}/{t.file}": n for n, t in TABLES.items()}
    return by | {inputs.labels[n]: n for n in TABLES}


# ----------------------------------------------------------------------------------------------------------
# the re-runnable copy of the patched inputs


def input_texts(inputs: Inputs, note: str = "") -> dict[str, str]:
    """The patched inputs as files: ``model/model.yaml``, ``scenario/scenario.yaml`` (``model: ../model``,
    headed by ``note``) and one CSV per table, keyed by their place under a result folder's ``inputs/`` in the
    order :func:`gxopt.io.input_sha256` hashes them (the digest of the copy is the one its rerun records)."""
    settings = {"model": "../model"} | {k: v for k, v in inputs.settings.items() if k != "model"}
    head = f"# what-if: base {inputs.base} patched by {', '.join(inputs.patches)}\n" if inputs.patches else ""
    head += "".join(f"# {line}\n" for line in note.splitlines())
    scenario_yaml = head + yaml.safe_dump(_plain_dates(settings), sort_keys=False, allow_unicode=True)
    tables = {name: (TABLES[name].file, frame.drop(columns=ORIGIN).to_csv(index=False, lineterminator="\n"))
              for name, frame in inputs.tables.items() if name in inputs.present}
    return kept_inputs(scenario_yaml, inputs.model_yaml, tables)


def _plain_dates(v: Any) -> Any:
    """Settings with ISO date text as dates, so they are written ``2026-04-01`` as in the base, not quoted
    (read back, both are the same text)."""
    if isinstance(v, dict):
        return {k: _plain_dates(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain_dates(x) for x in v]
    if isinstance(v, str) and len(v) == 10 and v[4] == v[7] == "-":
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return v
    return v


def _named(patched: Inputs, p: Patch, base_dir: str | os.PathLike[str]) -> Inputs:
    """Name the what-if after its base and patch (unless the patch sets ``settings.name`` itself)."""
    if isinstance(p.data.get("settings"), dict) and "name" in p.data["settings"]:
        return patched
    base_name = patched.settings.get("name") or resolve_base(base_dir).name
    what = Path(p.label).stem if p.label != "<patch>" else (p.description[:60] or "patch")
    patched.settings = patched.settings | {"name": f"{base_name} (what-if {what})"}
    return patched


def _note(p: Patch, log: list[str]) -> str:
    return "\n".join(([p.description] if p.description else []) + log)


# ----------------------------------------------------------------------------------------------------------
# the two entry points


def apply_patch(base_dir: str | os.PathLike[str], patch: Patch | dict[str, Any] | str | os.PathLike[str],
                out_dir: str | os.PathLike[str], validate: bool = True) -> Path:
    """Write the base scenario with ``patch`` applied to ``out_dir`` and return the patched scenario folder.

    ``out_dir`` gets ``model/``, ``scenario/`` (run it with ``gxopt run OUT_DIR/scenario``) and a copy of the
    patch (``patch.yaml``); it is written to a temporary sibling and swapped in, and a non-empty folder that
    is not a patched scenario is never overwritten. With ``validate`` the patched inputs are validated in
    memory and any problem is raised as :class:`InputError` naming the base row and the patch key (the
    folder is kept to look at).
    """
    p = load_patch(patch)
    patched, log = apply(read_base(base_dir), p)
    patched = _named(patched, p, base_dir)
    out = Path(out_dir)
    check_out_dir(out, PATCH_FILE, "patched scenario folder")
    with atomic_dir(out, PATCH_FILE) as tmp:
        for rel, text in input_texts(patched, _note(p, log)).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8")
        (tmp / PATCH_FILE).write_text(p.text, encoding="utf-8")
    if validate:
        load_patched(patched, p.label)
    return out / "scenario"


def whatif(base_dir: str | os.PathLike[str], patch_path: Patch | dict[str, Any] | str | os.PathLike[str],
           out_dir: str | os.PathLike[str] | None, progress: Callable[[str], None] | None = None):  # type: ignore[no-untyped-def]
    """Run the base scenario with a patch applied; write a normal result folder to ``out_dir``.

    Nothing is written for the inputs: the base is read once, patched, validated and run in memory. The
    result folder's ``inputs/`` is the *patched* model and scenario (``gxopt run OUT/inputs/scenario``
    reruns the what-if exactly, with the same input SHA-256), ``patch.yaml`` is a copy of the patch, and
    ``summary.json`` carries a ``patch`` block (base, patch file, description and one line per operation).
    Returns the :class:`~gxopt.pipeline.RunResult`; ``out_dir=None`` runs without writing.
    """
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    p = load_patch(patch_path)
    say("read the base and apply the patch")
    inputs = read_base(base_dir)
    patched, log = apply(inputs, p)
    patched = _named(patched, p, base_dir)
    t_patch = time.perf_counter() - t0
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        check_out_dir(out)
    say("validate the patched scenario")
    scenario = load_patched(patched, p.label, computed=False)
    t_valid = time.perf_counter() - t0 - t_patch
    result = run_patched(scenario, patched, p.label, progress=progress)
    texts = input_texts(patched, _note(p, log))
    summ = dict(result.summary)
    summ["input_sha256"] = input_sha256(texts)  # of the patched inputs as kept, not of the base files
    summ["patch"] = {"base": inputs.base, "patch": p.label, "description": p.description, "operations": log}
    summ["timings_s"] = {"read_patch": t_patch, "validate": t_valid} | dict(summ["timings_s"])
    if out is None:
        return dataclasses.replace(result, summary=summ)
    say(f"write {out}")
    t0 = time.perf_counter()
    summ["timings_s"]["write"] = 0.0
    copies: dict[str, Path | str] = {f"inputs/{rel}": text for rel, text in texts.items()} | {PATCH_FILE: p.text}
    write_results(result.results.tables(), summ, out, copies=copies)
    summ["timings_s"]["write"] = time.perf_counter() - t0
    kept = {n: out / "inputs" / ("model" if n in MODEL_TABLES else "scenario") / TABLES[n].file
            for n in patched.present}
    scen = dataclasses.replace(scenario, path=out / "inputs" / "scenario", sources=kept,
                               model=dataclasses.replace(scenario.model, path=out / "inputs" / "model"))
    return dataclasses.replace(result, scenario=scen, summary=summ, out_dir=out)
