"""Sweeps: hundreds to thousands of what-ifs as Dask tasks, gathered into one Parquet table.

The cases come from a grid file (:mod:`gxopt.grid`: knobs, grid lists, Monte-Carlo draws), each a list of
what-if patches; the rows and the folder written are :mod:`gxopt.sweep_table`.

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
import math
import os
import re
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from gxopt.errors import GxoptError, InputError, Issue, SolverError, VerificationError
from gxopt.grid import BUILTIN_KNOBS, Case, Grid, case_patches, load_grid
from gxopt.sweep_table import LISTS, check_out, metrics, service_probability, to_frame, write
from gxopt.whatif import Inputs, Patch, apply, load_patched, read_base, run_patched

Progress = Callable[[int, int], None]

DEFAULT_WORKERS = 2
SERIAL = "serial"

__all__ = ["run_case", "sweep"]


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
        return _failed(row | {"seconds": time.perf_counter() - t0}, status, msg)
    row |= {"status": "ok", "error": ""} | metrics(result) | {"seconds": time.perf_counter() - t0}
    return row


def _failed(row: dict[str, Any], status: str, msg: str) -> dict[str, Any]:
    """The row of a case that did not run: its status, the message (at most 2000 characters), no orders."""
    return row | {"status": status, "error": msg[:2000]} | {c: [] for c in LISTS}


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
        check_out(out)
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
                    rows[case.case_id] = _failed({"case_id": case.case_id, "kind": case.kind, **case.values}, "error",
                                                 f"{type(exc).__name__}: {exc}")
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
    frame = to_frame([rows[c.case_id] for c, _ in jobs], knob_names)
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
        write(out, frame, service_probability(frame, reference), grid, info)
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
