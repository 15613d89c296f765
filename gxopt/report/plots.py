"""Static plots (matplotlib, Agg backend, PNG): the Figure 3 view, the flow of REPs, pool balances."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import PathPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as MPath  # noqa: E402

from gxopt.report.data import ReportData  # noqa: E402

T = TypeVar("T")
DPI = 110
PALETTE = ["#1f618d", "#b9770e", "#1e8449", "#7d3c98", "#a93226", "#117a65", "#5d6d7e", "#d68910", "#2e86c1",
           "#cb4335", "#28b463", "#884ea0"]
PLOTS = {
    "figure3": ("emissions-figure3.png", "Emissions, the basis and what buyers may claim (both methods) against "
                                         "actual emissions, per product group (the guideline's Figure 3 view)"),
    "flow": ("rep-flow.png", "Flow of REPs: projects to products to customers"),
    "pools": ("pool-balances.png", "Pool balances: REPs, used and remaining per pool"),
    "timeline": ("pool-timeline.png", "Pool balances over time (ledger journal)"),
}


CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic", "Source Han Sans JP",
             "Hiragino Sans", "Yu Gothic", "MS Gothic")


def _families() -> list[str]:
    """DejaVu Sans, then the first installed Japanese font as a fallback for customer and product names."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[f for f in CJK_FONTS if f in installed][:1]]


