"""Checks 4 and 7: each product's CFP terms (7.3.3 correction, basis, caps, CFP data age) and each order's cap,
alpha, three CFPs, claimed CFP and status (7.3.2, 7.3.3, 8.1.1, 8.3.2, 5.2.2)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .connection import crude_steel_site
from .eligibility import line_rules
from .run import Run
from .values import TOL_ABS, TOL_REL, Found, add_years, agree, days, fnum, message_value, num, oday, plain, r6

DATA_AGE_YEARS = 5  # 5.2.2
FILL_TOL = 1e-6


def product_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """The REPs reflected in each General CFP per tonne (7.3.3) and every CFP term, from the inputs alone;
    compared with ``results/products.csv`` and the pools' ``in_cfps_t``. Fills ``run.prod`` and ``run.added``."""
    raw = run.products
    f = Found()
    production = {k: fnum(p.get("production_t")) for k, p in raw.items()}
    prod_j: dict[str, float] = defaultdict(float)
    for j, k in run.connected:
        prod_j[j] += production.get(k, 0.0)
    term: dict[str, float] = defaultdict(float)
    added: dict[str, float] = defaultdict(float)
    parts: dict[str, list[str]] = defaultdict(list)
    for pid, p in sorted(run.pools.items()):
        if not p["eligible"]:
            continue
        j, start, end = p["project_id"], p["start"], p["end"]
        for k in sorted(k for jj, k in run.connected if jj == j and k in raw):
            cs, ce = oday(raw[k].get("cfp_period_start")), oday(raw[k].get("cfp_period_end"))
            if cs is None or ce is None:
                continue
            inside = days(max(start, cs), min(end, ce))
            if not inside or not prod_j[j]:
                continue
            per_t = p["reps_t"] * inside / days(start, end) / prod_j[j]
            term[k] += per_t
            added[pid] += per_t * production[k]
            parts[k].append(f"{pid}: {plain(p['reps_t'])} x {inside}/{days(start, end)} / {plain(prod_j[j])}")
    rows = []
    for k, p in raw.items():
        s1, s2 = fnum(p.get("scope1")), fnum(p.get("scope2"))
        s3u, s3a = fnum(p.get("scope3_upstream")), fnum(p.get("scope3_allocable"))
        general = fnum(p.get("general_cfp"))
        t = term.get(k, 0.0)
        end = oday(p.get("cfp_period_end"))
        justified = bool(p.get("data_age_justification", ""))
        m = {"production_t": production[k], "general_cfp": general, "rep_term": t,
             "residual_cfp": general + t, "non_gx_cfp": general + t,
             "mb_cap_cfp": s1 + s2 + t, "subject_cfp": s1 + s2 + s3a + t, "non_allocable": s3u - s3a,
             "scope1": s1, "scope2": s2, "scope3_upstream": s3u, "scope3_allocable": s3a,
             "cfp_data_usable": (end is not None and add_years(end, DATA_AGE_YEARS) >= run.as_of) or justified,
             "cfp_start": oday(p.get("cfp_period_start")), "cfp_end": end,
             "crude_steel_site": crude_steel_site(run, k)}
        run.prod[k] = m
        r = run.r_products.get(k)
        before = f.count()
        if r is None:
            f.add("a product of the inputs is not in results/products.csv", k)
        else:
            for col, rule in (
                    ("general_cfp", ("results/products.csv general_cfp is not the General CFP of "
                                     "inputs/model/products.csv (5, 8.3.3)")),
                    ("production_t", "results/products.csv production_t is not that of the inputs (8.3.2)"),
                    ("rep_term", ("results/products.csv rep_term is not the recomputed 7.3.3 correction (7.3.3, "
                                  "8.3.2)")),
                    ("residual_cfp", "results/products.csv residual_cfp is not General CFP + rep_term (8.3.2)"),
                    ("non_gx_cfp", "results/products.csv non_gx_cfp is not General CFP + rep_term (7.3.3)"),
                    ("mb_cap_cfp", "results/products.csv mb_cap_cfp is not scope 1 + scope 2 + rep_term (7.3.2)"),
                    ("subject_cfp", ("results/products.csv subject_cfp is not scope 1 + 2 + allocable scope 3 + "
                                     "rep_term (8.1.1, 8.3.2)")),
                    ("non_allocable", ("results/products.csv non_allocable is not upstream less allocable scope 3 "
                                       "(8.1.2)")),
                    ("scope1", "results/products.csv states other scopes than the inputs (5.2.4)"),
                    ("scope2", "results/products.csv states other scopes than the inputs (5.2.4)"),
                    ("scope3_upstream", "results/products.csv states other scopes than the inputs (5.2.4)"),
                    ("scope3_allocable", "results/products.csv states other scopes than the inputs (8.1.2)")):
                if col not in r:
                    if col in ("general_cfp", "rep_term", "residual_cfp", "non_gx_cfp", "mb_cap_cfp", "subject_cfp",
                               "non_allocable"):
                        f.add(f"results/products.csv has no {col}", k)
                    continue
                agree(f, rule, k, col, m[col], r[col])
            if "cfp_data_usable" in r:
                agree(f, "results/products.csv cfp_data_usable departs from the CFP data age (5.2.2)", k,
                      "cfp_data_usable", m["cfp_data_usable"], r["cfp_data_usable"])
            if "crude_steel_site" in r:
                agree(f, "results/products.csv crude_steel_site is not the site of the route's steelmaking unit", k,
                      "crude_steel_site", m["crude_steel_site"], r["crude_steel_site"])
        rows.append({"product_id": k, "production_t": production[k], "general_cfp": general,
                     "rep_term_recomputed": r6(t), "rep_term_reported": num((r or {}).get("rep_term")),
                     "rep_term_parts": "; ".join(parts.get(k, [])) or "no connected pool inside the CFP period",
                     "non_gx_cfp_recomputed": r6(m["non_gx_cfp"]), "mb_cap_cfp_recomputed": r6(m["mb_cap_cfp"]),
                     "subject_cfp_recomputed": r6(m["subject_cfp"]), "cfp_data_usable": m["cfp_data_usable"],
                     "ok": f.count() == before})
    for k in sorted(set(run.r_products) - set(raw)):
        f.add("a product of results/products.csv is not in the inputs", k)
    run.added = dict(added)
    for pid, p in sorted(run.r_pools.items()):
        if pid not in run.pools:
            continue
        want = added.get(pid, 0.0)
        if "in_cfps_t" in p:
            agree(f, "results/pools.csv in_cfps_t is not the recomputed part of the pool reflected in CFPs (7.3.3, "
                     "8.3.1)", pid, "in_cfps_t", want, p["in_cfps_t"], 1e-7)
        if "alloc_limit_t" in p:
            agree(f, "results/pools.csv alloc_limit_t is not in_cfps - used before (8.1, 8.3.1)", pid,
                  "alloc_limit_t", max(want - run.pools[pid]["used_before_t"], 0.0), p["alloc_limit_t"], 1e-7)
    return rows, f


