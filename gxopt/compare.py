"""Side-by-side comparison of gxopt result folders (a base and its what-ifs, or any runs).

:func:`compare` reads ``orders.csv``, ``pools.csv``, ``products.csv`` and ``summary.json`` of each result
folder and builds tables with one column per result (named after the folder; duplicates get their parent
folder, then ``#2``...):

==================  =========================================================================================
``headline``        objective, revenue, REPs used / usable / left, GX tonnage (by method), orders served,
                    filled, partial, unfilled, ineligible, emissions before and after allocation
``runs``            what each result is: folder, scenario, as_of, what-if patch, input digest
``by_product``      per product and metric: ordered t, GX tonnage, REPs, revenue, orders served
``by_customer``     the same per customer
``cfps``            per product: General, Residual CFP, tonnage-weighted and lowest Allocated CFP of the
                    served GX Allocation orders (8.3.3)
``pool_use``        per pool and metric: REPs, used before, used in the run (by method), remaining
``pool_expiry``     per pool: the date its REPs expire (7.2.2)
``shadow_prices``   per pool: premium one more t-CO2e in it would earn
==================  =========================================================================================

``out_dir`` gets one CSV per table, ``comparison.png`` (GX volume by method and revenue per result) and
``comparison.json``; it is written to a temporary sibling and swapped in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gxopt.errors import InputError, Issue
from gxopt.resultdir import RESULT_BOOK, RESULT_MARKER, atomic_dir, check_out_dir, read_result_tables
from gxopt.scenario import display_path

MARKER = "comparison.json"
CHART = "comparison.png"
TABLES = ("headline", "runs", "by_product", "by_customer", "cfps", "pool_use", "pool_expiry", "shadow_prices")
NEEDED = ("orders", "pools", "products")

__all__ = ["compare", "names", "read_result"]


def names(result_dirs: list[Path]) -> list[str]:
    """Column names: the folder names, made unique by their parent folders, then by ``#2``, ``#3``..."""
    paths = [Path(os.path.abspath(p)) for p in result_dirs]
    distinct = list(dict.fromkeys(paths))
    label = {}
    for p in distinct:
        rel = [x for x in p.parts if x != p.anchor] or [str(p)]
        depth = 1
        while depth < len(rel):
            shown = "/".join(rel[-depth:])
            if not any(q != p and "/".join([x for x in q.parts if x != q.anchor][-depth:]) == shown for q in distinct):
                break
            depth += 1
        label[p] = "/".join(rel[-depth:])
    out, seen = [], {}
    for p in paths:  # the same folder given twice
        seen[p] = seen.get(p, 0) + 1
        out.append(label[p] if seen[p] == 1 else f"{label[p]}#{seen[p]}")
    return out