def _plot(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a plot with the report's fonts; glyphs no installed font has are drawn as boxes without a warning
    (the CSV twin of every plot keeps the names exactly)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with warnings.catch_warnings(), matplotlib.rc_context({"font.family": _families()}):
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
            return fn(*args, **kwargs)

    return wrapper


def _save(fig: plt.Figure, file: Path) -> None:
    fig.savefig(file, dpi=DPI, metadata={"Software": "gxopt", "Creation Time": None})
    plt.close(fig)


def _mt(x: float) -> str:
    return f"{x / 1e6:,.2f} Mt" if abs(x) >= 1e6 else f"{x / 1e3:,.1f} kt" if abs(x) >= 1e3 else f"{x:,.0f} t"


@_plot
def figure3(data: ReportData, file: Path) -> pd.DataFrame:
    """Per product group (the site where the products' crude steel is made) and for the organization, t-CO2e: General CFP x production; the basis (General
    CFP + the 7.3.3 correction, x production: the REPs reflected in the CFPs added back); what buyers may claim
    across both methods (GX steel at the claimed CFP of its certificate, the rest at the non-GX CFP, less REPs
    claimed under earlier certificates); and, for the organization, its actual emissions (summary ``claims``).
    Uses the report's certificates (issued, or drafts of the served orders); returns the numbers plotted (its
    CSV twin)."""
    p = data.products
    certs = [c for c in data.certificates if c.status != "void" and c.claimed_cfp is not None]
    gx: dict[str, float] = {}
    gx_t: dict[str, float] = {}
    for c in certs:  # GX steel of both methods at the CFP its buyer may claim
        gx[c.product_id] = gx.get(c.product_id, 0.0) + c.tonnage_t * float(c.claimed_cfp or 0.0)
        gx_t[c.product_id] = gx_t.get(c.product_id, 0.0) + c.tonnage_t
    rows = []
    for r in p.itertuples():
        rows.append({"group": r.crude_steel_site, "product_id": r.product_id,
                     "general_t": float(r.general_cfp) * float(r.production_t),
                     "basis_t": float(r.residual_cfp) * float(r.production_t),
                     "gx_steel_t": gx.get(r.product_id, 0.0),
                     "non_gx_steel_t": float(r.non_gx_cfp) * (float(r.production_t) - gx_t.get(r.product_id, 0.0))})
    per = pd.DataFrame(rows, columns=["group", "product_id", "general_t", "basis_t", "gx_steel_t", "non_gx_steel_t"])
    groups = per.groupby("group", sort=True)[["general_t", "basis_t", "gx_steel_t", "non_gx_steel_t"]].sum().reset_index()
    claims = data.summary.get("claims") or {}
    groups["claimed_before_t"] = 0.0
    groups["actual_t"] = float("nan")
    org = {"claimed_before_t": float(claims.get("reps_claimed_before_t", 0.0)),
           "actual_t": float(claims.get("actual_emissions_t", float("nan")))}
    if len(groups) > 1:
        total = groups.drop(columns=["group", "claimed_before_t", "actual_t"]).sum()
        groups = pd.concat([pd.DataFrame([{"group": "organization total", **total.to_dict(), **org}]), groups],
                           ignore_index=True)
    elif len(groups) == 1:  # one site: it is the organization
        groups.loc[0, list(org)] = list(org.values())
    groups["claims_t"] = groups["gx_steel_t"] + groups["non_gx_steel_t"] - groups["claimed_before_t"]
    n = len(groups)
    fig, axes = plt.subplots(1, max(n, 1), figsize=(max(7.5, 3.4 * n), 4.9), squeeze=False)
    for ax, g in zip(axes[0], groups.itertuples()):
        reps = g.basis_t - g.general_t
        ax.bar(0, g.general_t, color="#5d6d7e", width=0.6)
        ax.bar(1, g.general_t, color="#5d6d7e", width=0.6)
        ax.bar(1, reps, bottom=g.general_t, color="#f5cba7", hatch="//", edgecolor="#b9770e", width=0.6)
        ax.bar(2, g.non_gx_steel_t, color="#a93226", width=0.6)
        ax.bar(2, g.gx_steel_t, bottom=g.non_gx_steel_t, color="#1e8449", width=0.6)
        if g.claimed_before_t > 0:
            ax.bar(2, g.claimed_before_t, bottom=g.claims_t, facecolor="white", hatch="xx", edgecolor="#7f8c8d",
                   width=0.6)
        has_actual = not pd.isna(g.actual_t)
        if has_actual:
            ax.bar(3, g.actual_t, color="#1b2631", width=0.6)
        ticks = ["General\nCFP", "basis\n(+ 7.3.3)", "buyers'\nclaims"] + (["actual"] if has_actual else [])
        ax.set_xticks(range(len(ticks)), ticks, fontsize=8)
        ax.set_title(str(g.group), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _mt(v)))
        values = [g.general_t, g.basis_t, g.claims_t] + ([g.actual_t] if has_actual else [])
        top = max(max(values), g.gx_steel_t + g.non_gx_steel_t, 1.0)
        for x, v in enumerate(values):
            ax.text(x, (v if x != 2 else max(v, g.gx_steel_t + g.non_gx_steel_t)) + 0.01 * top, _mt(v),
                    ha="center", va="bottom", fontsize=7)
        if reps > 0.08 * top:
            ax.text(1, g.general_t + reps / 2, f"REPs\n{_mt(reps)}", ha="center", va="center", fontsize=6.5)
        ax.set_ylim(0, top * 1.15)
        ax.spines[["top", "right"]].set_visible(False)
    handles = [Rectangle((0, 0), 1, 1, color="#5d6d7e"), Rectangle((0, 0), 1, 1, facecolor="#f5cba7", hatch="//",
                                                                   edgecolor="#b9770e"),
               Rectangle((0, 0), 1, 1, color="#a93226"), Rectangle((0, 0), 1, 1, color="#1e8449"),
               Rectangle((0, 0), 1, 1, facecolor="white", hatch="xx", edgecolor="#7f8c8d"),
               Rectangle((0, 0), 1, 1, color="#1b2631")]
    fig.legend(handles, ["General CFP x production", "REPs reflected in the CFPs, added back (7.3.3, 8.3.2)",
                         "steel without GX value at its non-GX CFP", "GX steel at its claimed CFP (both methods)",
                         "less REPs claimed under earlier certificates",
                         "actual emissions (less verified REPs no CFP contains)"],
               loc="lower center", ncol=3, fontsize=7, frameon=False)
    margin = float(claims.get("claims_margin_t", 0.0))
    verdict = "never below actual" if margin >= -1e-6 * max(1.0, abs(org["actual_t"] or 0.0)) else \
        f"{-margin:,.0f} t-CO2e BELOW actual"
    fig.suptitle(f"Emissions and what buyers may claim, t-CO2e: {verdict} (JISF Figure 3 view, both methods)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    _save(fig, file)
    return groups


@_plot
def flow(data: ReportData, file: Path, top: int = 12) -> pd.DataFrame:
    """A Sankey-like flow (matplotlib only): REPs from projects to products to customers.

    Uses the certificate lines (issued/draft, not void). The ``top`` largest products and customers are
    shown by name, the rest grouped. Returns the links drawn (its CSV twin)."""
    rows = [{"project": ln.project_id, "product": c.product_id, "customer": c.customer, "reps_t": ln.reps_t}
            for c in data.certificates if c.status != "void" for ln in c.lines]
    links = pd.DataFrame(rows, columns=["project", "product", "customer", "reps_t"])
    fig, ax = plt.subplots(figsize=(11, 7))
    ax.set_axis_off()
    if links.empty or links["reps_t"].sum() <= 0:
        ax.text(0.5, 0.5, "no REPs assigned or allocated", ha="center", va="center", fontsize=12)
        _save(fig, file)
        return links

    def squash(col: str, label: str) -> None:
        tot = links.groupby(col)["reps_t"].sum().sort_values(ascending=False)
        if len(tot) > top:
            keep = set(tot.index[: top - 1])
            links[col] = links[col].where(links[col].isin(keep), f"{len(tot) - len(keep)} other {label}")

    squash("product", "products")
    squash("customer", "customers")
    left = links.groupby(["project", "product"], sort=False)["reps_t"].sum().reset_index()
    right = links.groupby(["product", "customer"], sort=False)["reps_t"].sum().reset_index()
    total = float(links["reps_t"].sum())
    cols = {"project": 0.0, "product": 0.5, "customer": 1.0}
    gap = 0.018
    w = 0.022

    most = max(links[c].nunique() for c in cols)
    scale = (1 - gap * (most - 1)) / total  # one scale for every column, so bands fit their nodes

    def stack(col: str) -> dict[str, list[float]]:
        t = links.groupby(col)["reps_t"].sum().sort_values(ascending=False)
        used = total * scale + gap * (len(t) - 1)
        pos, y = {}, 1.0 - (1.0 - used) / 2  # centred
        for k, v in t.items():
            h = v * scale
            pos[k] = [y - h, y, y, y]  # bottom, top, next out-offset, next in-offset
            y -= h + gap
        return pos

    pos = {c: stack(c) for c in cols}
    proj_color = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(pos["project"])}
    prod_color = {}
    for k in pos["product"]:
        main = left[left["product"] == k].sort_values("reps_t", ascending=False)["project"].iloc[0]
        prod_color[k] = proj_color[main]

    def band(x0: float, y0: float, x1: float, y1: float, h0: float, h1: float, color: str) -> None:
        xm = (x0 + x1) / 2
        verts = [(x0, y0), (xm, y0), (xm, y1), (x1, y1), (x1, y1 - h1), (xm, y1 - h1), (xm, y0 - h0), (x0, y0 - h0),
                 (x0, y0)]
        codes = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.LINETO, MPath.CURVE4, MPath.CURVE4,
                 MPath.CURVE4, MPath.CLOSEPOLY]
        ax.add_patch(PathPatch(MPath(verts, codes), facecolor=color, alpha=0.42, lw=0))

    for a, b, frame, color_of in (("project", "product", left, proj_color), ("product", "customer", right,
                                                                               prod_color)):
        frame = frame.assign(_a=frame[a].map(lambda k, a=a: -pos[a][k][1]), _b=frame[b].map(lambda k, b=b: -pos[b][k][1]))
        for r in frame.sort_values(["_a", "_b"]).itertuples():
            h = getattr(r, "reps_t") * scale
            src, dst = pos[a][getattr(r, a)], pos[b][getattr(r, b)]
            band(cols[a] + w, src[2], cols[b], dst[3], h, h, color_of[getattr(r, a)])
            src[2] -= h
            dst[3] -= h
    amounts = {c: links.groupby(c)["reps_t"].sum() for c in cols}
    for c, x in cols.items():
        for k, (lo, hi, _, _) in pos[c].items():
            color = proj_color.get(k) if c == "project" else prod_color.get(k) if c == "product" else "#5d6d7e"
            ax.add_patch(Rectangle((x, lo), w, hi - lo, color=color))
            label = f"{k}\n{amounts[c][k]:,.0f} t-CO2e" if hi - lo > 0.035 else f"{k} ({amounts[c][k]:,.0f})"
            if c == "customer":
                ax.text(x + w + 0.006, (lo + hi) / 2, label, va="center", ha="left", fontsize=7)
            elif c == "project":
                ax.text(x - 0.006, (lo + hi) / 2, label, va="center", ha="right", fontsize=7)
            else:
                ax.text(x + w + 0.004, (lo + hi) / 2, label, va="center", ha="left", fontsize=6.5,
                        bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 0.6})
    for c, x in cols.items():
        ax.text(x + w / 2, 1.04, {"project": "projects", "product": "products", "customer": "customers"}[c],
                ha="center", fontsize=9.5, fontweight="bold")
    ax.set_xlim(-0.28, 1.3)
    ax.set_ylim(-0.02, 1.08)
    kind = "certificate lines" if data.mode == "ledger" else "draft certificates (served orders)"
    ax.set_title(f"Flow of REPs, t-CO2e ({kind}; total {total:,.0f})", fontsize=10.5)
    _save(fig, file)
    return links


