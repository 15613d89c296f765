"""Sweeps: hundreds to thousands of what-ifs as Dask tasks, gathered into one Parquet table.

A grid file (YAML, see ``docs/whatif.md``) gives *knobs* - REP uncertainty scale, production scale,
demand scale, premium scale, project slip in years, or a knob of your own defined as a patch template -
and the cases to run: the cartesian product of the ``grid`` lists and ``monte_carlo`` draws (n draws from
uniform / normal / triangular / choice distributions with a seed). Every knob value becomes a what-if patch
(:mod:`gxopt.patch`), so every case is validated and verified by the normal engine.

The base scenario is read once on the client (as text, with the origin of every row) and shipped to the
workers in memory, so workers need gxopt installed but no shared file system. Each task applies its
patches to those tables in memory, parses and validates the result like any scenario
(:func:`gxopt.whatif.load_patched`), runs :func:`gxopt.run` (no result folder) and returns a compact row:
case id, knob values, objective, REPs used, GX tonnage, revenue, orders served, GX tonnage per product and
the served orders. Nothing is written to disk for a case.

By default the tasks run on a ``distributed.LocalCluster`` on this machine (2 worker processes, 1 thread
each); ``scheduler="tcp://host:8786"`` runs them on an existing cluster (``distributed.Client(address)``)
with no other change; ``scheduler="serial"`` runs them in this process without Dask.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import re
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gxopt.errors import GxoptError, InputError, Issue, OutputError, SolverError, VerificationError
from gxopt.scenario import display_path
from gxopt.resultdir import atomic_dir
from gxopt.patch import Errors, _line_map, _number
from gxopt.whatif import Inputs, Patch, apply, load_patch, load_patched, read_base, run_patched

Progress = Callable[[int, int], None]

MARKER = "sweep.json"
RESULTS_FILE = "sweep.parquet"
SERVICE_FILE = "service_probability.csv"
PLOTS = {"distributions": "distributions.png", "service": "service_probability.png"}
DEFAULT_WORKERS = 2
SERIAL = "serial"
PRODUCT_PREFIX = "gx_tonnage_t."

TOP_KEYS = ("description", "patch", "knobs", "grid", "monte_carlo")
DISTRIBUTIONS = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "triangular": ("low", "mode", "high"),
                 "choice": ("values",)}
OPTIONAL_DIST = {"normal": ("low", "high"), "choice": ("p",)}
METRICS = ("objective_value", "revenue", "reps_used_t", "reps_usable_t", "gx_tonnage_t", "gx_tonnage_mass_balance_t",
           "gx_tonnage_allocation_t", "orders", "orders_served", "orders_filled", "emissions_general_t",
           "emissions_after_allocation_t", "claims_t", "actual_emissions_t", "claims_margin_t")

__all__ = ["BUILTIN_KNOBS", "Case", "Grid", "load_grid", "run_case", "sweep"]


# ----------------------------------------------------------------------------------------------------------
# knobs


@dataclass(frozen=True)
class Knob:
    """A built-in knob: what it changes, its neutral value and the options it takes."""

    name: str
    neutral: float
    options: tuple[str, ...]
    doc: str


BUILTIN_KNOBS: dict[str, Knob] = {k.name: k for k in (
    Knob("uncertainty_scale", 1.0, ("where", "max"),
         "project_periods.uncertainty x value, capped at max (default 0.99): fewer REPs (6.5)"),
    Knob("production_scale", 1.0, ("sites", "periods"),
         "products.production_t x value and, unless periods: false, project_periods output_t and "
         "project_emissions_t x value (same intensities, so REPs scale too); sites: limits it to those sites"),
    Knob("demand_scale", 1.0, ("where", "columns"),
         "orders tonnage_t and requested_reps_t x value (columns: to choose); where: selects orders"),
    Knob("premium_scale", 1.0, ("where",), "orders.premium x value; where: selects orders"),
    Knob("slip_years", 0.0, ("projects",),
         "calculation periods of the projects (default: all) shifted later by value years, rounded to whole "
         "months (the account follows); a slipped period that has not ended by as_of is not usable"),
)}


def knob_patch(name: str, value: float, spec: dict[str, Any], base: Inputs) -> dict[str, Any]:
    """The patch (a mapping in the language of :mod:`gxopt.whatif`) that sets knob ``name`` to ``value``.

    An empty mapping when the value is the knob's neutral value.
    """
    if name not in BUILTIN_KNOBS:
        return _fill(spec["patch"], value)
    if value == BUILTIN_KNOBS[name].neutral:
        return {}
    v = float(value)
    if name == "uncertainty_scale":
        op: dict[str, Any] = {"column": "uncertainty", "factor": v, "max": spec.get("max", 0.99)}
        if spec.get("where"):
            op["where"] = spec["where"]
        return {"project_periods": {"scale": [op]}}
    if name == "production_scale":
        sites = spec.get("sites")
        prod: dict[str, Any] = {"column": "production_t", "factor": v}
        if sites:
            prod["where"] = {"site": list(sites)}
        patch: dict[str, Any] = {"products": {"scale": [prod]}}
        if spec.get("periods", True):
            per: dict[str, Any] = {"columns": ["output_t", "project_emissions_t"], "factor": v}
            if sites:
                node_site = dict(zip(base.tables["nodes"]["node_id"].str.strip(), base.tables["nodes"]["site"].str.strip()))
                pj = base.tables["projects"]
                ids = sorted(p for p, n in zip(pj["project_id"].str.strip(), pj["node"].str.strip())
                             if node_site.get(n) in set(sites))
                per["where"] = {"project_id": ids}
                if not ids:
                    return patch
            patch["project_periods"] = {"scale": [per]}
        return patch
    if name in ("demand_scale", "premium_scale"):
        cols = spec.get("columns", ["tonnage_t", "requested_reps_t"]) if name == "demand_scale" else ["premium"]
        op = {"columns": list(cols), "factor": v}
        if spec.get("where"):
            op["where"] = spec["where"]
        return {"orders": {"scale": [op]}}
    if name == "slip_years":
        months = int(round(12 * v))
        if months == 0:
            return {}
        op = {"months": months}
        if spec.get("projects"):
            op["where"] = {"project_id": list(spec["projects"])}
        return {"project_periods": {"shift": [op]}}
    raise KeyError(name)  # pragma: no cover - every built-in is handled above


def _fill(template: Any, value: float) -> Any:
    """Replace every ``$value`` in a patch template by the knob's value."""
    if isinstance(template, dict):
        return {k: _fill(v, value) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, value) for v in template]
    if template == "$value":
        x = float(value)
        return int(x) if x.is_integer() else x  # whole numbers stay whole (months: $value)
    if isinstance(template, str) and "$value" in template:
        return template.replace("$value", f"{value:g}")
    return template


