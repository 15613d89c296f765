"""Checks 2 and 5: which pool may feed which order: each project's and pool's eligibility (6.2.1, 6.3, 6.8,
7.2.2) and every allocation line's rules (6.7, 7.3.1, 5.2.2, 8.2.2, 8.2.3)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from .run import Run
from .values import TOL_ABS, Found, add_years, agree, day, days, fnum, oday, r6, yes

ELIGIBLE_KINDS = ("process_conversion", "fuel_conversion", "raw_material_conversion")  # 6.2.1.1


def pool_key(project_id: str, period_end: str) -> str:
    """Pool id ``PROJECT@YYYY-MM-DD``."""
    return f"{project_id}@{day(period_end).isoformat()}"


def project_status(run: Run) -> dict[str, dict[str, Any]]:
    """Eligibility of every project from the inputs (6.2.1.1, 6.2.1.2, 6.3, 6.8): the first rule it fails."""
    out = {}
    for pid, j in run.projects.items():
        node = run.nodes.get(j.get("node", ""), {})
        steel = yes(node.get("steel", ""))
        verified = yes(j.get("verified", ""))
        kind = j.get("kind", "")
        if kind == "external_certificate":
            reason = "an external certificate is never counted as REPs (6.3)"
        elif kind not in ELIGIBLE_KINDS:
            reason = f"kind {kind} is not a process, fuel or raw-material conversion (6.2.1.1, 6.2.1.2)"
        elif not j.get("additionality", ""):
            reason = "no additionality test passed (6.2.1.2)"
        elif not steel:
            reason = f"unit {j.get('node', '')} is not a steel operation (6.2.1.1)"
        elif not verified and not run.allow_unverified:
            reason = "not verified by a third party (6.8)"
        else:
            reason = ""
        out[pid] = {"eligible": reason == "", "certifiable": reason == "" and verified, "reason": reason,
                    "node": j.get("node", ""), "site": node.get("site", ""), "gas": j.get("gas", ""),
                    "verified": verified}
    return out


def eligibility_check(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Project status and pool facts from the inputs, against ``results/pools.csv`` and ``projects.csv``."""
    f = Found()
    run.status = project_status(run)
    used_before: dict[str, float] = defaultdict(float)
    for a in run.account:
        try:
            used_before[pool_key(a["project_id"], a["period_end"])] += float(a["used_t"])
        except (KeyError, ValueError):
            f.add("a row of inputs/scenario/account.csv cannot be read", a.get("project_id", "?"))
    first_start: dict[str, dt.date] = {}
    for e in run.exact.values():
        j = e["project_id"]
        first_start[j] = min(first_start.get(j, e["start"]), e["start"])
    for pid in sorted(set(used_before) - set(run.exact)):
        f.add("inputs/scenario/account.csv names a pool the inputs do not have (7.2.1)", pid)
    rows = []
    for pid, e in sorted(run.exact.items()):
        st = run.status.get(e["project_id"])
        if st is None:
            f.add("a calculation period of a project that is not in projects.csv", pid)
            st = {"eligible": False, "certifiable": False, "reason": "unknown project", "node": "", "site": "",
                  "gas": "", "verified": False}
        ended = e["end"] <= run.as_of
        expires = add_years(e["end"], run.expiry_years)
        before = used_before.get(pid, 0.0)
        pool = {"pool_id": pid, "project_id": e["project_id"], "start": e["start"], "end": e["end"],
                "reps_t": e["reps_t"], "eligible": st["eligible"], "certifiable": st["certifiable"],
                "reason": st["reason"], "ended": ended, "expires": expires, "site": st["site"], "gas": st["gas"],
                "node": st["node"], "used_before_t": before, "available_t": max(e["reps_t"] - before, 0.0),
                "first_start": first_start.get(e["project_id"], e["start"])}
        run.pools[pid] = pool
        r = run.r_pools.get(pid)
        issues_before = f.count()
        if r is not None:
            rule = "results/pools.csv departs from the pool facts of the inputs (6.2.1, 6.3, 6.8, 7.2.2)"
            agree(f, rule, pid, "eligible", st["eligible"], r.get("eligible"))
            agree(f, rule, pid, "certifiable", st["certifiable"], r.get("certifiable"))
            agree(f, rule, pid, "ended", ended, r.get("ended"))
            agree(f, rule, pid, "expires", expires.isoformat(), (r.get("expires") or "")[:10])
            agree(f, rule, pid, "project_id", e["project_id"], r.get("project_id"))
            agree(f, rule, pid, "period_start", e["start"].isoformat(), (r.get("period_start") or "")[:10])
            agree(f, rule, pid, "period_end", e["end"].isoformat(), (r.get("period_end") or "")[:10])
            agree(f, rule, pid, "node", st["node"], r.get("node"))
            agree(f, rule, pid, "site", st["site"], r.get("site"))
            agree(f, rule, pid, "gas", st["gas"], r.get("gas"))
            agree(f, rule, pid, "used_before_t", before, r.get("used_before_t"))
            if "available_t" in r:
                agree(f, rule, pid, "available_t", pool["available_t"], r.get("available_t"))
        rows.append({"pool_id": pid, "project_id": e["project_id"], "eligible": st["eligible"],
                     "certifiable": st["certifiable"], "reason": st["reason"], "ended": ended,
                     "expires": expires.isoformat(), "site": st["site"], "gas": st["gas"],
                     "used_before_t": r6(before), "ok": f.count() == issues_before})
    for pid, st in sorted(run.status.items()):
        r = run.r_projects.get(pid)
        if r is None:
            f.add("a project of the inputs is not in results/projects.csv", pid)
            continue
        rule = "results/projects.csv departs from the project's eligibility under the inputs (6.2.1, 6.3, 6.8)"
        agree(f, rule, pid, "eligible", st["eligible"], r.get("eligible"))
        agree(f, rule, pid, "certifiable", st["certifiable"], r.get("certifiable"))
        held = sum(p["reps_t"] for p in run.pools.values() if p["project_id"] == pid)
        agree(f, "results/projects.csv reps_t is not the sum of the project's pools (6.5)", pid, "reps_t", held,
              r.get("reps_t"))
    for pid in sorted(set(run.r_projects) - set(run.status)):
        f.add("a project of results/projects.csv is not in the inputs", pid)
    return rows, f