def read_result(result_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The tables and summary of one result folder; InputError when it is not a readable gxopt result."""
    root = Path(result_dir)
    label = display_path(root)
    if not root.is_dir():
        raise InputError([Issue(label, None, None, "result folder not found")])
    have = {p.stem for p in root.iterdir() if p.suffix in (".csv", ".parquet")} if (root / RESULT_MARKER).is_file() else set()
    missing = [f"{t}.csv" for t in NEEDED if t not in have and not (root / RESULT_BOOK).is_file()]
    missing += [] if (root / RESULT_MARKER).is_file() else [RESULT_MARKER]
    if missing:
        rule = ("not a gxopt result folder (no summary.json)" if RESULT_MARKER in missing
                else "incomplete result folder: missing " + ", ".join(missing))
        raise InputError([Issue(label, None, None, rule)])
    try:
        summary = json.loads((root / RESULT_MARKER).read_text(encoding="utf-8"))
        tables = read_result_tables(root, NEEDED)
    except (json.JSONDecodeError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError([Issue(label, None, None, f"cannot be read: {str(exc).splitlines()[0]}")]) from None
    need = {"orders": ("order_id", "customer", "product_id", "method", "tonnage_t", "reps_t", "gx_tonnage_t",
                       "value", "status", "allocated_cfp"),
            "pools": ("pool_id", "reps_t", "used_before_t", "used_run_t", "remaining_t", "expires", "shadow_price"),
            "products": ("product_id", "general_cfp", "residual_cfp", "emissions_general_t",
                         "emissions_after_allocation_t")}
    issues = [Issue(f"{label}/{t}.csv", None, c, "column missing (written by another gxopt version?)")
              for t, cols in need.items() for c in cols if c not in tables[t].columns]
    if issues:
        raise InputError(issues)
    for t in tables.values():
        for c in ("order_id", "customer", "product_id", "pool_id", "method", "status"):
            if c in t.columns:
                t[c] = t[c].astype(str)
    return {"path": root, "summary": summary, **tables}


CLAIM_METRICS = ("claims_t", "actual_emissions_t", "claims_margin_t")  # summary.json "claims" (7.3.3, 8.1)


def _headline(r: dict[str, Any]) -> dict[str, float]:
    o, p, pr, s = r["orders"], r["pools"], r["products"], r["summary"]
    status = o["status"].value_counts()
    usable = p[p["eligible"].astype(str).str.lower().eq("true") & p["ended"].astype(str).str.lower().eq("true")] \
        if {"eligible", "ended"} <= set(p.columns) else p
    by = o.groupby("method")["gx_tonnage_t"].sum()
    val = o.groupby("method")["value"].sum()
    return {
        "objective_value": float(s.get("objective_value", np.nan)),
        "revenue": float(o["value"].sum()),
        "revenue_mass_balance": float(val.get("mass_balance", 0.0)),
        "revenue_allocation": float(val.get("allocation", 0.0)),
        "reps_used_t": float(p["used_run_t"].sum()),
        "reps_usable_t": float(s.get("totals", {}).get("usable_available_t", np.nan)),
        "reps_left_usable_t": float(usable["remaining_t"].sum()),
        "gx_tonnage_t": float(o["gx_tonnage_t"].sum()),
        "gx_tonnage_mass_balance_t": float(by.get("mass_balance", 0.0)),
        "gx_tonnage_allocation_t": float(by.get("allocation", 0.0)),
        "orders": float(len(o)),
        "orders_served": float((o["reps_t"] > 0).sum()),
        "orders_filled": float(status.get("filled", 0)),
        "orders_partial": float(status.get("partial", 0)),
        "orders_unfilled": float(status.get("unfilled", 0)),
        "orders_ineligible": float(status.get("ineligible", 0)),
        "emissions_general_t": float(pr["emissions_general_t"].sum()),
        "emissions_after_allocation_t": float(pr["emissions_after_allocation_t"].sum()),
        **{k: float(s.get("claims", {}).get(k, np.nan)) for k in CLAIM_METRICS},
    }


def _by(o: pd.DataFrame, key: str, universe: pd.Index) -> pd.DataFrame:
    """Per ``key`` (product or customer) and metric, zero where the key exists but nothing happened."""
    g = o.groupby(key)
    frame = pd.DataFrame({"tonnage_t": g["tonnage_t"].sum(), "gx_tonnage_t": g["gx_tonnage_t"].sum(),
                          "reps_t": g["reps_t"].sum(), "revenue": g["value"].sum(),
                          "orders": g.size().astype(float), "orders_served": g["reps_t"].apply(lambda x: float((x > 0).sum()))})
    frame = frame.reindex(universe.union(frame.index)).fillna(0.0)
    frame.index.name = key
    return frame.stack().rename("v").rename_axis([key, "metric"]).to_frame()


def _cfps(r: dict[str, Any]) -> pd.DataFrame:
    o, pr = r["orders"], r["products"].set_index("product_id")
    served = o[(o["method"] == "allocation") & (o["reps_t"] > 0)]
    w = served.groupby("product_id").apply(
        lambda x: float(np.average(x["allocated_cfp"], weights=x["tonnage_t"])), include_groups=False) \
        if len(served) else pd.Series(dtype=float)
    frame = pd.DataFrame({"general_cfp": pr["general_cfp"], "residual_cfp": pr["residual_cfp"],
                          "allocated_cfp_mean": w.reindex(pr.index), "allocated_cfp_min":
                          served.groupby("product_id")["allocated_cfp"].min().reindex(pr.index)})
    frame.index.name = "product_id"
    return frame.stack(future_stack=True).rename("v").rename_axis(["product_id", "metric"]).to_frame()


def _pools(r: dict[str, Any]) -> pd.DataFrame:
    p = r["pools"].set_index("pool_id")
    cols = [c for c in ("reps_t", "used_before_t", "used_run_t", "used_mass_balance_t", "used_allocation_t",
                        "remaining_t") if c in p.columns]
    return p[cols].stack().rename("v").rename_axis(["pool_id", "metric"]).to_frame()


def _side_by_side(parts: list[pd.DataFrame | pd.Series], cols: list[str]) -> pd.DataFrame:
    frame = pd.concat([x.iloc[:, 0] if isinstance(x, pd.DataFrame) else x for x in parts], axis=1, keys=cols)
    frame.columns = cols
    return frame.sort_index(kind="stable")


def compare(result_dirs: list[str | os.PathLike[str]] | list[Path], out_dir: str | os.PathLike[str] | None
            ) -> dict[str, pd.DataFrame]:
    """Compare result folders side by side; write the tables and chart to ``out_dir`` (unless None).

    Returns ``{table name: DataFrame}`` with one column per result (see the module docstring). Raises
    :class:`InputError` naming every folder that is not a readable gxopt result, :class:`OutputError` when
    ``out_dir`` is not safe to write.
    """
    dirs = [Path(d) for d in result_dirs]
    if not dirs:
        raise InputError([Issue("compare", None, None, "give at least one result folder")])
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        check_out_dir(out, MARKER, "gxopt comparison folder", reads=dirs)
    results, issues = [], []
    for d in dirs:
        try:
            results.append(read_result(d))
        except InputError as exc:
            issues += exc.issues
    if issues:
        raise InputError(issues)
    cols = names(dirs)

    headline = pd.DataFrame({c: _headline(r) for c, r in zip(cols, results)})
    headline.index.name = "metric"
    runs = pd.DataFrame({c: {
        "folder": str(r["path"]), "scenario": r["summary"].get("scenario", ""),
        "organization": r["summary"].get("organization", ""), "as_of": r["summary"].get("as_of", ""),
        "what_if_unverified": r["summary"].get("what_if", False),
        "patch": (r["summary"].get("patch") or {}).get("description", "") or (r["summary"].get("patch") or {}).get("patch", ""),
        "base": (r["summary"].get("patch") or {}).get("base", ""),
        "input_sha256": r["summary"].get("input_sha256", ""), "gxopt_version": r["summary"].get("gxopt_version", "")}
        for c, r in zip(cols, results)})
    runs.index.name = "field"
    tables: dict[str, pd.DataFrame] = {
        "headline": headline,
        "runs": runs,
        "by_product": _side_by_side([_by(r["orders"], "product_id", pd.Index(r["products"]["product_id"]))
                                     for r in results], cols),
        "by_customer": _side_by_side([_by(r["orders"], "customer", pd.Index([], dtype=object)) for r in results], cols),
        "cfps": _side_by_side([_cfps(r) for r in results], cols),
        "pool_use": _side_by_side([_pools(r) for r in results], cols),
        "pool_expiry": _side_by_side([r["pools"].set_index("pool_id")["expires"].astype(object) for r in results], cols),
        "shadow_prices": _side_by_side([r["pools"].set_index("pool_id")["shadow_price"] for r in results], cols),
    }
    if out is not None:
        _write(out, tables, [str(d) for d in dirs], cols)
    return tables


def _write(out: Path, tables: dict[str, pd.DataFrame], dirs: list[str], cols: list[str]) -> None:
    with atomic_dir(out, MARKER) as tmp:
        for name, frame in tables.items():
            frame.reset_index().to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n", float_format="%.6f")
        chart(tables["headline"], tmp / CHART)
        info = {"kind": "gxopt comparison", "results": dict(zip(cols, dirs)),
                "tables": [f"{t}.csv" for t in tables], "chart": CHART}
        (tmp / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def chart(headline: pd.DataFrame, file: Path) -> Path:
    """GX volume (stacked by method) and revenue from premiums, one bar per result."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    cols = list(headline.columns)
    x = np.arange(len(cols))
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 2.2 + 1.5 * len(cols)), 4.4))
    for ax, row, scale, digits, title, unit in (
            (axes[0], "gx_tonnage", 1e3, 1, "GX volume (GX tonnage)", "kt"),
            (axes[1], "revenue", 1e6, 2, "Revenue from premiums", "million (currency of the premiums)")):
        suffix = "_t" if row == "gx_tonnage" else ""
        mb = headline.loc[f"{row}_mass_balance{suffix}"].to_numpy(float) / scale
        al = headline.loc[f"{row}_allocation{suffix}"].to_numpy(float) / scale
        ax.bar(x, mb, color="#1f618d", label="GX Mass Balance")
        ax.bar(x, al, bottom=mb, color="#1e8449", label="GX Allocation")
        for i, v in enumerate(mb + al):
            ax.annotate(f"{v:,.{digits}f}", (i, v), ha="center", va="bottom", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
    for ax in axes:
        ax.set_xticks(x, [c if len(c) <= 24 else "..." + c[-21:] for c in cols], rotation=20 if len(cols) > 3 else 0,
                      ha="right" if len(cols) > 3 else "center", fontsize=8)
        ax.margins(y=0.12)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(file, dpi=110, metadata={"Software": "gxopt"})
    plt.close(fig)
    return file
