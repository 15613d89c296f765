"""Check 8: buyers' claims across both methods against the organization's actual emissions (7.3.3, 8.1,
8.3.1), and the summary's totals."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .run import Run
from .values import Found, agree, fnum, r6


def claims_check(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Buyers' claims across both methods against the organization's actual emissions (7.3.3, 8.1, 8.3.1),
    the product totals and the summary's totals, all from the recomputed values."""
    f = Found()
    gx_t: dict[str, float] = defaultdict(float)
    gx_claims: dict[str, float] = defaultdict(float)
    alloc_reps: dict[str, float] = defaultdict(float)
    mb_reps: dict[str, float] = defaultdict(float)
    for c in run.order_calc.values():
        if c["reps_t"] > 0:
            gx_t[c["product_id"]] += c["tonnage_t"]
            gx_claims[c["product_id"]] += c["tonnage_t"] * c["claimed_cfp"]
        (alloc_reps if c["method"] == "allocation" else mb_reps)[c["product_id"]] += c["reps_t"]
    rows = []
    total_claims = total_general = total_basis = 0.0
    for k, m in sorted(run.prod.items()):
        claims_k = gx_claims[k] + m["non_gx_cfp"] * (m["production_t"] - gx_t[k])
        general_k = m["production_t"] * m["general_cfp"]
        total_claims += claims_k
        total_general += general_k
        total_basis += m["production_t"] * m["residual_cfp"]
        m.update({"gx_order_t": gx_t[k], "claims_gx_t": gx_claims[k], "claims_t": claims_k,
                  "emissions_general_t": general_k, "allocated_reps_t": alloc_reps[k], "mb_reps_t": mb_reps[k]})
        r = run.r_products.get(k, {})
        before = f.count()
        for col, want in (("gx_order_t", gx_t[k]), ("claims_gx_t", gx_claims[k]), ("claims_t", claims_k),
                          ("emissions_general_t", general_k), ("allocated_reps_t", alloc_reps[k]),
                          ("mb_reps_t", mb_reps[k]),
                          ("emissions_residual_t", m["production_t"] * m["residual_cfp"]),
                          ("emissions_after_allocation_t", m["production_t"] * m["residual_cfp"] - alloc_reps[k])):
            if col in r:
                agree(f, f"results/products.csv {col} departs from the recomputed claims (7.3.3, 8.1)", k, col, want,
                      r[col], 1e-7)
        rows.append({"item": k, "production_t": m["production_t"], "gx_order_t": r6(gx_t[k]),
                     "claims_gx_t": r6(gx_claims[k]), "non_gx_cfp": r6(m["non_gx_cfp"]), "claims_t": r6(claims_k),
                     "emissions_general_t": r6(general_k), "ok": f.count() == before})
    ended = [p for p in run.pools.values() if p["eligible"] and p["ended"]]
    before_t = sum(p["used_before_t"] for p in ended)
    not_in = sum(p["reps_t"] - run.added.get(p["pool_id"], 0.0) for p in ended)
    in_cfps = sum(run.added.get(p["pool_id"], 0.0) for p in run.pools.values() if p["eligible"])
    drawn = sum(fnum(ln.get("reps_t")) for ln in run.lines)
    claims = total_claims - before_t
    actual = total_general - not_in
    margin = claims - actual
    mine = {"emissions_general_t": total_general, "reps_in_cfps_t": in_cfps, "emissions_basis_t": total_basis,
            "reps_claimed_run_t": drawn, "reps_claimed_before_t": before_t, "claims_t": claims,
            "reps_not_in_cfps_t": not_in, "actual_emissions_t": actual, "claims_margin_t": margin}
    run.claims = mine
    ok = _no_double_counting(mine)
    if not ok:
        f.add("buyers may claim less than the organization's actual emissions: counted twice (7.3.3, 8.1, 8.3.1)",
              "claims", f"claims {claims:,.3f} - actual {actual:,.3f} = {margin:,.3f} t-CO2e")
    given = run.summary.get("claims") or {}
    if not given:
        f.add("results/summary.json has no claims block", "summary.json")
    for key, want in mine.items():
        if key in given:
            _total(f, "results/summary.json claims departs from the recomputed claims identity (7.3.3, 8.1, 8.3.1)",
                   f"claims.{key}", want, given[key])
    tot = run.summary.get("totals") or {}
    usable = [p for p in run.pools.values() if p["eligible"] and p["ended"]]
    value = sum(c["value"] for c in run.order_calc.values())
    statuses: dict[str, int] = defaultdict(int)
    for c in run.order_calc.values():
        statuses[c["status"]] += 1
    for key, want in (("pools", float(len(run.pools))), ("usable_pools", float(len(usable))),
                      ("reps_t", sum(p["reps_t"] for p in run.pools.values())),
                      ("usable_available_t", sum(p["available_t"] for p in usable)), ("used_run_t", drawn),
                      ("orders", float(len(run.orders))), ("value", value),
                      ("emissions_general_t", total_general),
                      ("emissions_after_allocation_t", total_basis - sum(alloc_reps.values()))):
        if key in tot:
            _total(f, "results/summary.json totals depart from the recomputed run", f"totals.{key}", want, tot[key])
    if isinstance(tot.get("orders_by_status"), dict) and dict(statuses) != {k: int(v) for k, v in
                                                                            tot["orders_by_status"].items()}:
        f.add("results/summary.json totals depart from the recomputed run", "totals.orders_by_status",
              f"reported {tot['orders_by_status']}, recomputed {dict(sorted(statuses.items()))}")
    by = run.summary.get("by_method") or {}
    for m in ("mass_balance", "allocation"):
        cs = [c for c in run.order_calc.values() if c["method"] == m]
        for key, want in (("orders", float(len(cs))), ("served", float(sum(c["reps_t"] > 0 for c in cs))),
                          ("reps_t", sum(c["reps_t"] for c in cs)), ("gx_tonnage_t", sum(c["gx_tonnage_t"] for c in cs)),
                          ("value", sum(c["value"] for c in cs))):
            if key in (by.get(m) or {}):
                _total(f, "results/summary.json by_method departs from the recomputed orders", f"by_method.{m}.{key}",
                       want, by[m][key])
    rows.append({"item": "TOTAL", "emissions_general_t": r6(total_general), "claims_t": r6(claims), "ok": ok,
                 "issues": (f"claims {claims:,.3f} - actual {actual:,.3f} = margin {margin:,.3f} "
                            f"(REPs claimed before {before_t:,.3f}; verified REPs in no CFP {not_in:,.3f})")})
    return rows, f


