"""The sweep grid language: knobs, their patches, and the cases of a grid file (grid lists, Monte-Carlo draws).

A grid file (YAML, see ``docs/whatif.md``) gives *knobs* - REP uncertainty scale, production scale,
demand scale, premium scale, project slip in years, or a knob of your own defined as a patch template -
and the cases to run: the cartesian product of the ``grid`` lists and ``monte_carlo`` draws (n draws from
uniform / normal / triangular / choice distributions with a seed). Every knob value becomes a what-if patch
(:mod:`gxopt.patch`), so every case is validated and verified by the normal engine; :mod:`gxopt.sweep`
runs the cases.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gxopt.errors import InputError, Issue
from gxopt.patch import Errors, _line_map, _number, read_yaml
from gxopt.scenario import display_path
from gxopt.sweep_table import METRICS
from gxopt.whatif import Inputs, Patch, load_patch

TOP_KEYS = ("description", "patch", "knobs", "grid", "monte_carlo")
DISTRIBUTIONS = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "triangular": ("low", "mode", "high"),
                 "choice": ("values",)}
OPTIONAL_DIST = {"normal": ("low", "high"), "choice": ("p",)}

__all__ = ["BUILTIN_KNOBS", "Case", "Grid", "Knob", "case_patches", "knob_patch", "load_grid"]


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
    if isinstance(grid, dict):
        data: Any = grid
        text = yaml.safe_dump(grid, sort_keys=False)
        name = label or "<grid>"
        lines = _line_map(text)
        folder = Path.cwd()
    else:
        file = Path(grid)
        name = label or display_path(file)
        data, text, lines = read_yaml(file, name, "grid")
        folder = file.parent
    err = Errors(label=name, lines=lines, show=str)
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
    names = [n for n, _ in axes]
    return [Case(cid, "grid", dict(zip(names, combo))) for cid, combo in zip(_ids("g", len(combos)), combos)]


def _ids(prefix: str, n: int) -> list[str]:
    """Case ids ``g0001``, ``mc0001``, ...: numbered from 1, at least four digits, all of one width."""
    width = max(4, len(str(n)))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


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
    cases = [Case(cid, "monte_carlo", {k: float(v[i]) for k, v in drawn.items()})
             for i, cid in enumerate(_ids("mc", n))]
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
