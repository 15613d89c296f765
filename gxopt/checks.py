"""Cross-table and guideline rules on typed inputs; every rule adds Issues, none stops at the first.

Each ``check_*`` function takes typed tables and returns a list of :class:`~gxopt.errors.Issue`.
:func:`check_scenario` runs them all; single-cell rules (types, ranges, enums, unique ids) live in
:mod:`gxopt.schema`.
"""

from __future__ import annotations

import pandas as pd

from gxopt.errors import Issue
from gxopt.schema import GHG_SPECIES
from gxopt.graph import ProcessGraph, build_graph, material_cycle, split_route
from gxopt.reps import overlap_groups
from gxopt.scenario import PlantModel, Scenario

SCOPE_TOL = 1e-6
SHARE_TOL = 1e-6


def _rows(df: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    return df[mask.fillna(False).astype(bool)]


def check_model(model: PlantModel, pg: ProcessGraph | None = None) -> list[Issue]:
    """Rules of the plant model: graph consistency, routes, CFP breakdown (``pg``: the run's graph)."""
    issues: list[Issue] = []
    nodes, edges, products = model.nodes, model.edges, model.products
    f_edges, f_prod = model.label("edges.csv"), model.label("products.csv")
    known = set(nodes["node_id"].dropna())
    for col in ("source", "target"):
        for r in _rows(edges, edges[col].notna() & ~edges[col].isin(known)).itertuples():
            issues.append(Issue(f_edges, r.src_line, col, "unknown node (not in nodes.csv)", value=getattr(r, col)))
    for r in _rows(edges, edges["source"].notna() & (edges["source"] == edges["target"])).itertuples():
        issues.append(Issue(f_edges, r.src_line, "target", "an edge may not loop back to its source",
                            value=r.target))
    pg = pg if pg is not None else build_graph(nodes, edges)
    cycle = material_cycle(pg)
    if cycle:
        issues.append(Issue(f_edges, None, "kind", "material edges form a cycle: " + " > ".join(cycle)))
    site_of = nodes.set_index("node_id")["site"] if nodes["node_id"].is_unique else pd.Series(dtype=object)
    for r in products.itertuples():
        if r.route is None:
            continue
        issues.extend(_check_route(pg, site_of, f_prod, r))
    scope_sum = products["scope1"] + products["scope2"] + products["scope3_upstream"]
    bad = (scope_sum - products["general_cfp"]).abs() > SCOPE_TOL
    for r, total in zip(_rows(products, bad).itertuples(), scope_sum[bad.fillna(False)]):
        issues.append(Issue(f_prod, r.src_line, "general_cfp",
                            f"must equal scope1 + scope2 + scope3_upstream = {total:.6g}", "5.2.4",
                            f"{r.general_cfp:g}"))
    bad = products["scope3_allocable"] > products["scope3_upstream"] + SCOPE_TOL
    for r in _rows(products, bad).itertuples():
        issues.append(Issue(f_prod, r.src_line, "scope3_allocable",
                            f"must not exceed scope3_upstream ({r.scope3_upstream:g})", "8.1.2",
                            f"{r.scope3_allocable:g}"))
    bad = products["cfp_period_end"] < products["cfp_period_start"]
    for r in _rows(products, bad).itertuples():
        issues.append(Issue(f_prod, r.src_line, "cfp_period_end", "must not be before cfp_period_start", "8.2.2"))
    return issues


def _check_route(pg: ProcessGraph, site_of: pd.Series, label: str, r: object) -> list[Issue]:
    issues = []
    route = split_route(r.route)  # type: ignore[attr-defined]
    line = r.src_line  # type: ignore[attr-defined]
    unknown = [n for n in route if n not in pg.graph]
    if unknown or "" in route:
        return [Issue(label, line, "route", "route names unknown node(s): " + ", ".join(unknown or ["''"]),
                      "6.7", r.route)]  # type: ignore[attr-defined]
    if len(set(route)) != len(route):
        issues.append(Issue(label, line, "route", "route visits a node twice", "6.7", r.route))  # type: ignore[attr-defined]
    for u, v in zip(route, route[1:]):
        if not pg.has_material_edge(u, v):
            issues.append(Issue(label, line, "route", f"'{u} > {v}' is not a material edge of edges.csv: "
                                "the route must be a path of material flows", "6.7", r.route))  # type: ignore[attr-defined]
    last_site = site_of.get(route[-1])
    if r.site is not None and last_site is not None and last_site != r.site:  # type: ignore[attr-defined]
        issues.append(Issue(label, line, "site", f"must be the site of the route's last node '{route[-1]}' "
                            f"({last_site})", value=r.site))  # type: ignore[attr-defined]
    return issues


def check_projects(s: Scenario) -> list[Issue]:
    """Rules of projects.csv and project_periods.csv (6.2.2.2, 6.6, 6.8)."""
    issues: list[Issue] = []
    p, per = s.projects, s.periods
    f_p, f_per = s.label("projects.csv"), s.label("project_periods.csv")
    nodes = set(s.model.nodes["node_id"].dropna())
    for r in _rows(p, p["node"].notna() & ~p["node"].isin(nodes)).itertuples():
        issues.append(Issue(f_p, r.src_line, "node", "unknown node (not in the plant model's nodes.csv)", "6.7",
                            r.node))
    for col in ("verifier", "statement_id"):
        for r in _rows(p, (p["verified"] == True) & p[col].isna()).itertuples():  # noqa: E712
            issues.append(Issue(f_p, r.src_line, col, "a verified project must name its verifier and statement",
                                "6.8"))
    for r in _rows(p, p["gases"].notna()).itertuples():
        listed = [g.strip() for g in str(r.gases).split(";")]
        unknown = [g for g in listed if g not in GHG_SPECIES]
        if unknown or len(set(listed)) != len(listed):
            issues.append(Issue(f_p, r.src_line, "gases", "list each gas once, ';'-separated, from "
                                + ", ".join(GHG_SPECIES), "6.5, 7.3.1", r.gases))
        elif r.gas == "CO2" and listed != ["CO2"]:
            issues.append(Issue(f_p, r.src_line, "gases", "gas is CO2, so the REPs include CO2 only; use gas GHG for "
                                "REPs that include other gases", "6.5, 7.3.1", r.gases))
    known = set(p["project_id"].dropna())
    for r in _rows(per, per["project_id"].notna() & ~per["project_id"].isin(known)).itertuples():
        issues.append(Issue(f_per, r.src_line, "project_id", "unknown project (not in projects.csv)",
                            value=r.project_id))
    bad = per["period_end"] < per["period_start"]
    for r in _rows(per, bad).itertuples():
        issues.append(Issue(f_per, r.src_line, "period_end", "must not be before period_start", "6.2.2.2"))
    too_long = per["period_end"] >= per["period_start"] + pd.DateOffset(years=1)
    for r in _rows(per, too_long).itertuples():
        issues.append(Issue(f_per, r.src_line, "period_end",
                            "calculation period longer than one year (must end before "
                            f"{(r.period_start + pd.DateOffset(years=1)).date()})", "6.2.2.2",
                            str(r.period_end.date())))
    has_u = per["uncertainty"].notna()
    has_b, has_e = per["baseline_uncertainty"].notna(), per["project_uncertainty"].notna()
    for r in _rows(per, ~has_u & ~(has_b & has_e)).itertuples():
        col = "uncertainty" if not (has_b[r.Index] or has_e[r.Index]) else (
            "project_uncertainty" if has_b[r.Index] else "baseline_uncertainty")
        issues.append(Issue(f_per, r.src_line, col, "give uncertainty (of the reduction), or both baseline_uncertainty "
                            "and project_uncertainty (of each side's emissions); empty is not zero", "6.5"))
    for r in _rows(per, has_u & (has_b | has_e)).itertuples():
        issues.append(Issue(f_per, r.src_line, "uncertainty", "give either uncertainty or the two side uncertainties, "
                            "not both: the REPs would be discounted twice", "6.5", f"{r.uncertainty:g}"))
    ok = per.dropna(subset=["project_id", "period_start", "period_end"])
    ok = ok[ok["period_end"] >= ok["period_start"]]
    for _, rows in ok.sort_values(["project_id", "period_start"]).groupby("project_id"):
        prev = None
        for r in rows.itertuples():
            if prev is not None and r.period_start <= prev.period_end:
                issues.append(Issue(f_per, r.src_line, "period_start",
                                    f"overlaps the project's period ending {prev.period_end.date()} (line "
                                    f"{prev.src_line}): the same reductions would be counted twice", "6.6"))
            prev = r
    if not issues:
        issues.extend(_check_groups(s, ok))
    return issues


def _check_groups(s: Scenario, per: pd.DataFrame) -> list[Issue]:
    """6.6: rows of a node-level group must carry the node's identical data and consistent shares."""
    issues: list[Issue] = []
    f_per = s.label("project_periods.csv")
    node_of = s.projects.drop_duplicates("project_id").set_index("project_id")["node"]
    groups = overlap_groups(per, node_of)
    for g, rows in per.groupby(groups[groups != ""]):
        members = ", ".join(sorted(rows["project_id"].unique()))
        head = rows.iloc[0]
        for col in ("period_start", "period_end", "baseline_intensity", "output_t", "project_emissions_t"):
            diff = rows[rows[col] != head[col]]
            for r in diff.itertuples():
                issues.append(Issue(
                    f_per, r.src_line, col,
                    f"projects {members} run at node {str(g).split('#')[0]} in overlapping periods; they are "
                    f"calculated once at node level, so every row of the group must give the node's same "
                    f"{col} (line {head['src_line']} gives {head[col]})", "6.6", str(getattr(r, col))))
        gases = rows["project_id"].map(s.projects.drop_duplicates("project_id").set_index("project_id")["gas"])
        if gases.nunique() > 1:
            for r in rows[gases != gases.iloc[0]].itertuples():
                issues.append(Issue(
                    f_per, r.src_line, "project_id",
                    f"projects {members} are one 6.6 node-level group, calculated once from the node's data, so "
                    f"their REPs must be of one gas type (line {head['src_line']}: {gases.iloc[0]}, this project: "
                    f"{gases[r.Index]}; projects.csv gas)", "6.6, 6.5", r.project_id))
        shares = rows["attribution_share"]
        if shares.notna().any() and shares.isna().any():
            for r in rows[shares.isna()].itertuples():
                issues.append(Issue(f_per, r.src_line, "attribution_share",
                                    f"give a share on every row of the group ({members}) or on none", "6.6"))
        elif shares.notna().all() and abs(shares.sum() - 1.0) > SHARE_TOL:
            issues.append(Issue(f_per, int(rows["src_line"].iloc[0]), "attribution_share",
                                f"shares of the group ({members}) must add up to 1", "6.6",
                                f"{shares.sum():g}"))
    solo = groups == ""
    for r in _rows(per, solo & per["attribution_share"].notna()).itertuples():
        issues.append(Issue(f_per, r.src_line, "attribution_share",
                            "only for projects sharing a node in overlapping periods (6.6 group)", "6.6",
                            f"{r.attribution_share:g}"))
    return issues


def check_cfp_basis(s: Scenario, conn: pd.DataFrame) -> list[Issue]:
    """A ``cfp_basis`` still given in products.csv must agree with the dates (7.3.3, 8.2.2).

    A project's effect is in a CFP when the project started (its first calculation period began) no
    later than the CFP data period ended: then the CFP is post-project for it. ``pre_project`` contradicts
    any such physically connected, eligible project; ``post_project`` contradicts a product whose connected
    eligible projects all started after its CFP data period ended. Without connected projects either is fine.
    ``conn`` are the physical connections of the run.
    """
    from gxopt.reps import project_status

    products = s.model.products
    given = products[products["cfp_basis"].notna()]
    if given.empty:
        return []
    status = project_status(s)
    eligible = set(status.loc[status["eligible"].to_numpy(bool), "project_id"])
    conn = conn[conn["project_id"].isin(eligible) & conn["product_id"].isin(set(given["product_id"]))]
    first = s.periods.groupby("project_id")["period_start"].min()
    conn = conn.assign(first=conn["project_id"].map(first)).dropna(subset=["first"])
    issues: list[Issue] = []
    f_prod = s.model.label("products.csv")
    for r in given.itertuples():
        mine = conn[conn["product_id"] == r.product_id]
        if mine.empty:
            continue
        inside = mine[mine["first"] <= r.cfp_period_end]
        period = f"{r.cfp_period_start.date()}..{r.cfp_period_end.date()}"
        if r.cfp_basis == "pre_project" and len(inside):
            j = inside.iloc[0]
            issues.append(Issue(f_prod, r.src_line, "cfp_basis",
                                f"pre_project contradicts the dates: project {j['project_id']} (physically connected) "
                                f"started {j['first'].date()}, before the CFP data period {period} ended, so its "
                                "effect is in this CFP; drop the column (it is derived) or correct it", "7.3.3, 8.2.2",
                                r.cfp_basis))
        elif r.cfp_basis == "post_project" and inside.empty:
            j = mine.sort_values("first").iloc[0]
            issues.append(Issue(f_prod, r.src_line, "cfp_basis",
                                f"post_project contradicts the dates: the CFP data period {period} ended before every "
                                f"connected project started (earliest {j['project_id']}, {j['first'].date()}); drop "
                                "the column (it is derived) or correct it", "7.3.3, 8.2.2", r.cfp_basis))
    return issues


def check_orders(s: Scenario) -> list[Issue]:
    """Rules of orders.csv: known products, method-specific columns."""
    issues: list[Issue] = []
    o = s.orders
    f_o = s.label("orders.csv")
    known = set(s.model.products["product_id"].dropna())
    for r in _rows(o, o["product_id"].notna() & ~o["product_id"].isin(known)).itertuples():
        issues.append(Issue(f_o, r.src_line, "product_id", "unknown product (not in the plant model's products.csv)",
                            value=r.product_id))
    for r in _rows(o, (o["method"] == "mass_balance") & o["alpha_max"].notna()).itertuples():
        issues.append(Issue(f_o, r.src_line, "alpha_max",
                            "alpha_max applies to GX Allocation orders only; leave it empty for mass_balance",
                            "8.1.1", f"{r.alpha_max:g}"))
    return issues


def check_account(s: Scenario) -> list[Issue]:
    """Rules of account.csv on the inputs alone: every row names a pool of project_periods.csv (7.2.1)."""
    a = s.account
    if a.empty:
        return []
    per = s.periods
    known = set(per["project_id"].astype(str) + "@" + per["period_end"].dt.strftime("%Y-%m-%d"))
    key = a["project_id"].astype(str) + "@" + a["period_end"].dt.strftime("%Y-%m-%d")
    unknown = a["project_id"].notna() & a["period_end"].notna() & ~key.isin(known)
    return [Issue(s.label("account.csv"), r.src_line, "period_end", "no such pool (project_id, period_end) in "
                  "project_periods.csv", value=f"{r.project_id}, {r.period_end.date()}")
            for r in _rows(a, unknown).itertuples()]


def check_account_use(s: Scenario, pools: pd.DataFrame) -> list[Issue]:
    """account.csv never uses more than a pool holds (7.2.1, 7.3.1), on the pools computed once per run."""
    a = s.account
    if a.empty:
        return []
    reps = pools.set_index("pool_id")["reps_t"]
    key = a["project_id"].astype(str) + "@" + a["period_end"].dt.strftime("%Y-%m-%d")
    used = a.assign(_key=key)[key.isin(reps.index)].groupby("_key")["used_t"].sum()
    issues = []
    for k, u in used.items():
        if u > reps[k] + 1e-9:
            line = int(a.loc[key == k, "src_line"].iloc[-1])
            issues.append(Issue(s.label("account.csv"), line, "used_t",
                                f"more REPs used than the pool holds ({reps[k]:.3f} t-CO2e): the account may "
                                "never go negative (the pool's REPs are after netting the project's increases)", "7.2.1, 7.3.1", f"{u:g}"))
    return issues


def table_of(label: str) -> str:
    """The input table an issue's file label names: ``.../orders.csv``, ``.../scenario.xlsx sheet orders``."""
    if " sheet " in label:
        return label.rsplit(" sheet ", 1)[1]
    return label.rsplit("/", 1)[-1].rsplit(".", 1)[0]


RELIED_ON = ("projects", "project_periods", "account", "nodes", "edges", "products")


def check_scenario(s: Scenario, prior: list[Issue] | None = None, pg: ProcessGraph | None = None) -> list[Issue]:
    """Run every cross-table rule on the inputs alone; ``prior`` are the single-cell issues already found.

    Each rule family runs on its own, so one that trips over a cell already reported as bad hides
    nothing else. Rules on computed values (account use against the pools' REPs, a stated cfp_basis
    against the connections) are :func:`check_computed`, run once the pools and connections exist.
    """
    prior = prior or []
    issues: list[Issue] = []
    for check in (lambda: check_model(s.model, pg), lambda: check_projects(s), lambda: check_orders(s),
                  lambda: check_account(s)):
        issues += _isolated(check, prior)
    return issues


def check_computed(s: Scenario, pools: pd.DataFrame, conn: pd.DataFrame) -> list[Issue]:
    """Input rules that need the pools (computed once) and the physical connections (built once)."""
    return check_account_use(s, pools) + check_cfp_basis(s, conn)


def _isolated(check, prior: list[Issue]) -> list[Issue]:  # type: ignore[no-untyped-def]
    try:
        return check()
    except Exception:  # noqa: BLE001  a rule tripped over cells already reported as bad
        if not prior:
            raise
        return []
