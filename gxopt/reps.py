"""REPs per pool (project x calculation period): ch. 6 rules, 6.6 node-level groups, netting, project eligibility.

The pool table is pure pandas in, pandas out. Formula per calculation period (6.1, 6.5), signed::

    gross          = baseline_intensity * output_t - project_emissions_t     (an intensity baseline)
    period REPs    = gross * (1 - u)   if gross >= 0                          (a reduction, lowered)
                   = gross * (1 + u)   if gross <  0                          (an increase, raised)
    with side uncertainties u_b, u_e (both given instead of u):
    period REPs    = baseline_intensity * output_t * (1 - u_b) - project_emissions_t * (1 + u_e)

``uncertainty`` is the relative uncertainty of the period's reduction; ``baseline_uncertainty`` and
``project_uncertainty`` are the relative uncertainties of each side's emissions. Either way the REPs are
never overestimated (6.5: "a conservative approach shall be taken").

Increases are included (ch. 6: "both GHG emission reductions and increases ... shall be included"): a
period with a net increase is a negative amount, netted against the same project's other periods, first
against its latest earlier periods (most recent first), then against its later periods in time order.
The project's pools therefore hold its net reduction over all its periods (never below zero), whatever
lengths the periods were cut to (6.2.2.2); as each period is added, the pools so far hold the cumulative
net reduction so far; a project whose periods net to an increase yields nothing and says so.

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
DUST_T = 0.001  # 1 kg CO2e: less is rounding dust of whole-gram lines, never issued or promised


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

    base = per["baseline_intensity"] * per["output_t"]
    gross = base - per["project_emissions_t"]
    unc = per["uncertainty"].fillna(0.0)
    u_b = per["baseline_uncertainty"].copy()
    u_e = per["project_uncertainty"].copy()
    share = pd.Series(1.0, index=per.index)
    in_group = group != ""
    if in_group.any():
        g = group[in_group]
        for u in (unc, u_b, u_e):
            u[in_group] = u[in_group].groupby(g).transform("max")
        given = per.loc[in_group, "attribution_share"]
        equal = 1.0 / g.map(g.value_counts())
        share[in_group] = given.where(given.notna(), equal)
    sides = u_b.notna() & u_e.notna()
    period_reps = np.where(sides, base * (1.0 - u_b.fillna(0.0)) - per["project_emissions_t"] * (1.0 + u_e.fillna(0.0)),
                           np.where(gross >= 0, gross * (1.0 - unc), gross * (1.0 + unc))) * share
    reps, netted, note = net_increases(per["project_id"], per["period_end"], pd.Series(period_reps, index=per.index))

    pools = pd.DataFrame({
        "pool_id": pool_id(per["project_id"], per["period_end"]),
        "project_id": per["project_id"],
        "node": per["project_id"].map(node_of),
        "site": per["project_id"].map(status["site"]),
        "gas": per["project_id"].map(projects["gas"]),
        "gases": per["project_id"].map(projects["gases"].where(projects["gases"].notna(), np.where(
            projects["gas"] == "CO2", "CO2", ""))).astype(object),
        "period_start": per["period_start"],
        "period_end": per["period_end"],
        "group": group,
        "share": share,
        "gross_t": gross,
        "period_reps_t": period_reps,
        "netted_t": netted,
        "reps_t": reps,
        "netting": note,
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
    total = pools.groupby("project_id")["period_reps_t"].transform("sum")
    reason = reason.where(reason != "", np.where(
        total <= 0, "the project's periods net to an emission increase: no REPs (6: increases included)", ""))
    reason = reason.where(reason != "", np.where(
        period_reps < 0, "net emission increase in the period: netted against the project's other periods (6)", ""))
    reason = reason.where(reason != "", np.where(
        (pools["reps_t"] <= 0) & (period_reps > 0), "netted to zero against the project's increases (6)", ""))
    reason = reason.where(reason != "", np.where(~pools["ended"], "calculation period not ended by as_of", ""))
    pools["reason"] = reason
    return pools.sort_values(["project_id", "period_end"], ignore_index=True)


def net_increases(project: pd.Series, period_end: pd.Series, amount: pd.Series,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net every negative period amount against the same project's other periods (ch. 6, increases included).

    Order: a deficit is taken first from the project's latest earlier periods (most recent first), then,
    what is left, from its later periods in time order. Returns (REPs after netting >= 0, change by
    netting, a note per period naming where its deficit went or which increases it absorbed). The REPs
    after netting add up to ``max(0, sum of the amounts)`` per project, and no period holds more than its
    own positive amount.
    """
    out = np.maximum(amount.to_numpy(float), 0.0)
    notes = np.full(len(amount), "", dtype=object)
    frame = pd.DataFrame({"project": project.to_numpy(), "end": period_end.to_numpy(), "v": amount.to_numpy(float)})
    for _, rows in frame[frame.groupby("project")["v"].transform("min") < 0].groupby("project"):
        order = rows.sort_values("end").index.to_numpy()
        carried: list[tuple[float, int]] = []  # deficits waiting for a later period: (t-CO2e, from row)
        for k, i in enumerate(order):
            v = frame.at[i, "v"]
            if v < 0:
                need = -v
                for j in order[:k][::-1]:  # latest earlier periods first
                    take = min(out[j], need)
                    if take > 0:
                        out[j] -= take
                        need -= take
                        notes[j] += f"-{take:,.3f} for the increase ending {_day(frame.at[i, 'end'])}; "
                        notes[i] += f"{take:,.3f} netted against the period ending {_day(frame.at[j, 'end'])}; "
                    if need <= 0:
                        break
                if need > 0:
                    carried.append((need, i))
            else:
                while carried and out[i] > 0:
                    need, src = carried[0]
                    take = min(out[i], need)
                    out[i] -= take
                    notes[i] += f"-{take:,.3f} for the increase ending {_day(frame.at[src, 'end'])}; "
                    notes[src] += f"{take:,.3f} netted against the period ending {_day(frame.at[i, 'end'])}; "
                    carried[0] = (need - take, src)
                    if carried[0][0] <= 0:
                        carried.pop(0)
        for need, src in carried:
            notes[src] += f"{need:,.3f} not offset by any reduction of the project; "
    return out, out - np.maximum(amount.to_numpy(float), 0.0), np.array([n.rstrip("; ") for n in notes], dtype=object)


def _day(ts: object) -> str:
    return str(pd.Timestamp(ts).date())


def _account_use(s: Scenario, pools: pd.DataFrame) -> pd.Series:
    if s.account.empty:
        return pd.Series(0.0, index=pools.index)
    acc = s.account.assign(pool_id=pool_id(s.account["project_id"], s.account["period_end"]))
    used = acc.groupby("pool_id")["used_t"].sum()
    return pools["pool_id"].map(used).fillna(0.0)