# ----------------------------------------------------------------------------------------------------------
# the grid file


@dataclass(frozen=True)
class Case:
    """One what-if of a sweep: an id, whether it comes from the grid or a Monte-Carlo draw, knob values."""

    case_id: str
    kind: str
    values: dict[str, float]


@dataclass(frozen=True)
class Grid:
    """A parsed grid file: knob definitions, the cases, and an optional patch applied to every case."""

    description: str
    knobs: dict[str, dict[str, Any]]
    cases: list[Case]
    patch: Patch | None
    text: str
    label: str
    seed: int | None = None
    draws: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def knob_names(self) -> list[str]:
        """Every knob used by a case, in the order of the file."""
        names: list[str] = []
        for c in self.cases:
            names += [k for k in c.values if k not in names]
        return names


def load_grid(grid: str | os.PathLike[str] | dict[str, Any], label: str | None = None) -> Grid:
    """Read and check a grid file (or mapping); every problem is raised at once as :class:`InputError`."""
    import yaml

    if isinstance(grid, dict):
        data: Any = grid
        text = yaml.safe_dump(grid, sort_keys=False)
        name = label or "<grid>"
        folder = Path.cwd()
    else:
        file = Path(grid)
        name = label or display_path(file)
        if not file.is_file():
            raise InputError([Issue(name, None, None, "grid file not found")])
        try:
            text = file.read_text(encoding="utf-8")
            data = yaml.safe_load(text)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError([Issue(name, None, None, f"not valid YAML: {str(exc).splitlines()[0]}")]) from None
        folder = file.parent
    err = Errors(label=name, lines=_line_map(text), show=str)
    if not isinstance(data, dict):
        raise InputError([Issue(name, None, None, "a grid file must be a YAML mapping (description, patch, knobs, "
                                                  "grid, monte_carlo)")])
    for k in data:
        if k not in TOP_KEYS:
            err.add(str(k), "unknown key; a grid file may hold: " + ", ".join(TOP_KEYS), k)
    description = data.get("description") or ""
    patch = None
    if data.get("patch") is not None:
        p = data["patch"]
        if isinstance(p, str):
            target = (folder / p) if not Path(p).is_absolute() else Path(p)
            try:
                patch = load_patch(target)
            except InputError as exc:
                err.issues += exc.issues
        elif isinstance(p, dict):
            patch = load_patch(p, label=f"{name}, patch")
        else:
            err.add("patch", "must be a patch file (path relative to the grid file) or a patch mapping", p)
    knobs = _check_knobs(data.get("knobs") or {}, err)
    cases: list[Case] = []
    grid_spec = data.get("grid")
    if grid_spec is not None:
        cases += _grid_cases(grid_spec, knobs, err)
    mc = data.get("monte_carlo")
    seed = None
    draws: dict[str, dict[str, Any]] = {}
    if mc is not None:
        mc_cases, seed, draws = _mc_cases(mc, knobs, err)
        cases += mc_cases
    if not err.issues and not cases:
        err.add("", "no cases: give grid: (lists of knob values) and/or monte_carlo: (n draws)")
    if err.issues:
        raise InputError(err.issues)
    return Grid(str(description), knobs, cases, patch, text, name, seed, draws)


