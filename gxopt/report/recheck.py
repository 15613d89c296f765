#!/usr/bin/env python3
"""Re-perform the numbers of a gxopt verifier pack with the Python standard library only (no gxopt needed).

Usage::

    python3 recheck.py [PACK_DIR]        # default: the folder this script is in

Checks, each against the files of the pack (``inputs/`` = the run's inputs, ``results/`` = what gxopt wrote,
``ledger/`` = the ledger export when the report was made with a ledger):

1. REPs of every pool from ``inputs/scenario/project_periods.csv`` (JISF ch. 6, 6.5, 6.6), signed per
   calculation period::

       baseline emissions = baseline_intensity x output_t
       gross              = baseline emissions - project_emissions_t
       period REPs        = gross x (1 - uncertainty) x share   if gross >= 0 (a reduction, lowered)
                          = gross x (1 + uncertainty) x share   if gross <  0 (an increase, raised)
       with baseline_uncertainty u_b and project_uncertainty u_e both given instead:
       period REPs        = (baseline emissions x (1 - u_b) - project_emissions_t x (1 + u_e)) x share

   Projects at one node with overlapping periods form a 6.6 group: the group's largest uncertainty (of each
   kind) applies and its REPs are split by attribution_share (equal shares when none is given). Increases are
   included (ch. 6) and netted per project, periods in time order: a negative period amount is taken from the
   project's latest earlier periods first (most recent first), what is left from its later periods in time
   order. So a project's pools hold max(0, the sum of its period amounts), none above its own period's
   reduction. period_reps_t, netted_t and reps_t are compared with ``results/pools.csv``. A pool marked
   eligible must be a process, fuel or raw-material conversion with an additionality test at a steel unit,
   third-party verified unless the run is a what-if (6.2.1, 6.3, 6.8).
2. The use of every pool: used before (``account.csv``) + drawn by the allocation lines (by method) = used,
   remaining = REPs - used, never below zero (7.2.1, 7.3.1, 8.2.1).
3. Physical connection (6.7, 7.2.3): every evidence path of ``allocations.csv`` and ``connections.csv``
   starts at the project's unit; every step is an edge of ``inputs/model/edges.csv`` of the kind it states
   (``A > B`` material, ``A -input-> B`` input, ``A -utility-> B`` utility; a by-product edge never
   connects); feeder steps (input, utility) come only before the route part, which is the product's route
   from one of its units down to its last unit. The connected (project, product) pairs are recomputed from
   the edges (the project's unit on the route, or reaching it through input/utility edges) and must be
   exactly those of ``connections.csv``.
4. Products (7.3.3, 8.3.2, 7.3.2, 8.1.2, 5.2.2): the REPs already reflected in each General CFP per tonne
   (the 7.3.3 correction), from the pools of check 1 and the connections of check 3::

       rep_term_k   = sum over eligible pools p of the projects j connected to k:
                      reps_p x overlap(p, k) / production_j
       overlap(p, k) = days of p inside the CFP data period of k / days of p   (both ends inclusive)
       production_j = production of every product connected to project j
       basis_k      = general_cfp + rep_term = Residual CFP = non-GX CFP (what steel without REPs carries)
       mb cap per t = scope1 + scope2 + rep_term;  subject part = scope1 + scope2 + scope3_allocable + rep_term
       in_cfps_p    = sum over k of reps_p x overlap(p, k) x production_k / production_j

   and the CFP data is usable when its period ended within five years of as_of or a data_age_justification
   is stated (5.2.2).
5. Every order: the sum of its lines equals its REPs, never above its cap (cap per t = the mass-balance cap,
   or alpha_max x the subject part; 7.3.2, 8.3.2); alpha = REPs / (tonnage x full cap per t), GX tonnage,
   rep_term, basis_cfp, Residual and Allocated CFP (8.1.1); claimed_cfp = basis - REPs per tonne under
   GX Mass Balance (Figure 1: 3.0 - 2.3 = 0.7), the Allocated CFP under GX Allocation; no REPs on a product
   whose CFP data is not usable.
6. Claims (7.3.3, 8.1, 8.3.1): what buyers may claim = the GX orders (REPs > 0) at their claimed CFP x
   tonnage + the rest of each product's production at its non-GX CFP - the REPs claimed under earlier
   certificates (``account.csv``); actual emissions = sum of General CFP x production - the verified REPs of
   ended eligible pools that no CFP contains (reps - in_cfps). Claims >= actual (nothing counted twice);
   compared with ``results/products.csv`` and the ``claims`` block of ``results/summary.json``.
7. Ledger (when present): the hash chain of the journal and its head, each pool's stored balance against
   the journal, credited = issued - reversed + expired + remaining, each certificate's digest (with its
   basis and claimed CFP when it states them) and lines against its issue entries.

Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import sys
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

TOL_ABS = 1e-5  # result CSVs carry 6 decimals
TOL_REL = 1e-9
GENESIS = "0" * 64
FEED_KINDS = ("input", "utility")  # the kinds through which a feeder unit reaches a product's line (6.7)
STEP_KINDS = ("material",) + FEED_KINDS
ELIGIBLE_KINDS = ("process_conversion", "fuel_conversion", "raw_material_conversion")  # 6.2.1.1
DATA_AGE_YEARS = 5  # 5.2.2
_STEP = re.compile(r" (?:(>)|-([A-Za-z_]+)->) ")


def read(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts of stripped text (an absent file gives no rows)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def num(text: str | None) -> float | None:
    """A float, or None for an empty cell."""
    return None if text is None or text == "" else float(text)


def day(text: str) -> dt.date:
    """An ISO date."""
    return dt.date.fromisoformat(text[:10])


def yes(text: str) -> bool:
    """A gxopt boolean cell."""
    return text.strip().lower() == "true"


def close(a: float, b: float, rel: float = TOL_REL) -> bool:
    """Equal within the precision of the result files."""
    return abs(a - b) <= TOL_ABS + rel * max(abs(a), abs(b))


def _n(x: float) -> str:
    """A number as plain decimal text (no exponent)."""
    return f"{x:.9f}".rstrip("0").rstrip(".")


def r6(x: float | None) -> float | None:
    """Rounded for the written tables."""
    return None if x is None else round(x, 6)


def add_years(d: dt.date, years: int) -> dt.date:
    """``d`` plus whole years (29 February -> 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def days(start: dt.date, end: dt.date) -> int:
    """Days from ``start`` to ``end``, both inclusive (0 when end < start)."""
    return max((end - start).days + 1, 0)


def _setting(pack: Path, key: str) -> str | None:
    """A top-level scalar of ``inputs/scenario/scenario.yaml`` (no YAML library needed for these keys)."""
    f = pack / "inputs" / "scenario" / "scenario.yaml"
    if not f.is_file():
        return None
    m = re.search(rf"(?m)^{re.escape(key)}:\s*['\"]?([^'\"#\n]*?)['\"]?\s*(#.*)?$", f.read_text(encoding="utf-8"))
    return m.group(1).strip() if m else None


def summary_of(pack: Path) -> dict[str, Any]:
    """``results/summary.json`` (empty when absent)."""
    f = pack / "results" / "summary.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def as_of(pack: Path) -> dt.date:
    """The run's as_of date (scenario.yaml, else summary.json)."""
    text = _setting(pack, "as_of") or str(summary_of(pack).get("as_of") or "")
    return day(text)


# ------------------------------------------------------------------------------------------ 1. REPs


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


def rep_calculation(pack: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """Each pool's REPs step by step from the inputs alone: (rows for the table, exact values per pool)."""
    periods = read(pack / "inputs" / "scenario" / "project_periods.csv")
    node_of = {p["project_id"]: p["node"] for p in read(pack / "inputs" / "scenario" / "projects.csv")}
    rows = []
    for i, p in enumerate(periods):
        rows.append({"i": i, "project_id": p["project_id"], "node": node_of.get(p["project_id"], ""),
                     "start": day(p["period_start"]), "end": day(p["period_end"]),
                     "B": float(p["baseline_intensity"]), "Q": float(p["output_t"]),
                     "E": float(p["project_emissions_t"]), "u": num(p.get("uncertainty", "")),
                     "ub": num(p.get("baseline_uncertainty", "")), "ue": num(p.get("project_uncertainty", "")),
                     "share_given": num(p.get("attribution_share", ""))})
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in rows:
        for b in rows:
            if a["i"] < b["i"] and a["node"] == b["node"] and a["project_id"] != b["project_id"] \
                    and a["start"] <= b["end"] and b["start"] <= a["end"]:
                parent[find(b["i"])] = find(a["i"])
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        members[find(r["i"])].append(r)

    def largest(group: list[dict[str, Any]], key: str) -> float | None:
        given = [g[key] for g in group if g[key] is not None]
        return max(given) if given else None

    calc = []
    for r in rows:
        group = members[find(r["i"])]
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
            formula = (f"({_n(r['B'])} x {_n(r['Q'])} x (1 - {_n(ub)}) - {_n(r['E'])} x (1 + {_n(ue)})) "
                       f"x {_n(share)}")
        elif gross >= 0:
            amount = gross * (1.0 - u) * share
            rule = "reduction: x (1 - uncertainty)"
            formula = f"({_n(r['B'])} x {_n(r['Q'])} - {_n(r['E'])}) x (1 - {_n(u)}) x {_n(share)}"
        else:
            amount = gross * (1.0 + u) * share
            rule = "increase: x (1 + uncertainty)"
            formula = f"({_n(r['B'])} x {_n(r['Q'])} - {_n(r['E'])}) x (1 + {_n(u)}) x {_n(share)}"
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
            exact[pool_id] = {"period_reps_t": c["amount"], "netted_t": change, "reps_t": held}
            out.append({
                "pool_id": pool_id, "project_id": pid, "node": c["node"], "period_start": c["start"].isoformat(),
                "period_end": c["end"].isoformat(), "baseline_intensity": c["B"], "output_t": c["Q"],
                "baseline_emissions_t": r6(c["baseline"]), "project_emissions_t": c["E"],
                "gross_reduction_t": r6(c["gross"]), "result": "increase" if c["gross"] < 0 else "reduction",
                "group_6_6": "+".join(sorted({g["project_id"] for g in c["group"]})) if c["grouped"] else "",
                "uncertainty_own": c["u"], "uncertainty_applied": c["u_applied"],
                "baseline_uncertainty_applied": c["ub_applied"], "project_uncertainty_applied": c["ue_applied"],
                "rule": c["rule"], "share": c["share"], "share_source": c["share_source"],
                "period_reps_t": r6(c["amount"]), "formula": c["formula"],
                "project_running_sum_t": r6(running), "netted_t": r6(change), "reps_t": r6(held),
            })
    return out, exact


def check_reps(pack: Path, calc: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Recomputed REPs (signed, netted) against ``results/pools.csv``; eligibility flags against the rules."""
    pools = {p["pool_id"]: p for p in read(pack / "results" / "pools.csv")}
    problems, rows = [], []
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            problems.append(f"pool {c['pool_id']}: in the inputs but not in results/pools.csv")
            continue
        bad = []
        for col, what in (("period_reps_t", "REPs achieved in the period (signed)"),
                          ("netted_t", "change by netting"), ("reps_t", "REPs after netting")):
            if col not in p:
                bad.append(col)
                problems.append(f"pool {c['pool_id']}: results/pools.csv has no {col} (older gxopt?)")
            elif not close(c[col], float(p[col])):
                bad.append(col)
                problems.append(f"pool {c['pool_id']}: recomputed {what} {c[col]:.6f} != reported "
                                f"{float(p[col]):.6f} (6, 6.5)")
        rows.append({**c, "reps_t_reported": num(p.get("reps_t")),
                     "difference_t": r6(c["reps_t"] - float(p["reps_t"])), "match": not bad})
    for pid in sorted(set(pools) - {c["pool_id"] for c in calc}):
        problems.append(f"pool {pid}: in results/pools.csv but not in the inputs")
    # what netting guarantees, whatever the order: never below zero, never above the period's own reduction,
    # and a project's pools together hold max(0, the sum of its period amounts)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            continue
        held = float(p["reps_t"])
        if held < -TOL_ABS:
            problems.append(f"pool {c['pool_id']}: negative REPs {held:.6f}")
        if held > max(c["period_reps_t"], 0.0) + TOL_ABS + TOL_REL * abs(held):
            problems.append(f"pool {c['pool_id']}: holds {held:.6f}, more than its own period's reduction "
                            f"{max(c['period_reps_t'], 0.0):.6f} (6.5)")
        totals[c["project_id"]][0] += held
        totals[c["project_id"]][1] += c["period_reps_t"]
    for pid, (held, net) in sorted(totals.items()):
        if not close(held, max(net, 0.0), 1e-7):
            problems.append(f"project {pid}: pools hold {held:.6f}, not the net of its periods "
                            f"max(0, {net:.6f}) (ch. 6: reductions and increases included)")
    problems += _eligibility(pack, pools)
    return rows, problems


def _eligibility(pack: Path, pools: dict[str, dict[str, str]]) -> list[str]:
    """A pool marked eligible must pass 6.2.1.1 / 6.2.1.2 / 6.3 / 6.8 from the inputs."""
    projects = {p["project_id"]: p for p in read(pack / "inputs" / "scenario" / "projects.csv")}
    steel = {n["node_id"]: yes(n.get("steel", "")) for n in read(pack / "inputs" / "model" / "nodes.csv")}
    what_if = (_setting(pack, "allow_unverified") or "").lower() in ("true", "yes", "on")
    out = []
    for pid, p in sorted(pools.items()):
        if not yes(p.get("eligible", "")):
            continue
        j = projects.get(p["project_id"])
        if j is None:
            out.append(f"pool {pid}: eligible, but its project is not in projects.csv")
            continue
        why = ([f"kind {j.get('kind')} is not a process, fuel or raw-material conversion (6.2.1.1, 6.3)"]
               if j.get("kind") not in ELIGIBLE_KINDS else [])
        why += ["no additionality test passed (6.2.1.2)"] if not j.get("additionality") else []
        why += [f"unit {j.get('node')} is not a steel operation (6.2.1.1)"] if not steel.get(j.get("node", "")) else []
        why += ["not third-party verified (6.8)"] if not yes(j.get("verified", "")) and not what_if else []
        out += [f"pool {pid}: marked eligible but {w}" for w in why]
    return out


# ------------------------------------------------------------------------------------- 2. pool use


def pool_use(pack: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Each pool's use and remaining balance from the account and the allocation lines."""
    pools = read(pack / "results" / "pools.csv")
    lines = read(pack / "results" / "allocations.csv")
    account = read(pack / "inputs" / "scenario" / "account.csv")
    before: dict[str, float] = defaultdict(float)
    for a in account:
        before[f"{a['project_id']}@{day(a['period_end']).isoformat()}"] += float(a["used_t"])
    run: dict[tuple[str, str], float] = defaultdict(float)
    for ln in lines:
        run[(ln["pool_id"], ln["method"])] += float(ln["reps_t"])
    rows, problems = [], []
    for p in pools:
        pid = p["pool_id"]
        reps = float(p["reps_t"])
        mb, al = run[(pid, "mass_balance")], run[(pid, "allocation")]
        used = before[pid] + mb + al
        remaining = reps - used
        checks = {"used_before_t": (before[pid], float(p["used_before_t"])),
                  "used_run_t": (mb + al, float(p["used_run_t"])), "used_t": (used, float(p["used_t"])),
                  "remaining_t": (remaining, float(p["remaining_t"]))}
        if "used_mass_balance_t" in p:
            checks["used_mass_balance_t"] = (mb, float(p["used_mass_balance_t"]))
            checks["used_allocation_t"] = (al, float(p["used_allocation_t"]))
        bad = [k for k, (mine, theirs) in checks.items() if not close(mine, theirs)]
        for k in bad:
            problems.append(f"pool {pid}: {k} recomputed {checks[k][0]:.6f} != reported {checks[k][1]:.6f}")
        overdrawn = used > reps + TOL_ABS + TOL_REL * reps
        if overdrawn:
            problems.append(f"pool {pid}: {used:.6f} t-CO2e used of {reps:.6f} (account exceeded, 7.3.1)")
        rows.append({"pool_id": pid, "reps_t": reps, "used_before_t": r6(before[pid]), "used_mass_balance_t": r6(mb),
                     "used_allocation_t": r6(al), "used_t": r6(used), "remaining_t": r6(remaining),
                     "reconciles": close(reps, before[pid] + mb + al + remaining) and not bad,
                     "overdrawn": overdrawn, "usable": yes(p.get("eligible", "")) and yes(p.get("ended", "")),
                     "identity": "REPs = used before + mass balance + allocation + remaining"})
    known = {p["pool_id"] for p in pools}
    for pid, _m in run:
        if pid not in known:
            problems.append(f"allocation line on unknown pool {pid}")
    return rows, problems


# ------------------------------------------------------------------------------- 3. physical connection


def parse_evidence(evidence: str) -> tuple[list[str], list[str]]:
    """(units, kinds) of an evidence path: ``kinds[i]`` is the kind of the step ``units[i] -> units[i+1]``.

    ``A > B`` is a material step (the product's own line); ``A -input-> B`` and ``A -utility-> B`` are feeder
    steps; any other ``-word->`` is returned as that word (and then reported: only these kinds connect).
    """
    parts = _STEP.split(evidence)
    return parts[0::3], ["material" if m else str(k) for m, k in zip(parts[1::3], parts[2::3])]


def _arrow(kind: str) -> str:
    return ">" if kind == "material" else f"-{kind}->"


def _routes(pack: Path) -> dict[str, list[str]]:
    return {p["product_id"]: [n.strip() for n in p["route"].split(">")]
            for p in read(pack / "inputs" / "model" / "products.csv")}


def connected_pairs(pack: Path) -> set[tuple[str, str]]:
    """(project, product) pairs physically connected by the plant model: the project's unit is on the
    product's route, or reaches a route unit through input/utility edges (by-product edges never count)."""
    feed: dict[str, set[str]] = defaultdict(set)
    for e in read(pack / "inputs" / "model" / "edges.csv"):
        if e["kind"] in FEED_KINDS:
            feed[e["source"]].add(e["target"])
    routes = _routes(pack)
    out = set()
    for p in read(pack / "inputs" / "scenario" / "projects.csv"):
        seen, todo = set(), deque([p["node"]])
        while todo:
            n = todo.popleft()
            for m in feed.get(n, ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        for product, route in routes.items():
            if p["node"] in route or seen.intersection(route):
                out.add((p["project_id"], product))
    return out


def connection_checks(pack: Path) -> tuple[list[dict[str, Any]], list[str], set[tuple[str, str]]]:
    """Each physical-connection path of the allocation lines and of connections.csv, step by step, and the
    connected pairs recomputed from the edges; returns (rows, problems, the recomputed pairs)."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in read(pack / "inputs" / "model" / "edges.csv"):
        edges[(e["source"], e["target"])].add(e["kind"])
    node_of = {p["project_id"]: p["node"] for p in read(pack / "inputs" / "scenario" / "projects.csv")}
    routes = _routes(pack)
    conn = read(pack / "results" / "connections.csv")
    items = [("allocation", f"{ln['order_id']} <- {ln['pool_id']}", ln["project_id"], ln["product_id"], ln["evidence"])
             for ln in read(pack / "results" / "allocations.csv")]
    items += [("connection", f"{c['project_id']} -> {c['product_id']}", c["project_id"], c["product_id"], c["evidence"])
              for c in conn]
    rows, problems = [], []
    for source, what, project, product, evidence in items:
        nodes, kinds = parse_evidence(evidence)
        route = routes.get(product, [])
        node = node_of.get(project, "")
        issues = []
        if not nodes or nodes[0] != node:
            issues.append(f"does not start at the project's unit {node}")
        if not route or nodes[-1] != route[-1]:
            issues.append("does not end at the product's last unit")
        step_text = []
        for u, v, k in zip(nodes, nodes[1:], kinds):
            there = edges.get((u, v), set())
            ok = k in STEP_KINDS and k in there
            step_text.append(f"{u} {_arrow(k)} {v} [{k} edge {'found' if ok else 'MISSING'}]")
            if k == "byproduct":
                issues.append(f"step {u} -> {v} is a by-product flow, which never connects")
            elif k not in STEP_KINDS:
                issues.append(f"step {u} -> {v} of unknown kind '{k}'")
            elif not ok:
                issues.append(f"no {k} edge {u} -> {v} in edges.csv"
                              + (f" (only {', '.join(sorted(there))}; by-product edges never connect)" if there else ""))
        line_at = next((i for i, k in enumerate(kinds) if k == "material"), len(kinds))
        if any(k != "material" for k in kinds[line_at:]):
            issues.append("a feeder step after the route part began: input/utility steps only lead to the line")
        line = nodes[line_at:]
        if not (line and route and line[0] in route and line == route[route.index(line[0]):]):
            issues.append("the route part is not the product's route down to its last unit")
        problems += [f"{source} {what}: path '{evidence}' {i} (6.7)" for i in issues]
        rows.append({"source": source, "item": what, "project_id": project, "project_node": node,
                     "product_id": product, "route": " > ".join(route), "evidence": evidence,
                     "feeders": ", ".join(sorted({k for k in kinds[:line_at]})) or "none",
                     "steps": " | ".join(step_text) or "(project unit is the last unit)",
                     "valid": not issues, "issues": "; ".join(issues)})
    expected = connected_pairs(pack)
    reported = {(c["project_id"], c["product_id"]) for c in conn}
    for j, k in sorted(expected - reported):
        problems.append(f"connection {j} -> {k}: physically connected by the plant model but missing from "
                        "connections.csv (its production would be left out of the REP term, 6.7)")
    for j, k in sorted(reported - expected):
        problems.append(f"connection {j} -> {k}: in connections.csv but not connected through the product's "
                        "line or its input/utility feeders (6.7)")
    return rows, problems, expected


# ------------------------------------------------------------------------------------------ 4. products


def product_checks(pack: Path, exact: dict[str, dict[str, float]], connected: set[tuple[str, str]],
                   ) -> tuple[list[dict[str, Any]], list[str], dict[str, dict[str, Any]], dict[str, float]]:
    """The REPs reflected in each General CFP per tonne (7.3.3) and what follows from it, recomputed; returns
    (rows, problems, the recomputed numbers per product, the part of each pool reflected in CFPs)."""
    raw = {p["product_id"]: p for p in read(pack / "inputs" / "model" / "products.csv")}
    reported = {p["product_id"]: p for p in read(pack / "results" / "products.csv")}
    pools = read(pack / "results" / "pools.csv")
    ref = as_of(pack)
    production = {k: float(p["production_t"]) for k, p in raw.items()}
    prod_j: dict[str, float] = defaultdict(float)
    for j, k in connected:
        prod_j[j] += production.get(k, 0.0)
    term: dict[str, float] = defaultdict(float)
    added: dict[str, float] = defaultdict(float)
    parts: dict[str, list[str]] = defaultdict(list)
    for p in pools:
        if not yes(p.get("eligible", "")) or p["pool_id"] not in exact:
            continue
        j, start, end = p["project_id"], day(p["period_start"]), day(p["period_end"])
        reps = exact[p["pool_id"]]["reps_t"]
        for k in sorted(k for jj, k in connected if jj == j and k in raw):
            inside = days(max(start, day(raw[k]["cfp_period_start"])), min(end, day(raw[k]["cfp_period_end"])))
            if not inside or not prod_j[j]:
                continue
            per_t = reps * inside / days(start, end) / prod_j[j]
            term[k] += per_t
            added[p["pool_id"]] += per_t * production[k]
            parts[k].append(f"{p['pool_id']}: {_n(reps)} x {inside}/{days(start, end)} / {_n(prod_j[j])}")
    mine: dict[str, dict[str, Any]] = {}
    rows, problems = [], []
    for k, p in raw.items():
        s1, s2 = float(p["scope1"]), float(p["scope2"])
        s3u, s3a = float(p["scope3_upstream"]), float(p["scope3_allocable"])
        t = term.get(k, 0.0)
        end = day(p["cfp_period_end"])
        justified = bool(p.get("data_age_justification", ""))
        m = {"production_t": production[k], "general_cfp": float(p["general_cfp"]), "rep_term": t,
             "residual_cfp": float(p["general_cfp"]) + t, "non_gx_cfp": float(p["general_cfp"]) + t,
             "mb_cap_cfp": s1 + s2 + t, "subject_cfp": s1 + s2 + s3a + t, "non_allocable": s3u - s3a,
             "cfp_data_usable": add_years(end, DATA_AGE_YEARS) >= ref or justified}
        mine[k] = m
        r = reported.get(k)
        issues = []
        if r is None:
            issues.append("not in results/products.csv")
        else:
            for col in ("rep_term", "residual_cfp", "non_gx_cfp", "mb_cap_cfp", "subject_cfp", "non_allocable"):
                if col not in r:
                    issues.append(f"results/products.csv has no {col}")
                elif not close(m[col], float(r[col])):
                    issues.append(f"{col} recomputed {m[col]:.6f} != reported {float(r[col]):.6f}")
            if "cfp_data_usable" in r and yes(r["cfp_data_usable"]) != m["cfp_data_usable"]:
                issues.append(f"cfp_data_usable should be {str(m['cfp_data_usable']).lower()} (5.2.2)")
        problems += [f"product {k}: {i} (7.3.3, 7.3.2, 8.3.2)" for i in issues]
        rows.append({"product_id": k, "production_t": production[k], "general_cfp": m["general_cfp"],
                     "rep_term_recomputed": r6(t), "rep_term_reported": num((r or {}).get("rep_term")),
                     "rep_term_parts": "; ".join(parts.get(k, [])) or "no connected pool inside the CFP period",
                     "non_gx_cfp_recomputed": r6(m["non_gx_cfp"]), "mb_cap_cfp_recomputed": r6(m["mb_cap_cfp"]),
                     "subject_cfp_recomputed": r6(m["subject_cfp"]), "cfp_data_usable": m["cfp_data_usable"],
                     "ok": not issues, "issues": "; ".join(issues)})
    for p in pools:
        want = added.get(p["pool_id"], 0.0)
        if "in_cfps_t" in p and not close(want, float(p["in_cfps_t"]), 1e-7):
            problems.append(f"pool {p['pool_id']}: REPs reflected in CFPs recomputed {want:.6f} != reported "
                            f"in_cfps_t {float(p['in_cfps_t']):.6f} (7.3.3, 8.3.1)")
    return rows, problems, mine, dict(added)


# ----------------------------------------------------------------------------------------- 5. orders


def order_checks(pack: Path, prod: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str],
                                                                        dict[str, float]]:
    """Each order's lines, cap, alpha and CFPs, from the recomputed product numbers; returns (rows, problems,
    the recomputed claimed CFP per order)."""
    orders = read(pack / "results" / "orders.csv")
    drawn: dict[str, float] = defaultdict(float)
    for ln in read(pack / "results" / "allocations.csv"):
        drawn[ln["order_id"]] += float(ln["reps_t"])
    rows, problems = [], []
    claimed_of: dict[str, float] = {}
    for o in orders:
        oid, reps, tonnage = o["order_id"], float(o["reps_t"]), float(o["tonnage_t"])
        pr = prod.get(o["product_id"])
        alloc = o["method"] == "allocation"
        issues = []
        if pr is None:
            problems.append(f"order {oid}: product {o['product_id']} is not in the plant model")
            continue
        full = pr["subject_cfp"] if alloc else pr["mb_cap_cfp"]
        amax = (num(o.get("alpha_max")) if num(o.get("alpha_max")) is not None else 1.0) if alloc else 1.0
        cap_per_t = amax * full
        cap = tonnage * cap_per_t
        if num(o.get("requested_reps_t")) is not None:
            cap = min(cap, float(o["requested_reps_t"]))
        alpha = reps / (tonnage * full) if full > 0 else 0.0
        basis = pr["general_cfp"] + pr["rep_term"]
        allocated = pr["subject_cfp"] * (1 - alpha) + pr["non_allocable"]
        claimed = allocated if alloc else basis - reps / tonnage
        claimed_of[oid] = claimed
        if not close(drawn[oid], reps):
            issues.append(f"lines sum {drawn[oid]:.6f} != order REPs {reps:.6f}")
        if not close(cap_per_t, float(o["cap_per_t"])):
            issues.append(f"cap per t {float(o['cap_per_t']):.6f} != "
                          + (f"alpha_max x (scope 1 + 2 + allocable scope 3 + correction) = {cap_per_t:.6f} (8.3.2)"
                             if alloc else f"scope 1 + scope 2 + correction = {cap_per_t:.6f} (7.3.2)"))
        if not close(cap, float(o["cap_t"])):
            issues.append(f"cap {float(o['cap_t']):.6f} != recomputed {cap:.6f}")
        if reps > cap + TOL_ABS + TOL_REL * cap:
            issues.append(f"REPs {reps:.6f} above the cap {cap:.6f} (7.3.2 / 8.3.2)")
        if not -1e-9 <= alpha <= 1 + 1e-6:
            issues.append(f"alpha {alpha:.6f} outside [0, 1] (8.1.1)")
        if abs(alpha - float(o["alpha"])) > 2e-6:  # both sides carry 6-decimal rounding
            issues.append(f"alpha {alpha:.6f} != reported {float(o['alpha']):.6f}")
        if abs(float(o["gx_tonnage_t"]) - float(o["alpha"]) * tonnage) > 1e-3 + 1e-6 * tonnage:
            issues.append("GX tonnage != alpha x tonnage")
        for col, want in (("rep_term", pr["rep_term"]), ("basis_cfp", basis)):
            if col not in o:
                issues.append(f"results/orders.csv has no {col}")
            elif not close(want, float(o[col])):
                issues.append(f"{col} {float(o[col]):.6f} != recomputed {want:.6f} (7.3.3)")
        if alloc and (abs(basis - float(o["residual_cfp"])) > 1e-5 or abs(allocated - float(o["allocated_cfp"])) > 1e-5):
            issues.append(f"Residual/Allocated CFP do not follow 8.1.1 (expected {basis:.6f} / {allocated:.6f})")
        if "claimed_cfp" not in o or num(o["claimed_cfp"]) is None:
            issues.append("no claimed_cfp")
        elif abs(claimed - float(o["claimed_cfp"])) > 2e-5:
            issues.append(f"claimed_cfp {float(o['claimed_cfp']):.6f} != "
                          + (f"the Allocated CFP {claimed:.6f} (8.1.1)" if alloc else
                             f"basis - REPs per t = {basis:.6f} - {reps / tonnage:.6f} = {claimed:.6f} (7.3.3)"))
        if reps > 0 and not pr["cfp_data_usable"]:
            issues.append("REPs on a product whose CFP data is older than five years without a justification (5.2.2)")
        problems += [f"order {oid}: {i}" for i in issues]
        rows.append({"order_id": oid, "method": o["method"], "product_id": o["product_id"], "tonnage_t": tonnage,
                     "lines_sum_t": r6(drawn[oid]), "reps_t": reps, "cap_t": float(o["cap_t"]),
                     "cap_t_recomputed": r6(cap), "full_cap_per_t": r6(full), "alpha_recomputed": r6(alpha),
                     "alpha_reported": float(o["alpha"]), "basis_cfp_recomputed": r6(basis),
                     "residual_cfp_recomputed": r6(basis) if alloc else None,
                     "allocated_cfp_recomputed": r6(allocated) if alloc else None,
                     "claimed_cfp_recomputed": r6(claimed), "claimed_cfp_reported": num(o.get("claimed_cfp")),
                     "ok": not issues, "issues": "; ".join(issues)})
    return rows, problems, claimed_of


# ------------------------------------------------------------------------------------------ 6. claims


def claims_check(pack: Path, exact: dict[str, dict[str, float]], prod: dict[str, dict[str, Any]],
                 added: dict[str, float], claimed: dict[str, float]) -> tuple[list[dict[str, Any]], list[str]]:
    """Buyers' claims across both methods against the organization's actual emissions (7.3.3, 8.1, 8.3.1)."""
    orders = read(pack / "results" / "orders.csv")
    reported = {p["product_id"]: p for p in read(pack / "results" / "products.csv")}
    pools = read(pack / "results" / "pools.csv")
    ref = as_of(pack)
    gx_t: dict[str, float] = defaultdict(float)
    gx_claims: dict[str, float] = defaultdict(float)
    for o in orders:
        if float(o["reps_t"]) > 0 and o["order_id"] in claimed:
            gx_t[o["product_id"]] += float(o["tonnage_t"])
            gx_claims[o["product_id"]] += float(o["tonnage_t"]) * claimed[o["order_id"]]
    rows, problems = [], []
    total_claims = total_general = 0.0
    for k, m in sorted(prod.items()):
        claims_k = gx_claims[k] + m["non_gx_cfp"] * (m["production_t"] - gx_t[k])
        general_k = m["production_t"] * m["general_cfp"]
        total_claims += claims_k
        total_general += general_k
        r = reported.get(k, {})
        issues = [f"{col} {float(r[col]):.3f} != recomputed {want:.3f}"
                  for col, want in (("gx_order_t", gx_t[k]), ("claims_gx_t", gx_claims[k]), ("claims_t", claims_k))
                  if col in r and not close(want, float(r[col]), 1e-7)]
        problems += [f"product {k}: {i} (7.3.3, 8.1)" for i in issues]
        rows.append({"item": k, "production_t": m["production_t"], "gx_order_t": r6(gx_t[k]),
                     "claims_gx_t": r6(gx_claims[k]), "non_gx_cfp": r6(m["non_gx_cfp"]), "claims_t": r6(claims_k),
                     "emissions_general_t": r6(general_k), "ok": not issues, "issues": "; ".join(issues)})
    known = {p["pool_id"] for p in pools}
    before = sum(float(a["used_t"]) for a in read(pack / "inputs" / "scenario" / "account.csv")
                 if f"{a['project_id']}@{day(a['period_end']).isoformat()}" in known)
    eligible = [p for p in pools if yes(p.get("eligible", "")) and p["pool_id"] in exact]
    not_in = sum(exact[p["pool_id"]]["reps_t"] - added.get(p["pool_id"], 0.0) for p in eligible
                 if day(p["period_end"]) <= ref)
    in_cfps = sum(added.get(p["pool_id"], 0.0) for p in eligible)
    claims = total_claims - before
    actual = total_general - not_in
    margin = claims - actual
    mine = {"emissions_general_t": total_general, "reps_in_cfps_t": in_cfps, "reps_claimed_before_t": before,
            "claims_t": claims, "reps_not_in_cfps_t": not_in, "actual_emissions_t": actual, "claims_margin_t": margin}
    ok = margin >= -(1e-3 + 1e-7 * abs(actual))
    if not ok:
        problems.append(f"buyers may claim {claims:,.3f} t-CO2e in total, below the organization's actual emissions "
                        f"{actual:,.3f}: {-margin:,.3f} t-CO2e counted twice (7.3.3, 8.1, 8.3.1)")
    given = summary_of(pack).get("claims") or {}
    if not given:
        problems.append("results/summary.json has no claims block")
    for key, want in mine.items():
        if key in given and not close(want, float(given[key]), 1e-7) and abs(want - float(given[key])) > 1e-3:
            problems.append(f"summary.json claims.{key} {float(given[key]):,.3f} != recomputed {want:,.3f}")
    rows.append({"item": "TOTAL", "emissions_general_t": r6(total_general), "claims_t": r6(claims),
                 "ok": ok, "issues": (f"claims {claims:,.3f} - actual {actual:,.3f} = margin {margin:,.3f} "
                                      f"(REPs claimed before {before:,.3f}; verified REPs in no CFP {not_in:,.3f})")})
    return rows, problems


# ------------------------------------------------------------------------------------------ 7. ledger


def entry_hash(prev: str, row: dict[str, Any]) -> str:
    """The journal's hash: sha256(prev_hash | canonical JSON of the entry's content)."""
    body = {k: row.get(k) for k in ("entry_id", "created_at", "batch_id", "kind", "pool_id", "amount_g",
                                    "certificate_id", "reason", "meta")}
    return hashlib.sha256((prev + "|" + json.dumps(body, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()


CERT_FIELDS = ("certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_g", "general_cfp",
               "residual_cfp", "allocated_cfp", "alpha", "gx_tonnage_t", "batch_id", "issued_at")
OPTIONAL_CERT_FIELDS = ("basis_cfp", "claimed_cfp")  # stated since ledger revision 0003; counted when present
LINE_FIELDS = ("line_no", "pool_id", "project_id", "period_end", "gas", "reps_g", "evidence")


def certificate_digest(cert: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """SHA-256 over a certificate's issued content and lines (as written into its issue entries); the basis
    and claimed CFP count only when the certificate states them (older certificates keep their digest)."""
    content = {k: cert.get(k) for k in CERT_FIELDS}
    content.update({k: cert[k] for k in OPTIONAL_CERT_FIELDS if cert.get(k) is not None})
    body = {"certificate": content,
            "lines": [{k: ln.get(k) for k in LINE_FIELDS} for ln in sorted(lines, key=lambda x: x["line_no"])]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def ledger_checks(pack: Path) -> tuple[list[dict[str, Any]], list[str]] | None:
    """Hash chain, head, balances, reconciliation, certificate digests; None when the pack has no ledger."""
    led = pack / "ledger"
    if not (led / "journal.jsonl").is_file():
        return None
    journal = _jsonl(led / "journal.jsonl")
    problems: list[str] = []
    prev = GENESIS
    for e in journal:
        if e["prev_hash"] != prev:
            problems.append(f"journal seq {e['seq']}: prev_hash does not match the entry before it")
        if entry_hash(e["prev_hash"], e) != e["hash"]:
            problems.append(f"journal seq {e['seq']}: content does not match its hash")
        prev = e["hash"]
    head = json.loads((led / "head.json").read_text(encoding="utf-8")) if (led / "head.json").is_file() else {}
    if head and head.get("hash") != (journal[-1]["hash"] if journal else GENESIS):
        problems.append("the journal head does not match the last entry: entries were deleted")
    col = {"credit": "credited_g", "adjust": "adjusted_g", "issue": "issued_g", "reverse": "reversed_g",
           "expire": "expired_g"}
    derived: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(col.values(), 0))
    for e in journal:
        if e["pool_id"] and e["kind"] in col:
            derived[e["pool_id"]][col[e["kind"]]] += int(e["amount_g"])
    rows = []
    stored = {b["pool_id"]: b for b in read(led / "pool_balance.csv")}
    for pid in sorted(set(derived) | set(stored)):
        d = derived[pid]
        remaining = d["credited_g"] + d["adjusted_g"] - d["issued_g"] + d["reversed_g"] - d["expired_g"]
        s = stored.get(pid)
        same = s is not None and all(int(s[k]) == v for k, v in d.items()) and int(s["remaining_g"]) == remaining
        if not same:
            problems.append(f"pool {pid}: stored balance differs from the journal")
        if remaining < 0:
            problems.append(f"pool {pid}: negative balance {remaining} g")
        rows.append({"pool_id": pid, **d, "remaining_g": remaining, "stored_matches_journal": same,
                     "reconciles": d["credited_g"] + d["adjusted_g"]
                     == d["issued_g"] - d["reversed_g"] + d["expired_g"] + remaining})
    certs = _jsonl(led / "certificates.jsonl")
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in _jsonl(led / "certificate_lines.jsonl"):
        lines[ln["certificate_id"]].append(ln)
    issues: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in journal:
        if e["kind"] == "issue" and e.get("certificate_id"):
            issues[e["certificate_id"]].append(e)
    for c in certs:
        cid = c["certificate_id"]
        ent = issues.get(cid, [])
        ls = lines.get(cid, [])
        if not ent:
            problems.append(f"certificate {cid}: no issue entry in the journal")
            continue
        if certificate_digest(c, ls) != json.loads(ent[0]["meta"]).get("certificate_digest"):
            problems.append(f"certificate {cid}: content differs from what was issued (digest)")
        if sum(int(x["reps_g"]) for x in ls) != int(c["reps_g"]) or sorted(
                (e["pool_id"], int(e["amount_g"])) for e in ent) != sorted((x["pool_id"], int(x["reps_g"])) for x in ls):
            problems.append(f"certificate {cid}: lines do not match its issue entries")
    return rows, problems


# -------------------------------------------------------------------------------------------- driver

TABLE_OF = {"reps": "rep_calculation", "pool_use": "pool_use", "physical_connection": "connection_checks",
            "products": "product_checks", "orders": "order_checks", "claims": "claims", "ledger": "ledger_balances"}


def run_all(pack: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Every check: (summary with problems per check, the tables of recomputed rows)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    checks: dict[str, Any] = {}
    calc, exact = rep_calculation(pack)
    tables["rep_calculation"], checks["reps"] = check_reps(pack, calc)
    tables["pool_use"], checks["pool_use"] = pool_use(pack)
    tables["connection_checks"], checks["physical_connection"], connected = connection_checks(pack)
    tables["product_checks"], checks["products"], prod, added = product_checks(pack, exact, connected)
    tables["order_checks"], checks["orders"], claimed = order_checks(pack, prod)
    tables["claims"], checks["claims"] = claims_check(pack, exact, prod, added, claimed)
    led = ledger_checks(pack)
    if led is not None:
        tables["ledger_balances"], checks["ledger"] = led
    summary = {"ok": not any(checks.values()),
               "checks": {k: {"ok": not v, "problems": v} for k, v in checks.items()},
               "counts": {k: len(v) for k, v in tables.items()}}
    return summary, tables


def main(argv: list[str] | None = None) -> int:
    """Run every check on the pack and print one line per check."""
    args = sys.argv[1:] if argv is None else argv
    pack = Path(args[0]) if args else Path(__file__).resolve().parent
    summary, tables = run_all(pack)
    for name, res in summary["checks"].items():
        print(f"{'ok  ' if res['ok'] else 'FAIL'} {name}: {len(tables[TABLE_OF[name]])} rows checked, "
              f"{len(res['problems'])} problem(s)")
        for p in res["problems"][:20]:
            print(f"       - {p}")
    print("all checks passed" if summary["ok"] else "SOME CHECKS FAILED")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