def order_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Each order of the inputs: its lines, cap, alpha, CFPs and status, recomputed; against ``orders.csv``.
    Fills ``run.order_calc``."""
    f = Found()
    lines_of: dict[str, list[dict[str, str]]] = defaultdict(list)
    for ln in run.lines:
        lines_of[ln.get("order_id", "")].append(ln)
    usable = [p for p in run.pools.values() if p["eligible"] and p["ended"] and p["available_t"] > 0]
    can_feed: dict[tuple[Any, ...], bool] = {}
    rows = []
    for oid, o in sorted(run.orders.items()):
        r = run.r_orders.get(oid)
        k = o.get("product_id", "")
        pr = run.prod.get(k)
        before = f.count()
        if pr is None:
            f.add("an order's product is not in the plant model", oid)
            continue
        alloc = o.get("method") == "allocation"
        tonnage = fnum(o.get("tonnage_t"))
        reps = sum(fnum(ln.get("reps_t")) for ln in lines_of.get(oid, []))
        full = pr["subject_cfp"] if alloc else pr["mb_cap_cfp"]
        amax = num(o.get("alpha_max")) if alloc and num(o.get("alpha_max")) is not None else 1.0
        cap_per_t = amax * full
        cap = tonnage * cap_per_t
        requested = num(o.get("requested_reps_t"))
        if requested is not None:
            cap = min(cap, requested)
        alpha = reps / (tonnage * full) if full > 0 and tonnage > 0 else 0.0
        basis = pr["general_cfp"] + pr["rep_term"]
        allocated = pr["subject_cfp"] * (1 - alpha) + pr["non_allocable"]
        claimed = allocated if alloc else basis - (reps / tonnage if tonnage else 0.0)
        certifiable = reps > 0 and all(run.pools.get(ln.get("pool_id", ""), {}).get("certifiable", False)
                                       for ln in lines_of.get(oid, []))
        # status: ineligible when no pool may feed it at all (or its product or the operational period rule it out)
        key = (k, o.get("method"), o.get("gas", ""), o.get("delivery_date", ""))
        if key not in can_feed:
            can_feed[key] = any(not line_rules(run, o, p) for p in usable)
        feeding = can_feed[key]
        ineligible = not pr["cfp_data_usable"] or not feeding or not cap > 0 or (
            alloc and (oday(o.get("delivery_date")) is None or not run.op_start <= oday(o.get("delivery_date"))
                       <= run.op_end or run.as_of > run.op_end))
        status = ("ineligible" if ineligible else "filled" if reps >= cap - FILL_TOL * max(1.0, cap)
                  else "partial" if reps > 0 else "unfilled")
        calc = {"order_id": oid, "customer": o.get("customer", ""), "product_id": k, "method": o.get("method", ""),
                "tonnage_t": tonnage, "reps_t": reps, "reps_per_t": reps / tonnage if tonnage else 0.0,
                "cap_per_t": cap_per_t, "cap_t": cap, "alpha": alpha, "gx_tonnage_t": alpha * tonnage,
                "general_cfp": pr["general_cfp"], "rep_term": pr["rep_term"], "basis_cfp": basis,
                "residual_cfp": basis if alloc else None, "allocated_cfp": allocated if alloc else None,
                "claimed_cfp": claimed, "certifiable": certifiable, "status": status,
                "lines": sorted((ln.get("pool_id", ""), fnum(ln.get("reps_t"))) for ln in lines_of.get(oid, [])),
                "value": reps * fnum(o.get("premium"))}
        run.order_calc[oid] = calc
        if reps > cap + TOL_ABS + TOL_REL * cap:
            f.add("an order has more REPs than its cap: mass balance scope 1 + 2 + rep_term per t (7.3.2), GX "
                  "Allocation alpha_max x subject part (8.3.2), and requested_reps_t", oid,
                  f"REPs {reps:.6f}, cap {cap:.6f}")
        if not -1e-9 <= alpha <= 1 + 1e-6:
            f.add("an order's alpha is outside [0, 1] (8.1.1)", oid, f"{alpha:.6f}")
        if reps > 0 and ineligible and not pr["cfp_data_usable"]:
            f.add("REPs on a product whose CFP data is older than five years without a justification (5.2.2)", oid)
        if r is None:
            f.add("an order of the inputs is not in results/orders.csv", oid)
        else:
            same = "results/orders.csv copies other order facts than inputs/scenario/orders.csv"
            for col in ("customer", "product_id", "method"):
                agree(f, same, oid, col, o.get(col, ""), r.get(col))
            agree(f, same, oid, "tonnage_t", tonnage, r.get("tonnage_t"))
            agree(f, same, oid, "delivery_date", (o.get("delivery_date") or "")[:10], (r.get("delivery_date") or "")[:10])
            agree(f, same, oid, "gas", o.get("gas", ""), r.get("gas"))
            if "premium" in r:
                agree(f, same, oid, "premium", fnum(o.get("premium")), r.get("premium"))
            if "requested_reps_t" in r:
                agree(f, same, oid, "requested_reps_t", requested, r.get("requested_reps_t") or None)
            if alloc and "alpha_max" in r:
                agree(f, same, oid, "alpha_max", amax, r.get("alpha_max"))
            agree(f, "results/orders.csv reps_t is not the sum of the order's allocation lines", oid, "reps_t", reps,
                  r.get("reps_t"))
            agree(f, "results/orders.csv cap_per_t is not " + ("alpha_max x (scope 1 + 2 + allocable scope 3 + "
                                                                "rep_term) (8.3.2)" if alloc else
                                                                "scope 1 + scope 2 + rep_term (7.3.2)"),
                  oid, "cap_per_t", cap_per_t, r.get("cap_per_t"))
            agree(f, "results/orders.csv cap_t is not tonnage x cap per t, at most requested_reps_t (7.3.2, 8.3.2)",
                  oid, "cap_t", cap, r.get("cap_t"))
            if abs(alpha - fnum(r.get("alpha"))) > 2e-6:  # both sides carry 6-decimal rounding
                f.add("results/orders.csv alpha is not REPs / (tonnage x full cap per t) (8.1.1)", oid,
                      f"reported {fnum(r.get('alpha')):.6f}, recomputed {alpha:.6f}")
            if abs(alpha * tonnage - fnum(r.get("gx_tonnage_t"))) > 1e-3 + 1e-6 * tonnage:
                f.add("results/orders.csv gx_tonnage_t is not alpha x tonnage (8.1.1)", oid,
                      f"reported {fnum(r.get('gx_tonnage_t')):.6f}, recomputed {alpha * tonnage:.6f}")
            agree(f, "results/orders.csv general_cfp is not the product's General CFP of the inputs (8.3.3)", oid,
                  "general_cfp", pr["general_cfp"], r.get("general_cfp"))
            for col, want in (("rep_term", pr["rep_term"]), ("basis_cfp", basis)):
                if col not in r:
                    f.add(f"results/orders.csv has no {col}", oid)
                else:
                    agree(f, f"results/orders.csv {col} is not the recomputed {col} (7.3.3)", oid, col, want, r[col])
            if alloc:
                for col, want in (("residual_cfp", basis), ("allocated_cfp", allocated)):
                    if abs(want - fnum(r.get(col), float("nan"))) > 1e-5 or r.get(col) in (None, ""):
                        f.add("results/orders.csv Residual/Allocated CFP do not follow 8.1.1", oid,
                              f"{col}: reported {message_value(r.get(col))}, recomputed {want:.6f}")
            if r.get("claimed_cfp") in (None, ""):
                f.add("results/orders.csv has no claimed_cfp", oid)
            elif abs(claimed - fnum(r.get("claimed_cfp"))) > 2e-5:
                f.add("results/orders.csv claimed_cfp is not " + ("the Allocated CFP (8.1.1)" if alloc else
                                                                   "basis - REPs per t (7.3.3)"), oid,
                      f"claimed_cfp: reported {fnum(r.get('claimed_cfp')):.6f}, recomputed {claimed:.6f}"
                      + ("" if alloc else f" = {basis:.6f} - {calc['reps_per_t']:.6f}"))
            if "reps_per_t" in r:
                agree(f, "results/orders.csv reps_per_t is not REPs / tonnage", oid, "reps_per_t", calc["reps_per_t"],
                      r.get("reps_per_t"))
            if "certifiable" in r:
                agree(f, "results/orders.csv certifiable is not 'served, from third-party verified pools only' (6.8)",
                      oid, "certifiable", certifiable, r.get("certifiable"))
            if "status" in r and r.get("status") != status:
                f.add("results/orders.csv status departs from the recomputed one (ineligible when no pool may feed "
                      "the order; filled at the cap)", oid, f"reported {r.get('status')}, recomputed {status}")
            if "allocated_above_general" in r:
                agree(f, "results/orders.csv allocated_above_general is not 'Allocated CFP above the General CFP'",
                      oid, "allocated_above_general", alloc and reps > 0 and allocated > pr["general_cfp"] + 1e-9,
                      r.get("allocated_above_general"))
        rows.append({"order_id": oid, "method": o.get("method", ""), "product_id": k, "tonnage_t": tonnage,
                     "lines_sum_t": r6(reps), "reps_t_reported": num((r or {}).get("reps_t")), "cap_t": r6(cap),
                     "cap_per_t": r6(cap_per_t), "alpha_recomputed": r6(alpha),
                     "alpha_reported": num((r or {}).get("alpha")), "basis_cfp_recomputed": r6(basis),
                     "residual_cfp_recomputed": r6(basis) if alloc else None,
                     "allocated_cfp_recomputed": r6(allocated) if alloc else None,
                     "claimed_cfp_recomputed": r6(claimed), "claimed_cfp_reported": num((r or {}).get("claimed_cfp")),
                     "status_recomputed": status, "ok": f.count() == before})
    for oid in sorted(set(run.r_orders) - set(run.orders)):
        f.add("an order of results/orders.csv is not in the inputs", oid)
    for oid in sorted(set(lines_of) - set(run.orders)):
        f.add("allocation lines for an order that is not in the inputs", oid)
    return rows, f