def line_rules(run: Run, order: dict[str, str], pool: dict[str, Any]) -> list[str]:
    """The rules a (pool, order) pair breaks (empty: the pool may feed the order)."""
    k = order.get("product_id", "")
    alloc = order.get("method") == "allocation"
    pr = run.prod.get(k)
    out = []
    if not pool["eligible"]:
        out.append(f"a line draws on a project that is not eligible: {pool['reason']}")
    if not pool["ended"]:
        out.append("a line draws on a pool whose calculation period had not ended by as_of: only verified REPs of "
                   "an ended period may be used (6.2.2.2, 6.8, 7.2.1)")
    if (pool["project_id"], k) not in run.connected:
        out.append("a line draws on a project not physically connected to the product (6.7, 7.2.3, 8.2.4)")
    gas = order.get("gas", "")
    if gas and gas != pool["gas"]:
        out.append("a line's gas type differs from what the order asks for (7.3.1)")
    if pr is None:
        out.append("a line is for a product that is not in the plant model")
        return out
    if not pr["cfp_data_usable"]:
        out.append("a line on a product whose CFP data ended more than five years before as_of without a "
                   "data_age_justification (5.2.2)")
    delivery = oday(order.get("delivery_date"))
    if not alloc:
        if delivery is None or pool["expires"] < delivery or pool["expires"] < run.as_of:
            out.append("GX Mass Balance from a pool that expired before the delivery or the run date (7.2.2)")
    else:
        if pr["cfp_end"] is not None and pr["cfp_end"] < pool["first_start"]:
            out.append("GX Allocation on a CFP calculated from data before the project started (ch. 4, 8.2.2)")
        if pr["cfp_start"] is None or pr["cfp_end"] is None or \
                not days(max(pool["start"], pr["cfp_start"]), min(pool["end"], pr["cfp_end"])):
            out.append("GX Allocation from a pool with no day inside the product's CFP data period (8.2.2)")
        if delivery is None or not run.op_start <= delivery <= run.op_end:
            out.append("GX Allocation delivered outside the operational period (8.2.3)")
        if run.as_of > run.op_end:
            out.append("GX Allocation after the operational period ended (8.2.3)")
    return out


def line_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Every allocation line may feed its order (inputs), and its copies of order and pool facts are right."""
    f = Found()
    rows = []
    for ln in run.lines:
        oid, pid = ln.get("order_id", ""), ln.get("pool_id", "")
        item = f"{oid} <- {pid}"
        before = f.count()
        o = run.orders.get(oid)
        p = run.pools.get(pid)
        if o is None:
            f.add("a line is for an order that is not in inputs/scenario/orders.csv", item)
        if p is None:
            f.add("a line draws on a pool that the inputs do not have (6.5)", item)
        reps = fnum(ln.get("reps_t"))
        if reps < -TOL_ABS:
            f.add("a line has negative REPs", item, f"{reps:.6f}")
        if o is not None and p is not None:
            for rule in line_rules(run, o, p):
                f.add(rule, item)
            rule = "results/allocations.csv copies other order or pool facts than the inputs"
            agree(f, rule, item, "product_id", o.get("product_id", ""), ln.get("product_id"))
            agree(f, rule, item, "method", o.get("method", ""), ln.get("method"))
            agree(f, rule, item, "project_id", p["project_id"], ln.get("project_id"))
            agree(f, rule, item, "period_start", p["start"].isoformat(), (ln.get("period_start") or "")[:10])
            agree(f, rule, item, "period_end", p["end"].isoformat(), (ln.get("period_end") or "")[:10])
            agree(f, rule, item, "gas", p["gas"], ln.get("gas"))
            pr = run.prod.get(o.get("product_id", ""))
            if pr is not None and "same_site" in ln:
                agree(f, "results/allocations.csv same_site is not the pool's site against the product's crude-steel "
                         "site (SteelZero site link)", item, "same_site", p["site"] == pr["crude_steel_site"],
                      ln.get("same_site"))
            if "certifiable" in ln:
                agree(f, "results/allocations.csv certifiable is not 'the project is third-party verified' (6.8)",
                      item, "certifiable", p["certifiable"], ln.get("certifiable"))
        rows.append({"order_id": oid, "pool_id": pid, "product_id": ln.get("product_id", ""),
                     "method": ln.get("method", ""), "reps_t": reps, "ok": f.count() == before})
    return rows, f