@_plot
def pool_balances(data: ReportData, file: Path) -> pd.DataFrame:
    """Per pool: used before (account), used by mass balance / allocation in this run, remaining; with a
    ledger the ledger's credited / issued / expired / remaining instead. Returns the numbers plotted."""
    if data.ledger is not None and len(data.ledger.balances):
        b = data.ledger.balances
        frame = pd.DataFrame({"pool_id": b["pool_id"],
                              "credited_t": (b["credited_g"] + b["adjusted_g"]) / 1e6,
                              "issued_net_t": (b["issued_g"] - b["reversed_g"]) / 1e6,
                              "expired_t": b["expired_g"] / 1e6, "remaining_t": b["remaining_g"] / 1e6})
        parts = [("issued_net_t", "issued (net of reversals)", "#1f618d"), ("expired_t", "expired (7.2.2)", "#7f8c8d"),
                 ("remaining_t", "remaining", "#82e0aa")]
        title = "Ledger pool balances, t-CO2e (credited = issued - reversed + expired + remaining)"
    else:
        p = data.tables["pools"]
        p = p[p["reps_t"] > 0]
        usable = (p["eligible"].astype(bool) & p["ended"].astype(bool)).to_numpy()
        remaining = p["remaining_t"].clip(lower=0).to_numpy(float)
        frame = pd.DataFrame({"pool_id": p["pool_id"], "reps_t": p["reps_t"], "used_before_t": p["used_before_t"],
                              "used_mass_balance_t": p.get("used_mass_balance_t", 0.0),
                              "used_allocation_t": p.get("used_allocation_t", 0.0),
                              "remaining_t": np.where(usable, remaining, 0.0),
                              "not_usable_t": np.where(usable, 0.0, remaining), "usable": usable,
                              "why_not_usable": np.where(usable, "", p["reason"].astype(object).where(p["reason"].notna(), "").astype(str).str.split(
                                  r"[:(]", regex=True).str[0].str.strip())})
        parts = [("used_before_t", "used before (account)", "#7f8c8d"),
                 ("used_mass_balance_t", "GX Mass Balance (this run)", "#1f618d"),
                 ("used_allocation_t", "GX Allocation (this run)", "#b9770e"), ("remaining_t", "remaining", "#82e0aa"),
                 ("not_usable_t", "not usable in this run", "#e5e8e8")]
        title = "Pool balances, t-CO2e (REPs = used before + used in this run + remaining)"
    frame = frame.reset_index(drop=True)
    n = max(len(frame), 1)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.38 * n))
    y = np.arange(len(frame))[::-1]
    left = np.zeros(len(frame))
    for col, label, color in parts:
        vals = frame[col].to_numpy(float)
        ax.barh(y, vals, left=left, color=color, label=label, height=0.62)
        left += vals
    if "usable" in frame:
        for yy, ok, tot, why in zip(y, frame["usable"], left, frame["why_not_usable"]):
            if not ok:
                ax.text(tot, yy, f"  {why or 'not usable'}", va="center", fontsize=6.5, color="#a93226")
    ax.set_yticks(y, frame["pool_id"], fontsize=7)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.6 / n - 0.04), ncol=len(parts), frameon=False)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    _save(fig, file)
    return frame


