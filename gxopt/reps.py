"""REPs per pool (project x calculation period): ch. 6 rules, 6.6 node-level groups, project eligibility.

The pool table is pure pandas in, pandas out. Formula (6.1, 6.5)::

    gross  = baseline_intensity * output_t - project_emissions_t      (an intensity baseline)
    reps   = max(gross, 0) * (1 - uncertainty)                         (conservative under uncertainty)

6.6 rule: projects at the same node whose calculation periods overlap form a group that is
calculated once from the node's own data (identical rows enforced by :mod:`gxopt.checks`), with the
largest uncertainty of the group, and split by ``attribution_share`` (equal shares when none is
given). Their effects therefore accumulate in the node's measured emissions but are counted once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxopt.schema import PROJECT_KINDS_ELIGIBLE
from gxopt.scenario import Scenario

POOL_ID_SEP = "@"


def pool_id(project_id: pd.Series, period_end: pd.Series) -> pd.Series:
    """Stable pool id ``PROJECT@YYYY-MM-DD``."""
    return project_id.astype(str) + POOL_ID_SEP + period_end.dt.strftime("%Y-%m-%d")


def _root(parent: dict[int, int], i: int) -> int:
    """Union-find root of ``i`` (with path halving)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def overlap_groups(periods: pd.DataFrame, project_node: pd.Series) -> pd.Series:
    """Group label per period row: rows of different projects at one node with overlapping periods share it.

    ``project_node`` maps project_id -> node. A row that overlaps nothing gets a group of its own.
    Returned labels are ``"<node>#<k>"`` for true groups and ``""`` for singletons.
    """
    labels = pd.Series("", index=periods.index, dtype=object)
    node = periods["project_id"].map(project_node[~project_node.index.duplicated()])
    for n, rows in periods.assign(_node=node).groupby("_node", sort=True):
        rows = rows.sort_values(["period_start", "period_end", "project_id"])
        parent = {i: i for i in rows.index}
        items = list(rows[["project_id", "period_start", "period_end"]].itertuples())
        for a in range(len(items)):
            for b in range(a + 1, len(items)):
                ia, pa, sa, ea = items[a]
                ib, pb, sb, eb = items[b]
                if sb > ea:
                    break
                if pa != pb and sa <= eb and sb <= ea:
                    parent[_root(parent, ib)] = _root(parent, ia)
        comps: dict[int, list[int]] = {}
        for i in rows.index:
            comps.setdefault(_root(parent, i), []).append(i)
        k = 0
        for members in sorted(comps.values(), key=min):
            if len({periods.at[i, "project_id"] for i in members}) > 1:
                k += 1
                labels[members] = f"{n}#{k}"
    return labels


def project_status(scenario: Scenario) -> pd.DataFrame:
    """Eligibility of each project under ch. 6, with the reason when it is not eligible.

    Columns: ``project_id, node, site, steel, eligible, certifiable, reason``. ``eligible`` means the
    project may feed orders in this run (unverified projects only with ``allow_unverified``);
    ``certifiable`` additionally requires third-party verification (6.8).
    """
    p = scenario.projects
    nodes = scenario.model.nodes.set_index("node_id")
    steel = p["node"].map(nodes["steel"]).astype("boolean")
    site = p["node"].map(nodes["site"])
    reason = pd.Series("", index=p.index, dtype=object)

    def flag(mask: pd.Series, text: str) -> None:
        mask = mask.fillna(False).astype(bool) & (reason == "")
        reason[mask] = text

    flag(p["kind"] == "external_certificate",
         "external certificate: never counted as REPs (6.3)")
    flag(~p["kind"].isin(PROJECT_KINDS_ELIGIBLE),
         "not a process or raw-material/fuel conversion: lacks additionality (6.2.1.1, 6.2.1.2)")
    flag(p["additionality"].isna(), "not additional: no additionality test passed (6.2.1.2)")
    flag(~steel.fillna(False).astype(bool), "non-steel operation: reductions never count (6.2.1.1)")
    verified = p["verified"].fillna(False).astype(bool)
    eligible_by_rules = reason == ""
    unverified = eligible_by_rules & ~verified
    if not scenario.settings.allow_unverified:
        flag(unverified, "not verified by a third party (6.8); allowed only in what-if runs")
    return pd.DataFrame({
        "project_id": p["project_id"], "node": p["node"], "site": site, "steel": steel,
        "eligible": reason == "", "certifiable": (reason == "") & verified, "reason": reason,
    })


def compute_pools(scenario: Scenario) -> pd.DataFrame:
    """One row per pool (project x calculation period) with its REPs, account use, dates and eligibility.

    Columns: ``pool_id, project_id, node, site, gas, period_start, period_end, group, share,
    gross_t, reps_t, used_t, available_t, ended, mb_expires, eligible, certifiable, reason``.
    """
    s = scenario
    per = s.periods
    projects = s.projects.set_index("project_id")
    status = project_status(s).set_index("project_id")
    node_of = projects["node"]
    group = overlap_groups(per, node_of)

    gross = per["baseline_intensity"] * per["output_t"] - per["project_emissions_t"]
    unc = per["uncertainty"].copy()
    share = pd.Series(1.0, index=per.index)
    in_group = group != ""
    if in_group.any():
        g = group[in_group]
        unc[in_group] = per.loc[in_group, "uncertainty"].groupby(g).transform("max")
        given = per.loc[in_group, "attribution_share"]
        equal = 1.0 / g.map(g.value_counts())
        share[in_group] = given.where(given.notna(), equal)
    reps = np.maximum(gross, 0.0) * (1.0 - unc) * share

    pools = pd.DataFrame({
        "pool_id": pool_id(per["project_id"], per["period_end"]),
        "project_id": per["project_id"],
        "node": per["project_id"].map(node_of),
        "site": per["project_id"].map(status["site"]),
        "gas": per["project_id"].map(projects["gas"]),
        "period_start": per["period_start"],
        "period_end": per["period_end"],
        "group": group,
        "share": share,
        "gross_t": gross,
        "reps_t": reps,
    })
    used = _account_use(s, pools)
    pools["used_t"] = used
    pools["available_t"] = np.maximum(pools["reps_t"] - used, 0.0)
    as_of = pd.Timestamp(s.settings.as_of)
    pools["ended"] = pools["period_end"] <= as_of
    pools["mb_expires"] = pools["period_end"] + pd.DateOffset(years=s.settings.mass_balance.expiry_years)
    pools["eligible"] = pools["project_id"].map(status["eligible"]).astype(bool)
    pools["certifiable"] = pools["project_id"].map(status["certifiable"]).astype(bool)
    reason = pools["project_id"].map(status["reason"]).astype(object)
    reason = reason.where(reason != "", np.where(gross <= 0, "net emission increase in the period: no REPs (6)", ""))
    reason = reason.where(reason != "", np.where(~pools["ended"], "calculation period not ended by as_of", ""))
    pools["reason"] = reason
    return pools.sort_values(["project_id", "period_end"], ignore_index=True)


def _account_use(s: Scenario, pools: pd.DataFrame) -> pd.Series:
    if s.account.empty:
        return pd.Series(0.0, index=pools.index)
    acc = s.account.assign(pool_id=pool_id(s.account["project_id"], s.account["period_end"]))
    used = acc.groupby("pool_id")["used_t"].sum()
    return pools["pool_id"].map(used).fillna(0.0)