def _check_knobs(spec: Any, err: Errors) -> dict[str, dict[str, Any]]:
    knobs: dict[str, dict[str, Any]] = {k: {} for k in BUILTIN_KNOBS}
    if not isinstance(spec, dict):
        err.add("knobs", "must be a mapping of knob name to its options", spec)
        return knobs
    for name, opts in spec.items():
        path = f"knobs.{name}"
        opts = opts or {}
        if not isinstance(opts, dict):
            err.add(path, "must be a mapping of options", opts)
            continue
        if name in BUILTIN_KNOBS:
            allowed = BUILTIN_KNOBS[name].options
            bad = [o for o in opts if o not in allowed]
            for o in bad:
                err.add(f"{path}.{o}", f"unknown option of {name}; it takes: " + ", ".join(allowed), o)
            for o in ("sites", "projects", "columns"):
                if o in opts and not (isinstance(opts[o], list) and opts[o] and all(isinstance(x, str) for x in opts[o])):
                    err.add(f"{path}.{o}", "must be a non-empty list of names", opts[o])
            if "where" in opts and not isinstance(opts["where"], dict):
                err.add(f"{path}.where", "must be a mapping of column to value (or list of values)", opts["where"])
            if "max" in opts and _number(opts["max"]) is None:
                err.add(f"{path}.max", "must be a number", opts["max"])
            if "periods" in opts and not isinstance(opts["periods"], bool):
                err.add(f"{path}.periods", "must be true or false", opts["periods"])
            knobs[name] = dict(opts)
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)) or name in METRICS or name in (
                "case_id", "kind", "status", "error", "seconds"):
            err.add(path, "a knob name must be an identifier (letters, digits, _) and not a result column", name)
            continue
        if not isinstance(opts.get("patch"), dict):
            err.add(f"{path}.patch", f"unknown knob '{name}': built-ins are {', '.join(BUILTIN_KNOBS)}; a knob of "
                                     "your own needs patch: (a patch with $value where the value goes)")
            continue
        extra = [o for o in opts if o not in ("patch", "description")]
        for o in extra:
            err.add(f"{path}.{o}", "a custom knob takes patch: and description: only", o)
        if "$value" not in json.dumps(opts["patch"], default=str):
            err.add(f"{path}.patch", "the patch never uses $value, so every case would be the same")
        knobs[name] = dict(opts)
    return knobs


def _known_knob(name: Any, knobs: dict[str, dict[str, Any]], path: str, err: Errors) -> bool:
    if name in knobs:
        return True
    err.add(path, "unknown knob; built-ins are " + ", ".join(BUILTIN_KNOBS) + " (define others under knobs:)", name)
    return False


