#!/usr/bin/env python3
"""Re-perform the numbers of a gxopt verifier pack with the Python standard library only (no gxopt needed).

Usage::

    python3 recheck.py [PACK_DIR]        # default: the folder this script is in

Checks, each against the files of the pack (``inputs/`` = the run's inputs, ``results/`` = what gxopt wrote,
``ledger/`` = the ledger export when the report was made with a ledger):

1. REPs of every pool from ``inputs/scenario/project_periods.csv`` (JISF 6.1, 6.5, 6.6)::

       baseline emissions = baseline_intensity x output_t
       gross              = baseline emissions - project_emissions_t
       REPs               = max(gross, 0) x (1 - uncertainty) x share
   where projects at one node with overlapping periods form a 6.6 group: the group's largest uncertainty
   applies and its REPs are split by attribution_share (equal shares when none is given).
2. The use of every pool: used before (``account.csv``) + drawn by the allocation lines (by method) =
   used, remaining = REPs - used, never below zero (7.2.1, 7.3.1, 8.2.1).
3. Every order: the sum of its lines equals its REPs, never above its cap (7.3.2, 8.3.2); alpha, GX tonnage,
   Residual and Allocated CFP follow 8.1.1.
4. Every physical-connection path (6.7, 7.2.3): starts at the project's unit, each ``>`` step is a material
   edge and each ``~>`` step a utility edge of the plant model, and it ends on the product's route down to
   its last unit.
5. Ledger (when present): the hash chain of the journal and its head, each pool's stored balance against
   the journal, credited = issued - reversed + expired + remaining, each certificate's digest and lines
   against its issue entries.

Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

TOL_ABS = 1e-5  # result CSVs carry 6 decimals
TOL_REL = 1e-9
GENESIS = "0" * 64
UTILITY, MATERIAL = " ~> ", " > "


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


def close(a: float, b: float) -> bool:
    """Equal within the precision of the result files."""
    return abs(a - b) <= TOL_ABS + TOL_REL * max(abs(a), abs(b))


def _n(x: float) -> str:
    """A number as plain decimal text (no exponent)."""
    return f"{x:.9f}".rstrip("0").rstrip(".")


def r6(x: float | None) -> float | None:
    """Rounded for the written tables."""
    return None if x is None else round(x, 6)


# ------------------------------------------------------------------------------------------ 1. REPs


def rep_calculation(pack: Path) -> list[dict[str, Any]]:
    """Each pool's REPs step by step from the inputs alone."""
    periods = read(pack / "inputs" / "scenario" / "project_periods.csv")
    node_of = {p["project_id"]: p["node"] for p in read(pack / "inputs" / "scenario" / "projects.csv")}
    rows = []
    for i, p in enumerate(periods):
        rows.append({"i": i, "project_id": p["project_id"], "node": node_of.get(p["project_id"], ""),
                     "start": day(p["period_start"]), "end": day(p["period_end"]),
                     "B": float(p["baseline_intensity"]), "Q": float(p["output_t"]),
                     "E": float(p["project_emissions_t"]), "u": float(p["uncertainty"]),
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
    out = []
    for r in rows:
        group = members[find(r["i"])]
        grouped = len({g["project_id"] for g in group}) > 1
        u = max(g["u"] for g in group) if grouped else r["u"]
        if grouped:
            share = r["share_given"] if r["share_given"] is not None else 1.0 / len(group)
            share_source = "given" if r["share_given"] is not None else f"equal (1/{len(group)})"
        else:
            share, share_source = 1.0, "single project"
        baseline = r["B"] * r["Q"]
        gross = baseline - r["E"]
        floored = max(gross, 0.0)
        reps = floored * (1.0 - u) * share
        out.append({
            "pool_id": f"{r['project_id']}@{r['end'].isoformat()}", "project_id": r["project_id"], "node": r["node"],
            "period_start": r["start"].isoformat(), "period_end": r["end"].isoformat(),
            "baseline_intensity": r["B"], "output_t": r["Q"], "baseline_emissions_t": r6(baseline),
            "project_emissions_t": r["E"], "gross_reduction_t": r6(gross), "floored_at_zero_t": r6(floored),
            "group_6_6": "+".join(sorted({g["project_id"] for g in group})) if grouped else "",
            "uncertainty_own": r["u"], "uncertainty_applied": u, "conservative_factor": r6(1.0 - u),
            "share": share, "share_source": share_source, "reps_t": r6(reps),
            "formula": f"max({_n(r['B'])} x {_n(r['Q'])} - {_n(r['E'])}, 0) x (1 - {_n(u)}) x {_n(share)}",
        })
    return out


def check_reps(pack: Path, calc: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Recomputed REPs against ``results/pools.csv``."""
    pools = {p["pool_id"]: p for p in read(pack / "results" / "pools.csv")}
    problems, rows = [], []
    for c in calc:
        p = pools.get(c["pool_id"])
        if p is None:
            problems.append(f"pool {c['pool_id']}: in the inputs but not in results/pools.csv")
            continue
        reported = float(p["reps_t"])
        ok = close(c["reps_t"], reported)
        if not ok:
            problems.append(f"pool {c['pool_id']}: recomputed REPs {c['reps_t']:.6f} != reported {reported:.6f}")
        rows.append({**c, "reps_t_reported": reported, "difference_t": r6(c["reps_t"] - reported), "match": ok})
    for pid in sorted(set(pools) - {c["pool_id"] for c in calc}):
        problems.append(f"pool {pid}: in results/pools.csv but not in the inputs")
    return rows, problems


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


# ----------------------------------------------------------------------------------------- 3. orders


def order_checks(pack: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Each order's lines, cap, alpha and CFPs."""
    orders = read(pack / "results" / "orders.csv")
    products = {p["product_id"]: p for p in read(pack / "results" / "products.csv")}
    drawn: dict[str, float] = defaultdict(float)
    for ln in read(pack / "results" / "allocations.csv"):
        drawn[ln["order_id"]] += float(ln["reps_t"])
    rows, problems = [], []
    for o in orders:
        oid, reps, cap, tonnage = o["order_id"], float(o["reps_t"]), float(o["cap_t"]), float(o["tonnage_t"])
        pr = products.get(o["product_id"], {})
        alloc = o["method"] == "allocation"
        full = num(pr.get("subject_cfp") if alloc else pr.get("mb_cap_cfp"))
        alpha = reps / (tonnage * full) if full else 0.0
        issues = []
        if not close(drawn[oid], reps):
            issues.append(f"lines sum {drawn[oid]:.6f} != order REPs {reps:.6f}")
        if reps > cap + TOL_ABS + TOL_REL * cap:
            issues.append(f"REPs {reps:.6f} above the cap {cap:.6f} (7.3.2 / 8.3.2)")
        if not -1e-9 <= alpha <= 1 + 1e-6:
            issues.append(f"alpha {alpha:.6f} outside [0, 1] (8.1.1)")
        if abs(alpha - float(o["alpha"])) > 2e-6:  # both sides carry 6-decimal rounding
            issues.append(f"alpha {alpha:.6f} != reported {float(o['alpha']):.6f}")
        if abs(float(o["gx_tonnage_t"]) - float(o["alpha"]) * tonnage) > 1e-3 + 1e-6 * tonnage:
            issues.append("GX tonnage != alpha x tonnage")
        residual = allocated = None
        if alloc and pr:
            residual = float(pr["general_cfp"]) + float(pr["rep_term"])
            allocated = float(pr["subject_cfp"]) * (1 - alpha) + float(pr["non_allocable"])
            if abs(residual - float(o["residual_cfp"])) > 1e-5 or abs(allocated - float(o["allocated_cfp"])) > 1e-5:
                issues.append(f"Residual/Allocated CFP do not follow 8.1.1 (expected {residual:.6f} / {allocated:.6f})")
        problems += [f"order {oid}: {i}" for i in issues]
        rows.append({"order_id": oid, "method": o["method"], "product_id": o["product_id"], "tonnage_t": tonnage,
                     "lines_sum_t": r6(drawn[oid]), "reps_t": reps, "cap_t": cap, "full_cap_per_t": full,
                     "alpha_recomputed": r6(alpha), "alpha_reported": float(o["alpha"]),
                     "residual_cfp_recomputed": r6(residual), "allocated_cfp_recomputed": r6(allocated),
                     "ok": not issues, "issues": "; ".join(issues)})
    return rows, problems


# ------------------------------------------------------------------------------- 4. physical connection


def _steps(evidence: str) -> tuple[list[str], list[str]]:
    tokens, kinds, rest = [], [], evidence
    while True:
        iu, im = rest.find(UTILITY), rest.find(MATERIAL)
        cuts = [(i, k) for i, k in ((iu, "utility"), (im, "material")) if i >= 0]
        if not cuts:
            tokens.append(rest)
            return tokens, kinds
        i, k = min(cuts)
        tokens.append(rest[:i])
        kinds.append(k)
        rest = rest[i + len(UTILITY if k == "utility" else MATERIAL):]


def connection_checks(pack: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Each physical-connection path of the allocation lines and of connections.csv, step by step."""
    edges = {(e["source"], e["target"], e["kind"]) for e in read(pack / "inputs" / "model" / "edges.csv")}
    node_of = {p["project_id"]: p["node"] for p in read(pack / "inputs" / "scenario" / "projects.csv")}
    routes = {p["product_id"]: [n.strip() for n in p["route"].split(">")]
              for p in read(pack / "inputs" / "model" / "products.csv")}
    items = [("allocation", f"{ln['order_id']} <- {ln['pool_id']}", ln["project_id"], ln["product_id"], ln["evidence"])
             for ln in read(pack / "results" / "allocations.csv")]
    items += [("connection", f"{c['project_id']} -> {c['product_id']}", c["project_id"], c["product_id"], c["evidence"])
              for c in read(pack / "results" / "connections.csv")]
    rows, problems = [], []
    for source, what, project, product, evidence in items:
        tokens, kinds = _steps(evidence)
        route = routes.get(product, [])
        node = node_of.get(project, "")
        issues = []
        if not tokens or tokens[0] != node:
            issues.append(f"does not start at the project's unit {node}")
        if not route or tokens[-1] != route[-1]:
            issues.append("does not end at the product's last unit")
        step_text = []
        for u, v, k in zip(tokens, tokens[1:], kinds):
            ok = (u, v, k) in edges
            step_text.append(f"{u} {'~>' if k == 'utility' else '>'} {v} [{k} edge {'found' if ok else 'MISSING'}]")
            if not ok:
                issues.append(f"no {k} edge {u} -> {v}")
        last_utility = max((i + 1 for i, k in enumerate(kinds) if k == "utility"), default=0)
        tail = tokens[last_utility:]
        if not (tail and tail[0] in route and tail == route[route.index(tail[0]):]):
            issues.append("the material part is not the product's route down to its last unit")
        problems += [f"{source} {what}: path '{evidence}' {i} (6.7)" for i in issues]
        rows.append({"source": source, "item": what, "project_id": project, "project_node": node,
                     "product_id": product, "route": " > ".join(route), "evidence": evidence,
                     "via_utility": "utility" in kinds, "steps": " | ".join(step_text) or "(project unit is the last unit)",
                     "valid": not issues, "issues": "; ".join(issues)})
    return rows, problems


# ------------------------------------------------------------------------------------------ 5. ledger


def entry_hash(prev: str, row: dict[str, Any]) -> str:
    """The journal's hash: sha256(prev_hash | canonical JSON of the entry's content)."""
    body = {k: row.get(k) for k in ("entry_id", "created_at", "batch_id", "kind", "pool_id", "amount_g",
                                    "certificate_id", "reason", "meta")}
    return hashlib.sha256((prev + "|" + json.dumps(body, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()


CERT_FIELDS = ("certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_g", "general_cfp",
               "residual_cfp", "allocated_cfp", "alpha", "gx_tonnage_t", "batch_id", "issued_at")
LINE_FIELDS = ("line_no", "pool_id", "project_id", "period_end", "gas", "reps_g", "evidence")


def certificate_digest(cert: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """SHA-256 over a certificate's issued content and lines (as written into its issue entries)."""
    body = {"certificate": {k: cert.get(k) for k in CERT_FIELDS},
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


def run_all(pack: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Every check: (summary with problems per check, the tables of recomputed rows)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    checks: dict[str, Any] = {}
    calc = rep_calculation(pack)
    tables["rep_calculation"], problems = check_reps(pack, calc)
    checks["reps"] = problems
    tables["pool_use"], checks["pool_use"] = pool_use(pack)
    tables["order_checks"], checks["orders"] = order_checks(pack)
    tables["connection_checks"], checks["physical_connection"] = connection_checks(pack)
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
        n = {"reps": "rep_calculation", "pool_use": "pool_use", "orders": "order_checks",
             "physical_connection": "connection_checks", "ledger": "ledger_balances"}[name]
        print(f"{'ok  ' if res['ok'] else 'FAIL'} {name}: {len(tables[n])} rows checked, {len(res['problems'])} problem(s)")
        for p in res["problems"][:20]:
            print(f"       - {p}")
    print("all checks passed" if summary["ok"] else "SOME CHECKS FAILED")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
