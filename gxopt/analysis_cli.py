"""The work behind ``gxopt whatif``, ``gxopt compare`` and ``gxopt sweep`` (wired in gxopt/cli.py).

Each command does its work through :mod:`gxopt.whatif`, :mod:`gxopt.compare` or :mod:`gxopt.sweep`, prints a
one-screen summary with rich and returns what it computed. Errors are raised as gxopt errors
(:class:`~gxopt.errors.InputError`, :class:`~gxopt.errors.OutputError` ...) for the CLI to turn into
exit codes::

    gxopt whatif BASE --patch P.yaml --out DIR
    gxopt compare RESULT_A RESULT_B ... --out DIR
    gxopt sweep BASE --grid GRID.yaml [--scheduler ADDRESS] --out DIR
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from gxopt.compare import _headline, compare
from gxopt.grid import load_grid
from gxopt.sweep import sweep
from gxopt.sweep_table import PRODUCT_PREFIX
from gxopt.whatif import resolve_base, whatif

__all__ = ["compare_command", "sweep_command", "whatif_command"]

HEADLINE_ROWS = (
    ("objective_value", "objective (premium value)", "money"),
    ("revenue", "revenue from premiums", "money"),
    ("reps_used_t", "REPs used, t-CO2e", "t"),
    ("reps_usable_t", "REPs usable, t-CO2e", "t"),
    ("gx_tonnage_t", "GX tonnage, t", "t"),
    ("gx_tonnage_mass_balance_t", "  GX Mass Balance", "t"),
    ("gx_tonnage_allocation_t", "  GX Allocation", "t"),
    ("orders_served", "orders served", "n"),
    ("orders_filled", "orders filled", "n"),
    ("orders_unfilled", "orders unfilled", "n"),
    ("orders_ineligible", "orders ineligible", "n"),
    ("emissions_general_t", "emissions before, t-CO2e", "t"),
    ("emissions_after_allocation_t", "emissions after allocation", "t"),
)


def _fmt(v: Any, kind: str = "t") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if kind == "n":
        return f"{int(round(v)):,}"
    if v == 0:
        return "0"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _delta(new: float, old: float, kind: str) -> str:
    if any(isinstance(x, float) and math.isnan(x) for x in (new, old)):
        return ""
    d = new - old
    if abs(d) < (0.5 if kind == "n" else 1e-6 * max(1.0, abs(old))):
        return "[dim]=[/]"
    pct = f" ({d / old:+.1%})" if old else ""
    colour = "green" if d > 0 else "red"
    return f"[{colour}]{'+' if d > 0 else ''}{_fmt(d, kind)}{pct}[/]"


def _tables(result: Any) -> dict[str, Any]:
    return {"orders": result.orders, "pools": result.pools, "products": result.products, "summary": result.summary}


# ----------------------------------------------------------------------------------------------------------


def whatif_command(base: Path, patch: Path, out: Path, console: Console | None = None, compare_base: bool = True):  # type: ignore[no-untyped-def]
    """Run BASE with the patch, write the result folder OUT and print what changed against the base.

    Returns the what-if's :class:`~gxopt.pipeline.RunResult`.
    """
    from gxopt.pipeline import run

    con = console or Console(highlight=False)
    with con.status("gxopt what-if") as status:
        result = whatif(base, patch, out, progress=lambda m: status.update(f"gxopt what-if: {m}"))
        base_result = None
        if compare_base:
            status.update("gxopt what-if: the base, for comparison")
            base_result = run(resolve_base(base))
    info = result.summary["patch"]
    con.print(f"[bold]{escape(result.summary['scenario'])}[/] - {escape(result.summary['organization'])} - as of "
              f"{result.summary['as_of']}")
    con.print(f"what-if: {escape(info['description'] or info['patch'])}")
    con.print(f"[dim]base {escape(info['base'])}, patch {escape(info['patch'])}[/]", soft_wrap=True)
    ops = info["operations"]
    for line in ops[:10]:
        con.print(f"  [dim]-[/] {escape(line)}", soft_wrap=True)
    if len(ops) > 10:
        con.print(f"  [dim]... and {len(ops) - 10} more (summary.json, patch.operations)[/]")
    new = _headline(_tables(result))
    tab = Table(show_edge=False, title="Base vs what-if")
    tab.add_column("")
    if base_result is not None:
        old = _headline(_tables(base_result))
        for c in ("base", "what-if", "change"):
            tab.add_column(c, justify="right")
        for key, label, kind in HEADLINE_ROWS:
            tab.add_row(label, _fmt(old[key], kind), _fmt(new[key], kind), _delta(new[key], old[key], kind))
    else:
        tab.add_column("what-if", justify="right")
        for key, label, kind in HEADLINE_ROWS:
            tab.add_row(label, _fmt(new[key], kind))
    con.print(tab)
    if base_result is not None:
        _product_moves(con, base_result.orders, result.orders)
    con.print(f"verified: every constraint re-checked; results in [bold]{escape(str(out))}[/] (inputs/ = the patched "
              f"scenario: gxopt run {escape(str(Path(out) / 'inputs' / 'scenario'))})", soft_wrap=True)
    return result


def _product_moves(con: Console, old: pd.DataFrame, new: pd.DataFrame, top: int = 8) -> None:
    a = old.groupby("product_id")["gx_tonnage_t"].sum()
    b = new.groupby("product_id")["gx_tonnage_t"].sum()
    d = pd.concat([a, b], axis=1, keys=["base", "whatif"]).fillna(0.0)
    d["delta"] = d["whatif"] - d["base"]
    d = d[d["delta"].abs() > 0.5].reindex(d["delta"].abs().sort_values(ascending=False).index).dropna().head(top)
    if d.empty:
        return
    tab = Table(show_edge=False, title="GX tonnage by product, largest changes")
    for c in ("product", "base, t", "what-if, t", "change"):
        tab.add_column(c, justify="left" if c == "product" else "right")
    for pid, r in d.iterrows():
        tab.add_row(str(pid), _fmt(r["base"]), _fmt(r["whatif"]), _delta(r["whatif"], r["base"], "t"))
    con.print(tab)


# ----------------------------------------------------------------------------------------------------------


def compare_command(results: list[Path], out: Path, console: Console | None = None) -> dict[str, pd.DataFrame]:
    """Compare result folders side by side, write the tables and chart to OUT and print the headline.

    Returns the tables of :func:`gxopt.compare.compare`.
    """
    con = console or Console(highlight=False)
    with con.status("gxopt compare: reading the result folders"):
        tables = compare(results, out)
    h, runs = tables["headline"], tables["runs"]
    cols = list(h.columns)
    tab = Table(show_edge=False, title=f"{len(cols)} results side by side" + (f" (change against {cols[0]})"
                                                                                if len(cols) > 1 else ""))
    tab.add_column("")
    for c in cols:
        tab.add_column(escape(c), justify="right")
    tab.add_row("[dim]scenario[/]", *[f"[dim]{escape(str(runs.at['patch', c] or runs.at['scenario', c]))[:28]}[/]"
                                      for c in cols])
    tab.add_row("[dim]as of[/]", *[f"[dim]{runs.at['as_of', c]}[/]" for c in cols])
    for key, label, kind in HEADLINE_ROWS:
        first = h.at[key, cols[0]]
        cells = [_fmt(first, kind)]
        for c in cols[1:]:
            d = _delta(h.at[key, c], first, kind)
            cells.append(_fmt(h.at[key, c], kind) + (f" {d}" if d and d != "[dim]=[/]" else ""))
        tab.add_row(label, *cells)
    con.print(tab)
    if len(cols) > 1:
        gx = tables["by_product"].xs("gx_tonnage_t", level="metric").fillna(0.0)
        spread = (gx.max(axis=1) - gx.min(axis=1)).sort_values(ascending=False)
        spread = spread[spread > 0.5].head(8)
        if len(spread):
            t2 = Table(show_edge=False, title="GX tonnage by product, t (largest differences)")
            t2.add_column("product")
            for c in cols:
                t2.add_column(escape(c), justify="right")
            for pid in spread.index:
                t2.add_row(str(pid), *[_fmt(gx.at[pid, c]) for c in cols])
            con.print(t2)
    con.print(f"tables ({', '.join(tables)}) as CSV and comparison.png in [bold]{escape(str(out))}[/]", soft_wrap=True)
    return tables


# ----------------------------------------------------------------------------------------------------------


def sweep_command(base: Path, grid: Path, out: Path, scheduler: str | None = None, console: Console | None = None,
                  n_workers: int = 2) -> pd.DataFrame:
    """Run the sweep with a progress bar, write OUT and print the distribution of the results.

    Returns the sweep's rows (see :func:`gxopt.sweep.sweep`).
    """
    con = console or Console(highlight=False)
    g = load_grid(grid)  # a bad grid file fails before any cluster starts
    n = len(g.cases)
    where = scheduler or f"a LocalCluster ({n_workers} workers)"
    with Progress(TextColumn("[bold]gxopt sweep[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=con, transient=False) as bar:
        task = bar.add_task(f"{n} cases on {escape(where)}", total=n)
        frame = sweep(base, grid, out, scheduler=scheduler, n_workers=n_workers,
                      progress=lambda done, total: bar.update(task, completed=done, total=total))
    info = frame.attrs["sweep"]
    ok = frame[frame["status"] == "ok"]
    rate = info["cases_per_second"]
    con.print(f"[bold]{info['cases']} cases[/] ({int((frame['kind'] == 'grid').sum())} grid, "
              f"{int((frame['kind'] == 'monte_carlo').sum())} Monte-Carlo) on {escape(info['scheduler'])}: "
              f"[green]{info['ok']} ok[/]" + (f", [red]{info['failed']} failed[/]" if info["failed"] else "")
              + f"; {info['seconds']['wall']:.1f} s" + (f", {rate:.2f} cases/s" if rate else ""))
    if g.description:
        con.print(f"[dim]{escape(g.description)}[/]")
    if len(ok):
        tab = Table(show_edge=False, title="Distribution over the successful cases")
        for c in ("", "min", "p5", "median", "p95", "max"):
            tab.add_column(c, justify="left" if c == "" else "right")
        for key, label, kind in (("gx_tonnage_t", "GX tonnage, t", "t"), ("revenue", "revenue from premiums", "t"),
                                 ("reps_used_t", "REPs used, t-CO2e", "t"), ("orders_served", "orders served", "n")):
            v = ok[key].astype(float)
            tab.add_row(label, *[_fmt(x, kind) for x in (v.min(), v.quantile(0.05), v.median(), v.quantile(0.95),
                                                         v.max())])
        con.print(tab)
        _main_effects(con, ok, g.knob_names)
        _service(con, ok)
    for r in frame[frame["status"] != "ok"].head(3).itertuples():
        con.print(f"[red]{r.case_id}[/] {r.status}: {escape(str(r.error).splitlines()[0] if r.error else '')}")
    products = sum(1 for c in frame.columns if c.startswith(PRODUCT_PREFIX))
    con.print(f"one row per case ({products} products, served orders) in [bold]{escape(str(Path(out) / 'sweep.parquet'))}"
              f"[/]; service_probability.csv, distributions.png, service_probability.png, sweep.json", soft_wrap=True)
    return frame


def _main_effects(con: Console, ok: pd.DataFrame, knobs: list[str]) -> None:
    """Mean GX tonnage and revenue per value of each grid knob (over the grid cases)."""
    grid = ok[ok["kind"] == "grid"]
    rows = []
    for k in knobs:
        if k not in grid.columns or grid[k].nunique() < 2:
            continue
        for v, sub in grid.groupby(k):
            rows.append((k, v, sub["gx_tonnage_t"].mean(), sub["revenue"].mean(), len(sub)))
    if not rows:
        return
    tab = Table(show_edge=False, title="Grid: mean result per knob value")
    for c in ("knob", "value", "GX tonnage, t", "revenue", "cases"):
        tab.add_column(c, justify="left" if c == "knob" else "right")
    last = None
    for k, v, gx, rev, m in rows:
        tab.add_row(k if k != last else "", f"{v:g}", _fmt(gx), _fmt(rev), str(m))
        last = k
    con.print(tab)


def _service(con: Console, ok: pd.DataFrame) -> None:
    served = pd.Series([o for lst in ok["served_orders"] for o in lst], dtype=object).value_counts() / len(ok)
    if served.empty:
        return
    sometimes = served[served < 1]
    uncertain = (sometimes - 0.5).abs().sort_values(kind="stable").head(5).index
    con.print(f"orders served in every case: {int((served >= 1).sum())}; in some: {len(sometimes)}"
              + ("; most uncertain: " + ", ".join(f"{o} ({sometimes[o]:.0%})" for o in uncertain)
                 if len(sometimes) else ""))