def _grid_cases(spec: Any, knobs: dict[str, dict[str, Any]], err: Errors) -> list[Case]:
    if not isinstance(spec, dict) or not spec:
        err.add("grid", "must be a mapping of knob name to a list of values", spec)
        return []
    axes: list[tuple[str, list[float]]] = []
    for name, values in spec.items():
        path = f"grid.{name}"
        if not _known_knob(name, knobs, path, err):
            continue
        values = values if isinstance(values, list) else [values]
        nums = [_number(v) for v in values]
        if not values or any(x is None for x in nums):
            err.add(path, "must be a non-empty list of numbers", values)
            continue
        axes.append((str(name), [float(x) for x in nums]))  # type: ignore[arg-type]
    if err.issues:
        return []
    combos = list(itertools.product(*[v for _, v in axes]))
    width = max(4, len(str(len(combos))))
    return [Case(f"g{i + 1:0{width}d}", "grid", dict(zip([n for n, _ in axes], combo)))
            for i, combo in enumerate(combos)]


def _mc_cases(spec: Any, knobs: dict[str, dict[str, Any]], err: Errors
              ) -> tuple[list[Case], int | None, dict[str, dict[str, Any]]]:
    if not isinstance(spec, dict):
        err.add("monte_carlo", "must be a mapping with n, seed and knobs", spec)
        return [], None, {}
    for k in spec:
        if k not in ("n", "seed", "knobs"):
            err.add(f"monte_carlo.{k}", "unknown key; monte_carlo takes n, seed and knobs", k)
    n, seed = spec.get("n"), spec.get("seed", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        err.add("monte_carlo.n", "must be a whole number of draws, at least 1", n)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        err.add("monte_carlo.seed", "must be a whole number at least 0 (the draws are reproducible)", seed)
    dists = spec.get("knobs")
    if not isinstance(dists, dict) or not dists:
        err.add("monte_carlo.knobs", "must be a mapping of knob name to a distribution", dists)
        return [], None, {}
    checked: dict[str, dict[str, Any]] = {}
    for name, d in dists.items():
        path = f"monte_carlo.knobs.{name}"
        if not _known_knob(name, knobs, path, err):
            continue
        if not isinstance(d, dict) or d.get("dist") not in DISTRIBUTIONS:
            err.add(f"{path}.dist", "give dist: one of " + ", ".join(DISTRIBUTIONS),
                    d.get("dist") if isinstance(d, dict) else d)
            continue
        kind = d["dist"]
        need, opt = DISTRIBUTIONS[kind], OPTIONAL_DIST.get(kind, ())
        ok = True
        for k in d:
            if k != "dist" and k not in need + opt:
                err.add(f"{path}.{k}", f"a {kind} distribution takes " + ", ".join(need + opt), k)
                ok = False
        for k in need:
            if k not in d:
                err.add(path, f"a {kind} distribution needs {k}")
                ok = False
        if not ok:
            continue
        if kind == "choice":
            vals = d["values"] if isinstance(d["values"], list) else None
            if not vals or any(_number(v) is None for v in vals):
                err.add(f"{path}.values", "must be a non-empty list of numbers", d["values"])
                continue
            if "p" in d:
                p = d["p"] if isinstance(d["p"], list) else None
                if (not p or len(p) != len(vals) or any(_number(x) is None or x < 0 for x in p)
                        or abs(sum(p) - 1) > 1e-9):
                    err.add(f"{path}.p", "must be one probability per value, adding up to 1", d["p"])
                    continue
        else:
            nums = {k: _number(d[k]) for k in need + opt if k in d}
            bad = [k for k, v in nums.items() if v is None]
            for k in bad:
                err.add(f"{path}.{k}", "must be a number", d[k])
            if bad:
                continue
            lo, hi = nums.get("low"), nums.get("high")
            if kind == "normal" and nums["sd"] <= 0:  # type: ignore[operator]
                err.add(f"{path}.sd", "must be greater than 0", d["sd"])
                continue
            if lo is not None and hi is not None and not lo < hi:
                err.add(path, "low must be below high", f"{lo:g}..{hi:g}")
                continue
            if kind == "triangular" and not lo <= nums["mode"] <= hi:  # type: ignore[operator]
                err.add(f"{path}.mode", "must lie between low and high", d["mode"])
                continue
            if kind == "normal" and lo is not None and hi is not None:
                m, s = nums["mean"], nums["sd"]
                if not (lo - 6 * s <= m <= hi + 6 * s):  # type: ignore[operator]
                    err.add(path, "the bounds are too far from the mean to draw from", f"{lo:g}..{hi:g}")
                    continue
        checked[str(name)] = dict(d)
    if err.issues or not isinstance(n, int):
        return [], None, checked
    rng = np.random.default_rng(seed)
    drawn = {k: _draw(rng, d, n) for k, d in checked.items()}
    width = max(4, len(str(n)))
    cases = [Case(f"mc{i + 1:0{width}d}", "monte_carlo", {k: float(v[i]) for k, v in drawn.items()})
             for i in range(n)]
    return cases, int(seed), checked


def _draw(rng: np.random.Generator, d: dict[str, Any], n: int) -> np.ndarray:
    """``n`` draws of one knob (reproducible for a given seed and file order)."""
    kind = d["dist"]
    if kind == "uniform":
        return rng.uniform(d["low"], d["high"], n)
    if kind == "triangular":
        return rng.triangular(d["low"], d["mode"], d["high"], n)
    if kind == "choice":
        return rng.choice(np.asarray(d["values"], dtype=float), size=n, p=d.get("p"))
    lo, hi = d.get("low", -np.inf), d.get("high", np.inf)
    out = rng.normal(d["mean"], d["sd"], n)
    for _ in range(1000):  # truncated normal by rejection: redraw what falls outside the bounds
        bad = (out < lo) | (out > hi)
        if not bad.any():
            break
        out[bad] = rng.normal(d["mean"], d["sd"], int(bad.sum()))
    return np.clip(out, lo, hi)


def case_patches(grid: Grid, case: Case, base: Inputs) -> list[Patch]:
    """The patches of one case, in order: the grid's own patch, then one per knob that is not neutral."""
    patches = [grid.patch] if grid.patch is not None else []
    for name, value in case.values.items():
        p = knob_patch(name, value, grid.knobs.get(name, {}), base)
        if p:
            patches.append(load_patch(p, label=f"{grid.label}: {name} = {value:g} (case {case.case_id})"))
    return patches


# ----------------------------------------------------------------------------------------------------------
# one case


def run_case(base: Inputs, case: Case, patches: list[Patch], knob_names: list[str] | None = None) -> dict[str, Any]:
    """Apply ``patches`` to ``base`` in memory, validate and run the result and return the row.

    Never raises for a bad case: the row's ``status`` says ``input_error``, ``solver_error``,
    ``verification_error`` or ``error`` and ``error`` holds the message (so one bad draw of a thousand
    does not lose the others).
    """
    row: dict[str, Any] = {"case_id": case.case_id, "kind": case.kind}
    for k in knob_names or list(case.values):
        row[k] = case.values.get(k, BUILTIN_KNOBS[k].neutral if k in BUILTIN_KNOBS else math.nan)
    t0 = time.perf_counter()
    try:
        inputs = base
        for p in patches:
            inputs, _ = apply(inputs, p)
        label = " + ".join(p.label for p in patches) or "no patch"
        result = run_patched(load_patched(inputs, label, computed=False), inputs, label)
    except Exception as exc:  # noqa: BLE001 - reported in the row
        status = {InputError: "input_error", SolverError: "solver_error",
                  VerificationError: "verification_error"}.get(type(exc), "error")
        msg = str(exc) if isinstance(exc, GxoptError) else f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        row |= {"status": status, "error": msg[:2000], "seconds": time.perf_counter() - t0,
                "served_orders": [], "filled_orders": []}
        return row
    row |= {"status": "ok", "error": ""} | metrics(result) | {"seconds": time.perf_counter() - t0}
    return row


def metrics(result: Any) -> dict[str, Any]:
    """The compact row of one run: totals, GX tonnage per product, served and filled orders."""
    o, p, pr, s = result.orders, result.pools, result.products, result.summary
    served = o["reps_t"] > 0
    row: dict[str, Any] = {
        "objective_value": float(s["objective_value"]),
        "revenue": float(o["value"].sum()),
        "reps_used_t": float(p["used_run_t"].sum()),
        "reps_usable_t": float(s["totals"]["usable_available_t"]),
        "gx_tonnage_t": float(o["gx_tonnage_t"].sum()),
        "gx_tonnage_mass_balance_t": float(o.loc[o["method"] == "mass_balance", "gx_tonnage_t"].sum()),
        "gx_tonnage_allocation_t": float(o.loc[o["method"] == "allocation", "gx_tonnage_t"].sum()),
        "orders": int(len(o)),
        "orders_served": int(served.sum()),
        "orders_filled": int((o["status"] == "filled").sum()),
        "emissions_general_t": float(pr["emissions_general_t"].sum()),
        "emissions_after_allocation_t": float(pr["emissions_after_allocation_t"].sum()),
        **{k: float(s["claims"][k]) for k in ("claims_t", "actual_emissions_t", "claims_margin_t")},
    }
    by_product = o.groupby("product_id")["gx_tonnage_t"].sum().reindex(pr["product_id"]).fillna(0.0)
    row |= {f"{PRODUCT_PREFIX}{k}": float(v) for k, v in by_product.sort_index().items()}
    row["served_orders"] = sorted(o.loc[served, "order_id"].astype(str))
    row["filled_orders"] = sorted(o.loc[o["status"] == "filled", "order_id"].astype(str))
    return row


# ----------------------------------------------------------------------------------------------------------
# the sweep


def sweep(base_dir: str | os.PathLike[str], grid_path: str | os.PathLike[str] | dict[str, Any],
          out_dir: str | os.PathLike[str] | None, scheduler: str | None = None, progress: Progress | None = None,
          *, n_workers: int = DEFAULT_WORKERS) -> pd.DataFrame:
    """Run every case of the grid file against the base scenario; return one row per case (in case order).

    ``scheduler``: None = a LocalCluster on this machine (``n_workers`` processes, 1 thread each), an
    address (``tcp://host:8786``) = that Dask cluster, ``"serial"`` = in this process without Dask.
    ``progress(done, total)`` is called as cases complete (a ``rich.progress.Progress`` may be passed
    instead: it gets a task of its own). With ``out_dir`` the folder gets
    ``sweep.parquet`` (the rows), ``service_probability.csv`` (per order: share of successful cases that
    served / filled it), ``distributions.png``, ``service_probability.png``, ``sweep.json`` (what was run,
    timings, throughput) and a copy of the grid file; it is written to a temporary sibling and swapped in.
    """
    grid = load_grid(grid_path)
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        _check_out(out)
    base = read_base(base_dir)
    reference = base if grid.patch is None else apply(base, grid.patch)[0]
    knob_names = grid.knob_names
    jobs = [(c, case_patches(grid, c, reference)) for c in grid.cases]
    _preflight(reference, jobs, grid)
    total = len(jobs)
    tell = _progress(progress, total)
    tell(0, total)
    t_start = time.perf_counter()
    rows: dict[str, dict[str, Any]] = {}
    if scheduler == SERIAL:
        where = "serial (in this process)"
        t_run = time.perf_counter()
        for i, (case, patches) in enumerate(jobs):
            rows[case.case_id] = run_case(base, case, patches, knob_names)
            tell(i + 1, total)
    else:
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            where = f"LocalCluster, {n_workers} worker processes x 1 thread"
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError([Issue("--scheduler", None, None, f"cannot reach a Dask scheduler at this address "
                                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                                        value=scheduler)]) from None
            where = f"Dask cluster at {scheduler}"
        try:
            client.run(_warm)  # import the engine on every worker before the clock starts
            t_run = time.perf_counter()
            base_f = client.scatter(base, broadcast=True)
            tag = f"{os.getpid()}-{time.time_ns()}"
            futures = [client.submit(run_case, base_f, case, patches, knob_names, key=f"gxopt-case-{case.case_id}-{tag}",
                                     pure=False) for case, patches in jobs]
            by_key = {f.key: case for f, (case, _) in zip(futures, jobs)}
            done = 0
            for fut in as_completed(futures):
                case = by_key[fut.key]
                try:
                    rows[case.case_id] = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died or the task could not run
                    rows[case.case_id] = {"case_id": case.case_id, "kind": case.kind, **case.values, "status": "error",
                                          "error": f"{type(exc).__name__}: {exc}"[:2000], "served_orders": [],
                                          "filled_orders": []}
                fut.release()
                done += 1
                tell(done, total)
            workers = len(client.scheduler_info().get("workers", {}))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        where += f" ({workers} workers)" if scheduler is not None else ""
    t_end = time.perf_counter()
    frame = _frame([rows[c.case_id] for c, _ in jobs], knob_names)
    info = {"kind": "gxopt sweep", "base": base.base, "grid": grid.label, "description": grid.description,
            "scheduler": where, "cases": total, "ok": int((frame["status"] == "ok").sum()),
            "failed": int((frame["status"] != "ok").sum()), "seed": grid.seed,
            "knobs": {k: grid.knobs.get(k, {}) for k in knob_names}, "monte_carlo": grid.draws,
            "seconds": {"wall": t_end - t_start, "tasks": t_end - t_run, "startup": t_run - t_start,
                        "case_mean": float(frame["seconds"].mean()) if total else 0.0},
            "cases_per_second": total / (t_end - t_run) if t_end > t_run else None,
            "host": socket.gethostname(), "written": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    frame.attrs["sweep"] = info
    if out is not None:
        _write(out, frame, service_probability(frame, reference), grid, info)
    return frame


def _progress(progress: Any, total: int) -> Progress:
    """``progress`` as a ``(done, total)`` callback: a callable is used as it is, a ``rich.progress.Progress``
    gets a task of its own."""
    if progress is None:
        return lambda _d, _t: None
    if hasattr(progress, "add_task") and hasattr(progress, "update"):
        task = progress.add_task("gxopt sweep", total=total)
        return lambda done, n: progress.update(task, completed=done, total=n)
    return progress  # type: ignore[no-any-return]


def _warm() -> bool:
    import gxopt.pipeline  # noqa: F401

    return True


def _preflight(reference: Inputs, jobs: list[tuple[Case, list[Patch]]], grid: Grid) -> None:
    """Check, before any task runs, that the base (with the grid's patch) is a valid scenario and that every
    knob's patch fits it (ids, columns ...): a mistake in the grid file is one clear error, not a thousand
    failed cases. Values only some cases reach (an uncertainty of 1 or more, a negative factor) are left to
    the cases, which report them in their row."""
    load_patched(reference, grid.patch.label if grid.patch else "no patch")
    seen: set[str] = set()
    issues: list[Issue] = []
    for _case, patches in jobs:
        for p in patches:
            if p is grid.patch:
                continue
            shape = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", p.text)
            if shape in seen:
                continue
            seen.add(shape)
            try:
                apply(reference, p)
            except InputError as exc:
                issues += [i for i in exc.issues if i not in issues]
    if issues:
        raise InputError(issues)


def _frame(rows: list[dict[str, Any]], knob_names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    products = sorted(c for c in frame.columns if c.startswith(PRODUCT_PREFIX))
    lead = ["case_id", "kind", *knob_names, "status", "error", *METRICS]
    for c in lead:
        if c not in frame.columns:
            frame[c] = math.nan
    cols = lead + products + ["served_orders", "filled_orders", "seconds"]
    frame = frame[cols]
    for c in ("orders", "orders_served", "orders_filled"):
        frame[c] = frame[c].astype("Int64")
    return frame


def service_probability(frame: pd.DataFrame, reference: Inputs) -> pd.DataFrame:
    """Per order of the base: in how many successful cases it was served (REPs > 0) and filled."""
    ok = frame[frame["status"] == "ok"]
    n = len(ok)
    served = pd.Series([o for lst in ok["served_orders"] for o in lst], dtype=object).value_counts()
    filled = pd.Series([o for lst in ok["filled_orders"] for o in lst], dtype=object).value_counts()
    o = reference.tables["orders"]
    table = pd.DataFrame({"order_id": o["order_id"].str.strip(), "customer": o["customer"].str.strip(),
                          "product_id": o["product_id"].str.strip(), "method": o["method"].str.strip(),
                          "tonnage_t": pd.to_numeric(o["tonnage_t"], errors="coerce"),
                          "premium": pd.to_numeric(o["premium"], errors="coerce")})
    extra = sorted(set(served.index) - set(table["order_id"]))  # orders added by a knob's patch
    if extra:
        table = pd.concat([table, pd.DataFrame({"order_id": extra})], ignore_index=True)
    table["cases"] = n
    table["served"] = table["order_id"].map(served).fillna(0).astype(int)
    table["filled"] = table["order_id"].map(filled).fillna(0).astype(int)
    table["p_served"] = table["served"] / n if n else math.nan
    table["p_filled"] = table["filled"] / n if n else math.nan
    return table


# ----------------------------------------------------------------------------------------------------------
# writing


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        msg = f"{out}: exists and is not a gxopt sweep folder (no {MARKER}); refusing to overwrite it - choose another --out"
        raise OutputError(msg)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """The rows as an Arrow table: list columns as list<string>, the rest as pandas would store them."""
    lists = ["served_orders", "filled_orders"]
    table = pa.Table.from_pandas(frame.drop(columns=lists), preserve_index=False)
    for c in lists:
        table = table.append_column(c, pa.array([list(v) for v in frame[c]], type=pa.list_(pa.string())))
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          b"gxopt.sweep": json.dumps(frame.attrs.get("sweep", {}), default=str).encode()})


def _write(out: Path, frame: pd.DataFrame, service: pd.DataFrame, grid: Grid, info: dict[str, Any]) -> None:
    with atomic_dir(out, MARKER) as tmp:
        pq.write_table(to_arrow(frame), tmp / RESULTS_FILE)
        service.to_csv(tmp / SERVICE_FILE, index=False, lineterminator="\n", float_format="%.6g")
        (tmp / "grid.yaml").write_text(grid.text, encoding="utf-8")
        if grid.patch is not None:
            (tmp / "patch.yaml").write_text(grid.patch.text, encoding="utf-8")
        plots(frame, service, tmp)
        info = info | {"files": sorted(p.name for p in tmp.iterdir()) + [MARKER]}
        (tmp / MARKER).write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")


def plots(frame: pd.DataFrame, service: pd.DataFrame, folder: Path) -> list[Path]:
    """Distribution of GX volume and revenue over the cases; probability that each order is served."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ok = frame[frame["status"] == "ok"]
    files = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, col, label, scale, unit in ((axes[0], "gx_tonnage_t", "GX volume", 1e3, "kt"),
                                        (axes[1], "revenue", "Revenue from premiums", 1e6, "million")):
        groups = [(k, ok.loc[ok["kind"] == k, col].to_numpy(float) / scale) for k in ("grid", "monte_carlo")]
        groups = [(k, v) for k, v in groups if len(v)]
        if groups:
            allv = np.concatenate([v for _, v in groups])
            bins = np.histogram_bin_edges(allv, bins=min(30, max(5, len(allv) // 2)))
            ax.hist([v for _, v in groups], bins=bins, stacked=True, label=[k.replace("_", "-") for k, _ in groups],
                    color=["#1f618d", "#b9770e"][: len(groups)])
            for q, ls in ((0.05, ":"), (0.5, "--"), (0.95, ":")):
                ax.axvline(np.quantile(allv, q), color="#333333", ls=ls, lw=1)
            ax.legend(frameon=False, fontsize=8, loc="upper left")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{label} over {len(ok)} cases (p5 / median / p95)", fontsize=10)
        ax.set_xlabel(f"{label}, {unit}")
        ax.set_ylabel("cases")
    fig.tight_layout()
    files.append(folder / PLOTS["distributions"])
    fig.savefig(files[-1], dpi=110, metadata={"Software": "gxopt"})
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), gridspec_kw={"width_ratios": [1.2, 1]})
    s = service.sort_values(["p_served", "order_id"], ascending=[False, True], ignore_index=True)
    colors = s["method"].map({"mass_balance": "#1f618d", "allocation": "#1e8449"}).fillna("#7f8c8d")
    axes[0].bar(np.arange(len(s)), s["p_served"], width=1.0, color=colors)
    always, never = int((s["p_served"] >= 1).sum()), int((s["p_served"] <= 0).sum())
    axes[0].set_title(f"P(order served), {len(s)} orders: always {always}, never {never}, "
                      f"sometimes {len(s) - always - never}", fontsize=10)
    axes[0].set_xlabel("orders, most often served first (blue mass balance, green allocation)")
    axes[0].set_ylabel("share of cases with REPs > 0")
    axes[0].set_ylim(0, 1.02)
    unsure = s[(s["p_served"] > 0) & (s["p_served"] < 1)].copy()
    unsure["d"] = (unsure["p_served"] - 0.5).abs()
    unsure = unsure.sort_values(["d", "order_id"]).head(30).sort_values("p_served")
    if len(unsure):
        y = np.arange(len(unsure))
        axes[1].barh(y, unsure["p_served"], color=colors.reindex(unsure.index), height=0.7)
        axes[1].set_yticks(y, [f"{r.order_id} {str(r.customer)[:18]}" for r in unsure.itertuples()], fontsize=7)
        axes[1].set_xlim(0, 1)
        axes[1].set_title("Most uncertain orders", fontsize=10)
        axes[1].set_xlabel("P(served)")
    else:
        axes[1].axis("off")
        axes[1].text(0.5, 0.5, "every order is served in all cases or in none", ha="center", va="center")
    fig.tight_layout()
    files.append(folder / PLOTS["service"])
    fig.savefig(files[-1], dpi=110, metadata={"Software": "gxopt"})
    plt.close(fig)
    return files
