"""Checks 1 and 6: each pool's REPs recomputed from ``project_periods.csv`` (ch. 6, 6.5, 6.6, netting of
increases), and each pool's use and balance (7.2.1, 7.3.1, 8.2.1, 8.1)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .run import Run
from .values import TOL_ABS, TOL_REL, Found, agree, close, day, fnum, num, plain, r6


def net_periods(amounts: list[float]) -> tuple[list[float], list[float]]:
    """Net one project's signed period amounts (in time order): (REPs after netting, change by netting).

    A deficit is taken from the latest earlier periods first (most recent first); what is left waits for the
    later periods, which absorb waiting deficits oldest first.
    """
    out = [max(a, 0.0) for a in amounts]
    waiting: list[list[float]] = []  # [deficit t-CO2e, period index]
    for k, a in enumerate(amounts):
        if a < 0:
            need = -a
            for j in range(k - 1, -1, -1):
                take = min(out[j], need)
                if take > 0:
                    out[j] -= take
                    need -= take
                if need <= 0:
                    break
            if need > 0:
                waiting.append([need, k])
        else:
            while waiting and out[k] > 0:
                take = min(out[k], waiting[0][0])
                out[k] -= take
                waiting[0][0] -= take
                if waiting[0][0] <= 0:
                    waiting.pop(0)
    return out, [o - max(a, 0.0) for o, a in zip(out, amounts)]


def rep_calculation(run: Run) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Each pool's REPs step by step from the inputs alone: (rows for the table, exact values per pool)."""
    node_of = {pid: p.get("node", "") for pid, p in run.projects.items()}
    rows = []
    for i, p in enumerate(run.periods):
        try:
            rows.append({"i": i, "project_id": p["project_id"], "node": node_of.get(p["project_id"], ""),
                         "start": day(p["period_start"]), "end": day(p["period_end"]),
                         "B": float(p["baseline_intensity"]), "Q": float(p["output_t"]),
                         "E": float(p["project_emissions_t"]), "u": num(p.get("uncertainty", "")),
                         "ub": num(p.get("baseline_uncertainty", "")), "ue": num(p.get("project_uncertainty", "")),
                         "share_given": num(p.get("attribution_share", ""))})
        except (KeyError, ValueError) as exc:
            run.load_problems.append(("a row of inputs/scenario/project_periods.csv cannot be read",
                                      f"row {i + 2}", str(exc)))
    for k, r in enumerate(rows):
        r["i"] = k
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_node[r["node"]].append(r)
    for group_rows in by_node.values():
        for a in group_rows:
            for b in group_rows:
                if a["i"] < b["i"] and a["project_id"] != b["project_id"] \
                        and a["start"] <= b["end"] and b["start"] <= a["end"]:
                    parent[find(b["i"])] = find(a["i"])
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for k, r in enumerate(rows):
        members[find(k)].append(r)

    def largest(group: list[dict[str, Any]], key: str) -> float | None:
        given = [g[key] for g in group if g[key] is not None]
        return max(given) if given else None

    calc = []
    for k, r in enumerate(rows):
        group = members[find(k)]
        grouped = len({g["project_id"] for g in group}) > 1
        mine = group if grouped else [r]
        u = largest(mine, "u") or 0.0
        ub, ue = largest(mine, "ub"), largest(mine, "ue")
        if grouped:
            share = r["share_given"] if r["share_given"] is not None else 1.0 / len(group)
            share_source = "given" if r["share_given"] is not None else f"equal (1/{len(group)})"
        else:
            share, share_source = 1.0, "single project"
        baseline = r["B"] * r["Q"]
        gross = baseline - r["E"]
        if ub is not None and ue is not None:
            amount = (baseline * (1.0 - ub) - r["E"] * (1.0 + ue)) * share
            rule = "side uncertainties: baseline x (1 - u_b) - project x (1 + u_e)"
            formula = (f"({plain(r['B'])} x {plain(r['Q'])} x (1 - {plain(ub)}) - {plain(r['E'])} x (1 + {plain(ue)})) "
                       f"x {plain(share)}")
        elif gross >= 0:
            amount = gross * (1.0 - u) * share
            rule = "reduction: x (1 - uncertainty)"
            formula = f"({plain(r['B'])} x {plain(r['Q'])} - {plain(r['E'])}) x (1 - {plain(u)}) x {plain(share)}"
        else:
            amount = gross * (1.0 + u) * share
            rule = "increase: x (1 + uncertainty)"
            formula = f"({plain(r['B'])} x {plain(r['Q'])} - {plain(r['E'])}) x (1 + {plain(u)}) x {plain(share)}"
        calc.append({**r, "group": group, "grouped": grouped, "u_applied": u, "ub_applied": ub, "ue_applied": ue,
                     "share": share, "share_source": share_source, "baseline": baseline, "gross": gross,
                     "amount": amount, "rule": rule, "formula": formula})
    by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in calc:
        by_project[c["project_id"]].append(c)
    exact: dict[str, dict[str, float]] = {}
    out = []
    for pid in sorted(by_project):
        seq = sorted(by_project[pid], key=lambda c: c["end"])
        reps, netted = net_periods([c["amount"] for c in seq])
        running = 0.0
        for c, held, change in zip(seq, reps, netted):
            running += c["amount"]
            pool_id = f"{pid}@{c['end'].isoformat()}"
            exact[pool_id] = {"period_reps_t": c["amount"], "netted_t": change, "reps_t": held,
                              "start": c["start"], "end": c["end"], "project_id": pid, "share": c["share"]}
            out.append({
                "pool_id": pool_id, "project_id": pid, "node": c["node"], "period_start": c["start"].isoformat(),
                "period_end": c["end"].isoformat(), "baseline_intensity": c["B"], "output_t": c["Q"],
                "baseline_emissions_t": r6(c["baseline"]), "project_emissions_t": c["E"],
                "gross_reduction_t": r6(c["gross"]), "result": "increase" if c["gross"] < 0 else "reduction",
                "group_6_6": "+".join(sorted({g["project_id"] for g in c["group"]})) if c["grouped"] else "",
                "uncertainty_own": c["u"], "uncertainty_applied": c["u_applied"],
                "baseline_uncertainty_applied": c["ub_applied"], "project_uncertainty_applied": c["ue_applied"],
                "share": c["share"], "share_source": c["share_source"], "rule": c["rule"], "formula": c["formula"],
                "period_reps_t": r6(c["amount"]), "netted_t": r6(change), "reps_t": r6(held),
                "project_cumulative_t": r6(running),
            })
    return out, exact