@_plot
def timeline(data: ReportData, file: Path) -> pd.DataFrame | None:
    """Ledger only: cumulative credited, issued, reversed, expired and remaining over the journal's timestamps."""
    if data.ledger is None or data.ledger.journal.empty:
        return None
    j = data.ledger.journal.copy()
    j = j[j["pool_id"].notna() & (j["kind"] != "attribute")]
    j["t"] = pd.to_datetime(j["created_at"], utc=True, format="ISO8601")
    sign = {"credit": 1, "adjust": 1, "reverse": 1, "issue": -1, "expire": -1}
    cum = pd.DataFrame({"time": j["t"], "seq": j["seq"]})
    for k in ("credit", "adjust", "issue", "reverse", "expire"):
        cum[k] = np.where(j["kind"] == k, j["amount_t"], 0.0).cumsum()
    cum["remaining"] = sum(np.where(j["kind"] == k, j["amount_t"], 0.0) * s for k, s in sign.items()).cumsum()
    cum = cum.reset_index(drop=True)
    cum["kind"] = j["kind"].to_numpy()
    cum["batch_id"] = j["batch_id"].to_numpy()
    span = cum["time"].iloc[-1] - cum["time"].iloc[0]
    real_time = span >= pd.Timedelta(hours=1) and cum["batch_id"].nunique() >= 2
    fig, ax = plt.subplots(figsize=(10, 4.4))
    x = cum["time"] if real_time else cum["seq"].to_numpy()
    for col, label, color in (("credit", "credited", "#1e8449"), ("issue", "issued", "#1f618d"),
                              ("reverse", "reversed (voids)", "#b9770e"), ("expire", "expired", "#7f8c8d"),
                              ("remaining", "remaining", "#a93226")):
        ax.step(x, cum[col], where="post", label=label, color=color, lw=1.6)
    if not real_time:  # event order on the axis, labelled with the journal timestamps of batches and voids
        ticks, labels, last_key = [], [], None
        for r in cum.itertuples():
            key = r.batch_id if isinstance(r.batch_id, str) else f"{r.kind}-{r.seq}"
            if key != last_key and (isinstance(r.batch_id, str) or r.kind in ("reverse", "adjust", "expire")):
                ticks.append(r.seq)
                what = "batch" if isinstance(r.batch_id, str) else {"reverse": "void"}.get(r.kind, r.kind)
                labels.append(f"{what}\n{r.time:%Y-%m-%d}\n{r.time:%H:%M:%S}")
                ax.axvline(r.seq, color="#d5dbdb", lw=0.8, zorder=0)
            last_key = key
        ax.set_xticks(ticks, labels, fontsize=6.5)
        ax.set_xlabel("journal entries in order (UTC timestamps of batches and voids)", fontsize=8)
    else:
        ax.set_xlabel("journal timestamp (UTC)", fontsize=8)
        fig.autofmt_xdate()
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7.5, frameon=False, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.set_title("Ledger: cumulative movements of REPs over time, t-CO2e (all pools)", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    _save(fig, file)
    cum["time"] = cum["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return cum
