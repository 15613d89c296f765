"""The sweep's table and folder: the row of one run, the columns, service probability per order, plots and
the files written (sweep.parquet, service_probability.csv, the plots, sweep.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gxopt.resultdir import atomic_dir, check_out_dir
from gxopt.whatif import Inputs

if TYPE_CHECKING:
    from gxopt.grid import Grid

MARKER = "sweep.json"
KIND = "gxopt sweep folder"
RESULTS_FILE = "sweep.parquet"
SERVICE_FILE = "service_probability.csv"
PLOTS = {"distributions": "distributions.png", "service": "service_probability.png"}
PRODUCT_PREFIX = "gx_tonnage_t."
METRICS = ("objective_value", "revenue", "reps_used_t", "reps_usable_t", "gx_tonnage_t", "gx_tonnage_mass_balance_t",
           "gx_tonnage_allocation_t", "orders", "orders_served", "orders_filled", "emissions_general_t",
           "emissions_after_allocation_t", "claims_t", "actual_emissions_t", "claims_margin_t")
LISTS = ("served_orders", "filled_orders")

__all__ = ["METRICS", "PRODUCT_PREFIX", "RESULTS_FILE", "SERVICE_FILE", "metrics", "plots", "service_probability",
           "to_arrow", "to_frame", "write"]


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


def to_frame(rows: list[dict[str, Any]], knob_names: list[str]) -> pd.DataFrame:
    """The rows as the sweep's table: case, knobs, status and metrics first, then products, lists, seconds."""
    frame = pd.DataFrame(rows)
    products = sorted(c for c in frame.columns if c.startswith(PRODUCT_PREFIX))
    lead = ["case_id", "kind", *knob_names, "status", "error", *METRICS]
    for c in lead:
        if c not in frame.columns:
            frame[c] = math.nan
    cols = lead + products + [*LISTS, "seconds"]
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


def check_out(out: Path) -> None:
    """Fail before any case runs on an output folder :func:`write` would refuse."""
    check_out_dir(out, MARKER, KIND)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """The rows as an Arrow table: list columns as list<string>, the rest as pandas would store them."""
    table = pa.Table.from_pandas(frame.drop(columns=list(LISTS)), preserve_index=False)
    for c in LISTS:
        table = table.append_column(c, pa.array([list(v) for v in frame[c]], type=pa.list_(pa.string())))
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          b"gxopt.sweep": json.dumps(frame.attrs.get("sweep", {}), default=str).encode()})


def write(out: Path, frame: pd.DataFrame, service: pd.DataFrame, grid: Grid, info: dict[str, Any]) -> None:
    """The sweep folder: the table, service probability, copies of the grid file and its patch, the plots and
    ``sweep.json`` (``info`` and the files), written to a temporary sibling and swapped in."""
    with atomic_dir(out, MARKER, KIND) as tmp:
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