def claims_block(f: Found, run: Run, block: dict[str, Any], where: str) -> None:
    """A disclosure's claims block (and its 'no double counting') against the recomputed claims identity."""
    for key, want in run.claims.items():
        if key in block:
            _total(f, "a disclosure states other claims than the recomputed claims identity (7.3.3, 8.1, 9)",
                   f"{where}.{key}", want, block[key])
    if "no_double_counting" in block:
        agree(f, "a disclosure's 'no double counting' is not what the recomputed claims show (7.3.3, 8.1)", where,
              "no_double_counting", _no_double_counting(run.claims), block.get("no_double_counting"))


def _total(f: Found, rule: str, item: str, want: float, reported: Any) -> None:
    """A recomputed total against a reported one, to 0.001 t-CO2e (and 1e-7 relative); records a mismatch."""
    t = fnum(reported, float("nan"))
    if not (abs(want - t) <= 1e-3 + 1e-7 * max(abs(want), abs(t))):
        f.add(rule, item, f"reported {t:,.3f}, recomputed {want:,.3f}")


def _no_double_counting(claims: dict[str, float]) -> bool:
    """Buyers claim no less than the actual emissions (to 0.001 t-CO2e and 1e-7 relative)."""
    return claims["claims_margin_t"] >= -(1e-3 + 1e-7 * abs(claims["actual_emissions_t"]))
