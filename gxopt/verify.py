"""Independent re-check of a solved allocation from the result tables and the raw inputs alone.

Nothing here uses the LP, :mod:`gxopt.reps`, :mod:`gxopt.eligibility` or :mod:`gxopt.split`: the pools'
REPs after netting, the REPs reflected in each CFP, caps, claimed CFPs and the eligibility windows are
recomputed from the input tables with their own (vectorized) formulas, written from the guideline's
words, so a misreading in the engine shows up as a violation. Returns a list of violations (empty = every
rule holds); at most ``limit`` lines per rule are listed, with the count of the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxopt.graph import parse_evidence, split_route
from gxopt.results import Results
from gxopt.scenario import Scenario

ABS_TOL = 1e-6
REL_TOL = 1e-7


def _tol(x: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | float:
    return ABS_TOL + REL_TOL * np.abs(x)


class Violation(str):
    """One broken rule, read as its text: the rule's name (the LP family it concerns where there is one:
    ``reps``, ``pool_account``, ``order_cap``, ``allocation_conservation``, ``objective_fix``; else
    ``pool_reps``, ``cfps``, ``claims``, ``certifiable``), the guideline clause and the ids that break it
    (at most ``limit`` shown, ``more`` not shown)."""

    rule: str
    clause: str
    ids: tuple[str, ...]
    more: int

    def __new__(cls, rule: str, clause: str, ids: tuple[str, ...], text: str, more: int = 0) -> Violation:
        shown = f": {', '.join(ids)}" if ids else ""
        obj = super().__new__(cls, f"{text}{shown}" + (f" (and {more} more)" if more else ""))
        obj.rule, obj.clause, obj.ids, obj.more = rule, clause, ids, more
        return obj


RULE_OF = (  # text of a check -> its rule name (LP family where the check re-does one)
    ("a project's pools", "pool_reps"), ("a pool holds", "pool_reps"), ("negative REPs", "reps"),
    ("allocation from", "reps"), ("gas type", "reps"), ("mass balance from", "reps"), ("GX Allocation from", "reps"),
    ("GX Allocation delivered", "reps"), ("CFP data older", "reps"), ("evidence path", "reps"),
    ("marked certifiable", "certifiable"), ("pool ", "pool_account"), ("order cap", "order_cap"),
    ("alpha outside", "order_cap"), ("GX Allocation moved", "allocation_conservation"), ("buyers may claim", "claims"),
    ("objective value", "objective_fix"))


class _Report:
    def __init__(self, limit: int) -> None:
        self.lines: list[Violation] = []
        self.limit = limit

    def add(self, mask: pd.Series | np.ndarray, ids: pd.Series | None, text: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if not n:
            return
        shown = tuple(pd.Series(ids)[mask].astype(str)[: self.limit]) if ids is not None else ()
        rule = next((r for prefix, r in RULE_OF if text.startswith(prefix)), "cfps")
        clause = text[text.rindex("(") + 1:-1] if text.endswith(")") else ""
        self.lines.append(Violation(rule, clause, shown, text, n - len(shown) if ids is not None else 0))

    def fail(self, text: str) -> None:
        """A rule over the whole run (no ids)."""
        self.add(np.array([True]), None, text)


def _days(a: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype="datetime64[D]")


def _evidence_ok(evidence: str, node: str, route: list[str], edges: set[tuple[str, str, str]]) -> bool:
    """6.7 / 7.2.3 read from the words: the project's unit is on the product's line, or feeds it.

    The path starts at the project's unit; every step is an edge of the plant model of the kind it
    states; the steps before the product's line are inputs or utilities (a by-product connects nothing);
    from the first unit of the line on, it follows the route to the product's last unit.
    """
    nodes, kinds = parse_evidence(evidence)
    if not nodes or nodes[0] != node or nodes[-1] != route[-1]:
        return False
    if any((u, v, k) not in edges for u, v, k in zip(nodes, nodes[1:], kinds)):
        return False
    feeds = next((i for i, k in enumerate(kinds) if k == "material"), len(kinds))
    if any(k not in ("input", "utility") for k in kinds[:feeds]) or any(k != "material" for k in kinds[feeds:]):
        return False
    line = nodes[feeds:]
    return line[0] in route and line == route[route.index(line[0]):]


def _netted_reps(s: Scenario) -> pd.DataFrame:
    """REPs of every (project, period) from project_periods.csv, increases included and netted (6, 6.5, 6.6).

    Signed period amount: (baseline - project) lowered by the uncertainty when a reduction, raised when an
    increase; with side uncertainties baseline x (1 - u_b) - project x (1 + u_e). Projects sharing a node
    in overlapping periods are one 6.6 group (largest uncertainty, split by share). "Both reductions and
    increases shall be included": the project's pools together hold the sum of its period amounts, never
    below zero.
    """
    per = s.periods.sort_values(["project_id", "period_end"]).reset_index(drop=True)
    node = per["project_id"].map(s.projects.drop_duplicates("project_id").set_index("project_id")["node"])
    unc = per["uncertainty"].fillna(0.0).copy()
    ub, ue = per["baseline_uncertainty"].copy(), per["project_uncertainty"].copy()
    share = pd.Series(1.0, index=per.index)
    for _, rows in per.groupby(node):
        for i in rows.index:
            mates = rows[(rows["period_start"] <= per.at[i, "period_end"]) &
                         (rows["period_end"] >= per.at[i, "period_start"]) &
                         (rows["project_id"] != per.at[i, "project_id"])]
            if len(mates):
                grp = pd.concat([rows.loc[[i]], mates])
                unc[i], ub[i], ue[i] = grp["uncertainty"].max(), grp["baseline_uncertainty"].max(), \
                    grp["project_uncertainty"].max()
                unc[i] = 0.0 if pd.isna(unc[i]) else unc[i]
                given = per.at[i, "attribution_share"]
                share[i] = given if pd.notna(given) else 1.0 / len(grp)
    base = per["baseline_intensity"] * per["output_t"]
    red = base - per["project_emissions_t"]
    sides = ub.notna() & ue.notna()
    amount = np.where(sides, base * (1 - ub.fillna(0)) - per["project_emissions_t"] * (1 + ue.fillna(0)),
                      np.where(red >= 0, red * (1 - unc), red * (1 + unc))) * share
    per["amount"] = amount
    per["pool_id"] = per["project_id"].astype(str) + "@" + per["period_end"].dt.strftime("%Y-%m-%d")
    return per


def verify(s: Scenario, res: Results, stage_values: dict[str, float] | None = None,
           limit: int = 10) -> list[Violation]:
    """Every rule of ch. 5-8 re-checked on the results; returns the violations (empty: every rule holds)."""
    rep = _Report(limit)
    al, orders, pools = res.allocations, res.orders, res.pools
    prod = s.model.products.set_index("product_id")
    proj = s.projects.set_index("project_id")
    st = s.settings
    as_of = pd.Timestamp(st.as_of)
    op_start, op_end = pd.Timestamp(st.operational_period.start), pd.Timestamp(st.operational_period.end)
    expiry_years = st.mass_balance.expiry_years
    p_idx = pools.set_index("pool_id")

    # --- REPs of the pools, increases included (ch. 6, 6.5, 6.6): a project's pools hold its net effect over
    # all its periods (never below zero), and netting never raises a period above its own reduction
    net = _netted_reps(s)
    held = p_idx["reps_t"].reindex(net["pool_id"]).to_numpy(float)
    total = pd.Series(held).groupby(net["project_id"].to_numpy()).sum()
    want = np.maximum(net.groupby("project_id")["amount"].sum(), 0.0).reindex(total.index)
    rep.add(np.abs(total - want).to_numpy() > _tol(want.to_numpy()) * 10, pd.Series(total.index),
            "a project's pools do not hold its net reduction over all periods, increases included (6, 6.5)")
    rep.add(held > np.maximum(net["amount"].to_numpy(), 0.0) + _tol(held), net["pool_id"],
            "a pool holds more than its own period's reduction (6.5)")
    rep.add(pools["reps_t"].to_numpy() < -ABS_TOL, pools["pool_id"], "a pool holds negative REPs")

    # --- per allocation line: eligibility, physical connection, gas, windows (from raw inputs)
    o_in = s.orders.set_index("order_id")
    line_order = o_in.iloc[o_in.index.get_indexer(al["order_id"])].reset_index()
    per = p_idx.loc[al["pool_id"]].reset_index()
    ids = al["order_id"].astype(str) + " <- " + al["pool_id"].astype(str)
    rep.add(al["reps_t"] < -ABS_TOL, ids, "negative REPs on allocation lines")
    rep.add(~per["eligible"].to_numpy(bool), ids, "allocation from an ineligible pool (6.2.1, 6.3, 6.8)")
    rep.add(per["period_end"] > as_of, ids, "allocation from a pool whose period had not ended by as_of")
    gas = line_order["gas"]
    rep.add(gas.notna().to_numpy() & (gas.to_numpy() != per["gas"].to_numpy()), ids,
            "gas type differs from what the order asks for (7.3.1)")
    mb = (line_order["method"] == "mass_balance").to_numpy()
    expires = per["period_end"] + pd.DateOffset(years=expiry_years)
    rep.add(mb & ((line_order["delivery_date"] > expires) | (as_of > expires)).to_numpy(), ids,
            "mass balance from an expired pool (7.2.2)")
    lp = line_order["product_id"]
    c_start, c_end = _days(lp.map(prod["cfp_period_start"])), _days(lp.map(prod["cfp_period_end"]))
    inside_days = (np.minimum(_days(per["period_end"]), c_end) - np.maximum(_days(per["period_start"]), c_start)
                   ).astype(np.int64) + 1
    rep.add(~mb & (inside_days <= 0), ids,
            "GX Allocation from a pool with no day inside the product's CFP data period (ch. 4, 8.2.2)")
    rep.add(~mb & ((line_order["delivery_date"] < op_start) | (line_order["delivery_date"] > op_end)).to_numpy(),
            ids, "GX Allocation delivered outside the operational period (8.2.3)")
    stale = (lp.map(prod["cfp_period_end"]) + pd.DateOffset(years=5) < as_of) & lp.map(
        prod["data_age_justification"]).isna()
    rep.add(stale.to_numpy(bool), ids, "CFP data older than five years used without a stated justification (5.2.2)")
    verified = al["project_id"].map(proj["verified"]).fillna(False).astype(bool)
    rep.add(al["certifiable"].to_numpy(bool) & ~verified.to_numpy(), ids,
            "marked certifiable but the project is not third-party verified (6.8)")
    edges = {(u, v, k) for u, v, k in s.model.edges[["source", "target", "kind"]].itertuples(index=False)}
    pairs = al[["project_id", "product_id", "evidence"]].drop_duplicates()
    bad_pairs = [not _evidence_ok(str(ev), proj.at[j, "node"], split_route(prod.at[k, "route"]), edges)
                 for j, k, ev in pairs.itertuples(index=False)]
    rep.add(np.array(bad_pairs, dtype=bool), pairs["project_id"] + " -> " + pairs["product_id"],
            "evidence path does not prove a physical connection through the line or its feeders (6.7, 7.2.3)")

    # --- account: no pool overdrawn, remaining reconciles (7.2.1, 7.3.1, 8.2.1)
    drawn = al.groupby("pool_id")["reps_t"].sum().reindex(pools["pool_id"]).fillna(0.0).to_numpy()
    total = pools["used_before_t"].to_numpy() + drawn
    rep.add(total > pools["reps_t"].to_numpy() + _tol(pools["reps_t"].to_numpy()), pools["pool_id"],
            "pool account exceeded (7.3.1)")
    rep.add(np.abs(pools["remaining_t"].to_numpy() - (pools["reps_t"].to_numpy() - total)) >
            _tol(pools["reps_t"].to_numpy()), pools["pool_id"], "pool remaining_t does not reconcile")

    # --- REPs reflected in each product's CFP (7.3.3, 8.2.2, 8.3.2): the pool's days inside the CFP data
    # period, pro rata, shared over the production of every product connected to the project
    conn = res.connections
    elig_pools = pools[pools["eligible"]]
    links = conn.merge(elig_pools[["pool_id", "project_id", "period_start", "period_end", "reps_t"]], on="project_id")
    production = prod["production_t"]
    denom = conn.assign(q=conn["product_id"].map(production)).groupby("project_id")["q"].sum()
    l_start, l_end = _days(links["product_id"].map(prod["cfp_period_start"])), _days(
        links["product_id"].map(prod["cfp_period_end"]))
    days_in = np.maximum((np.minimum(_days(links["period_end"]), l_end) -
                          np.maximum(_days(links["period_start"]), l_start)).astype(np.int64) + 1, 0)
    days_all = (_days(links["period_end"]) - _days(links["period_start"])).astype(np.int64) + 1
    links["per_t"] = links["reps_t"].to_numpy(float) * days_in / days_all / links["project_id"].map(denom).to_numpy(
        float)
    links["q"] = links["product_id"].map(production).to_numpy(float)
    term = links.groupby("product_id")["per_t"].sum().reindex(prod.index).astype("float64").fillna(0.0)
    added = (links["per_t"] * links["q"]).groupby(links["pool_id"]).sum().astype("float64")
    basis = prod["general_cfp"] + term  # the pre-project basis of both methods (8.1.1: = Residual CFP)

    # --- per order: caps, alpha, CFPs (7.3.2, 8.1.1, 8.3.2)
    oo = o_in.iloc[o_in.index.get_indexer(orders["order_id"])].reset_index()
    pcode = prod.index.get_indexer(oo["product_id"])

    def per_order(col: pd.Series) -> np.ndarray:
        return col.reindex(prod.index).to_numpy(float)[pcode]

    got = al.groupby("order_id")["reps_t"].sum().reindex(orders["order_id"]).fillna(0.0).to_numpy()
    ton = oo["tonnage_t"].to_numpy(float)
    # 7.3.2: never above the product's emission intensity and never on upstream scope 3: scope 1+2 of the
    # pre-project basis. 8.3.2: at most Residual CFP's scope 1+2 and allocable upstream part.
    s12 = per_order(prod["scope1"]) + per_order(prod["scope2"]) + per_order(term)
    is_alloc = (oo["method"] == "allocation").to_numpy()
    full = np.where(is_alloc, s12 + per_order(prod["scope3_allocable"]), s12)
    amax = np.where(is_alloc, oo["alpha_max"].fillna(1.0).to_numpy(), 1.0)
    cap = np.fmin(amax * ton * full, oo["requested_reps_t"].to_numpy(float))
    oid = orders["order_id"]
    rep.add(got > cap + _tol(cap), oid, "order cap exceeded (7.3.2 / 8.3.2)")
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(full > 0, got / (ton * full), 0.0)
    rep.add((alpha < -ABS_TOL) | (alpha > 1 + ABS_TOL), oid, "alpha outside [0, 1] (8.1.1)")
    rep.add(np.abs(alpha - orders["alpha"].to_numpy()) > 1e-6, oid, "reported alpha differs from REPs / cap")
    non_alloc = per_order(prod["scope3_upstream"]) - per_order(prod["scope3_allocable"])
    b = per_order(basis)
    allocated = full * (1 - alpha) + non_alloc
    rep.add(is_alloc & ((np.abs(b - orders["residual_cfp"].to_numpy()) > 1e-6) |
                        (np.abs(allocated - orders["allocated_cfp"].to_numpy()) > 1e-6)), oid,
            "residual / allocated CFP do not follow 8.1.1")
    # what the buyer may claim: the basis less the REPs it bought (7.3, Figure 1), the Allocated CFP (8.5)
    claimed = np.where(is_alloc, allocated, b - got / ton)
    rep.add(np.abs(claimed - orders["claimed_cfp"].to_numpy(float)) > 1e-6, oid,
            "claimed CFP is not the basis (General CFP + REPs reflected in it) less the REPs per tonne (7.3.3, 8.1.1)")
    rep.add(np.abs(orders["gx_tonnage_t"].to_numpy() - alpha * ton) > _tol(ton), oid,
            "gx_tonnage_t is not alpha x tonnage")
    pr_out = res.products.set_index("product_id")
    rep.add(np.abs(pr_out["non_gx_cfp"].reindex(prod.index).to_numpy(float) - basis.to_numpy(float)) > 1e-6,
            pd.Series(prod.index), "non-GX steel does not carry the basis with the 7.3.3 correction")

    # --- total emissions never fall under GX Allocation (ch. 4, 8.1, 8.3.1): per pool
    moved = al[al["method"] == "allocation"].groupby("pool_id")["reps_t"].sum()
    limit_p = added.reindex(moved.index).fillna(0.0) - p_idx.loc[moved.index, "used_before_t"]
    rep.add((moved > limit_p + _tol(limit_p)).to_numpy(), pd.Series(moved.index),
            "GX Allocation moved more than the pool added to residual CFPs (8.1: total emissions would fall)")

    # --- no double counting across both methods: what buyers may claim (the GX orders at their claimed
    # CFP, the rest of each product's production at its non-GX CFP, less REPs claimed under earlier
    # certificates) never adds up to less than the organization's actual emissions (General CFPs x
    # production, less the verified REPs of ended pools that no CFP contains)
    served = got > 0
    gx_t = pd.Series(ton * served).groupby(oo["product_id"].to_numpy()).sum().reindex(prod.index).fillna(0.0)
    gx_claims = pd.Series(ton * orders["claimed_cfp"].to_numpy(float) * served).groupby(
        oo["product_id"].to_numpy()).sum().reindex(prod.index).fillna(0.0)
    claims = float((gx_claims + pr_out["non_gx_cfp"].reindex(prod.index) * (production - gx_t)).sum())
    ended = pools[pools["eligible"] & (pools["period_end"] <= as_of)].set_index("pool_id")
    claims -= float(ended["used_before_t"].sum())
    not_in = float((ended["reps_t"] - added.reindex(ended.index).fillna(0.0)).sum())
    actual = float((production * prod["general_cfp"]).sum()) - not_in
    if claims < actual - _tol(actual) * 10:
        rep.fail(f"buyers may claim {claims:,.3f} t-CO2e in total, below the organization's actual emissions "
                         f"{actual:,.3f}: {actual - claims:,.3f} t-CO2e counted twice (7.3.3, 8.1, 8.3.1)")

    # --- lexicographic objective: the first stage lost nothing
    if stage_values:
        value = float((orders["premium"] * got).sum())
        best = stage_values.get("value", 0.0)
        if value < best - 10 * _tol(best):
            rep.fail(f"objective value {value} below the first-stage optimum {best}")
    return rep.lines