def check_reps(run: Run, calc: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Found]:
    """Recomputed REPs (signed, netted) against ``results/pools.csv``."""
    pools = run.r_pools
    f = Found()
    rows = []
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            f.add("a pool of the inputs is not in results/pools.csv (6.5)", c["pool_id"])
            continue
        e = run.exact[c["pool_id"]]
        bad = False
        for col, what in (("period_reps_t", "REPs achieved in the period (signed)"),
                          ("netted_t", "change by netting"), ("reps_t", "REPs after netting")):
            if col not in p:
                f.add(f"results/pools.csv has no {col} (older gxopt?)", c["pool_id"])
                bad = True
            elif not agree(f, f"results/pools.csv {col} is not the recomputed {what} (6, 6.5, 6.6)", c["pool_id"],
                           col, e[col], p[col]):
                bad = True
        agree(f, "results/pools.csv share is not the 6.6 attribution share", c["pool_id"], "share", e["share"],
              p.get("share"))
        reported = fnum(p.get("reps_t"))
        rows.append({**c, "reps_t_reported": reported, "difference_t": r6(e["reps_t"] - reported), "match": not bad})
    for pid in sorted(set(pools) - {c["pool_id"] for c in calc}):
        f.add("a pool of results/pools.csv is not in the inputs (project_periods.csv)", pid)
    # what netting guarantees, whatever the order: never below zero, never above the period's own reduction,
    # and a project's pools together hold max(0, the sum of its period amounts)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            continue
        held = fnum(p.get("reps_t"))
        e = run.exact[c["pool_id"]]
        if held < -TOL_ABS:
            f.add("a pool of results/pools.csv holds negative REPs (6.5)", c["pool_id"], f"{held:.6f}")
        if held > max(e["period_reps_t"], 0.0) + TOL_ABS + TOL_REL * abs(held):
            f.add("a pool holds more than its own period's reduction (6.5)", c["pool_id"],
                  f"holds {held:.6f}, period {max(e['period_reps_t'], 0.0):.6f}")
        totals[c["project_id"]][0] += held
        totals[c["project_id"]][1] += e["period_reps_t"]
    for pid, (held, net) in sorted(totals.items()):
        if not close(held, max(net, 0.0), 1e-7):
            f.add("a project's pools do not hold the net of its periods (ch. 6: reductions and increases included)",
                  pid, f"hold {held:.6f}, max(0, {net:.6f})")
    return rows, f


def pool_use(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Each pool's use and remaining balance from the account and the allocation lines; GX Allocation within
    the part of the pool reflected in CFPs."""
    f = Found()
    drawn: dict[tuple[str, str], float] = defaultdict(float)
    for ln in run.lines:
        drawn[(ln.get("pool_id", ""), ln.get("method", ""))] += fnum(ln.get("reps_t"))
    rows = []
    for pid, p in sorted(run.pools.items()):
        reps = p["reps_t"]
        before = p["used_before_t"]
        mb, al = drawn[(pid, "mass_balance")], drawn[(pid, "allocation")]
        used = before + mb + al
        remaining = reps - used
        r = run.r_pools.get(pid, {})
        bad = False
        for col, mine in (("used_run_t", mb + al), ("used_t", used), ("remaining_t", remaining),
                          ("used_mass_balance_t", mb), ("used_allocation_t", al)):
            if col in r and not agree(f, f"results/pools.csv {col} departs from the account and the allocation "
                                         "lines (7.2.1, 7.3.1, 8.2.1)", pid, col, mine, r[col]):
                bad = True
        overdrawn = used > reps + TOL_ABS + TOL_REL * reps
        if overdrawn:
            f.add("a pool is overdrawn: used before + drawn by this run > its REPs (7.2.1, 7.3.1, 8.2.1)", pid,
                  f"{used:.6f} used of {reps:.6f}")
        limit = run.added.get(pid, 0.0) - before
        if al > TOL_ABS and al > limit + TOL_ABS + TOL_REL * abs(limit):
            f.add("GX Allocation moved more than the part of the pool reflected in residual CFPs less earlier use: "
                  "total emissions would fall (8.1, 8.3.1)", pid, f"moved {al:.6f}, limit {limit:.6f}")
        rows.append({"pool_id": pid, "reps_t": r6(reps), "used_before_t": r6(before), "used_mass_balance_t": r6(mb),
                     "used_allocation_t": r6(al), "used_t": r6(used), "remaining_t": r6(remaining),
                     "reconciles": not bad and not overdrawn, "overdrawn": overdrawn,
                     "usable": p["eligible"] and p["ended"],
                     "identity": "REPs = used before + mass balance + allocation + remaining"})
    for pid, _m in sorted(drawn):
        if pid not in run.pools:
            f.add("an allocation line draws on an unknown pool", pid)
    return rows, f
