"""Check 11: the 6.2.3 project table, the 8.3.3 three CFPs and the chapter 9 scheme information against the
recomputed pools, products, orders and claims."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from .claims import claims_block
from .run import Run
from .values import Found, agree, day, fnum, json_file, oday


def _periods_in(text: str) -> list[dt.date]:
    return [day(x) for x in re.findall(r"\d{4}-\d{2}-\d{2}", str(text))]


def disclosure_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """The 6.2.3 project table, the 8.3.3 three CFPs and the ch. 9 scheme information against the recomputed
    pools, products, orders and claims; periods listed only when they ended by as_of."""
    f = Found()
    rows: list[dict[str, Any]] = []
    ddir = run.documents / "disclosures"
    drawn: dict[str, float] = defaultdict(float)
    for ln in run.lines:
        drawn[ln.get("pool_id", "")] += fnum(ln.get("reps_t"))
    # 6.2.3
    proj = json_file(ddir / "projects.json")
    if not isinstance(proj, dict) or not isinstance(proj.get("projects"), list):
        f.add("documents/disclosures/projects.json is missing or unreadable", "projects.json")
    else:
        listed = set()
        for r in proj["projects"]:
            pid = str(r.get("pool_id"))
            p = run.pools.get(pid)
            before = f.count()
            if p is None:
                f.add("the 6.2.3 disclosure lists a pool the inputs do not have", pid)
                continue
            listed.add(pid)
            if not p["ended"]:
                f.add("the 6.2.3 disclosure lists REPs of a calculation period that had not ended by as_of (6.2.3, "
                      "6.8: only verified REPs of ended periods)", pid, f"period ends {p['end'].isoformat()}, as_of "
                                                                        f"{run.as_of.isoformat()}")
            if not p["eligible"]:
                f.add("the 6.2.3 disclosure lists a project not subject to REP calculation among those counted "
                      "(6.2.1, 6.3)", pid, p["reason"])
            e = run.exact[pid]
            j = run.projects.get(p["project_id"], {})
            rule = "the 6.2.3 disclosure states other REPs per calculation period than the recomputed pools (6.2.3, 6.5)"
            for col, want in (("period_reps_t", e["period_reps_t"]), ("netted_t", e["netted_t"]),
                              ("reps_t", e["reps_t"]), ("in_cfps_t", run.added.get(pid, 0.0)),
                              ("used_t", p["used_before_t"] + drawn[pid]),
                              ("remaining_t", p["reps_t"] - p["used_before_t"] - drawn[pid])):
                if col in r:
                    agree(f, rule, pid, col, want, r.get(col), 1e-7)
                elif col in ("period_reps_t", "reps_t"):
                    f.add(f"the 6.2.3 disclosure states no {col}", pid)
            rule = "the 6.2.3 disclosure states other project facts than the inputs (6.2.3)"
            agree(f, rule, pid, "period_start", p["start"].isoformat(), str(r.get("period_start") or "")[:10])
            agree(f, rule, pid, "period_end", p["end"].isoformat(), str(r.get("period_end") or "")[:10])
            for col, src in (("project_id", "project_id"), ("name", "name"), ("project_type", "kind"), ("gas", "gas"),
                             ("verifier", "verifier"), ("statement_id", "statement_id"),
                             ("additionality_test", "additionality")):
                if col in r:
                    agree(f, rule, pid, col, j.get(src, ""), r.get(col) or "")
            rows.append({"document": "projects.json", "item": pid, "ok": f.count() == before})
        for pid in sorted(p for p, x in run.pools.items() if x["eligible"] and x["ended"] and p not in listed):
            f.add("the 6.2.3 disclosure leaves out an ended calculation period of a project subject to REP "
                  "calculation (6.2.3)", pid)
        if "as_of" in proj:
            agree(f, "the 6.2.3 disclosure states another as_of than scenario.yaml", "projects.json", "as_of",
                  run.as_of.isoformat(), str(proj.get("as_of"))[:10])
        for r in proj.get("not_ended") if isinstance(proj.get("not_ended"), list) else []:
            pid = str(r.get("pool_id"))
            p = run.pools.get(pid)
            if p is None:
                f.add("the 6.2.3 disclosure lists a not-ended period the inputs do not have", pid)
            elif p["ended"]:
                f.add("the 6.2.3 disclosure lists an ended calculation period as not ended (6.2.3)", pid)
            elif any(k in r for k in ("reps_t", "period_reps_t")):
                f.add("the 6.2.3 disclosure states REPs of a calculation period that had not ended by as_of (6.2.3)",
                      pid)
        nc = proj.get("not_counted") if isinstance(proj.get("not_counted"), list) else []
        want_nc = {j for j, s in run.status.items() if not s["eligible"]}
        if {str(x.get("project_id")) for x in nc} != want_nc:
            f.add("the 6.2.3 disclosure's projects not counted are not the ineligible projects (6.2.1, 6.3)",
                  "not_counted", ", ".join(sorted(want_nc)))
        for x in nc:
            j = str(x.get("project_id"))
            if "reps_not_counted_t" in x and j in run.status:
                agree(f, "the 6.2.3 disclosure states other REPs not counted than the recomputed pools", j,
                      "reps_not_counted_t", sum(p["reps_t"] for p in run.pools.values() if p["project_id"] == j),
                      x.get("reps_not_counted_t"), 1e-7)
    # 8.3.3
    cfps = json_file(ddir / "three-cfps.json")
    doc = json_file(run.documents / "certificates" / "certificates.json")
    certs = [c for c in (doc.get("certificates", []) if isinstance(doc, dict) else []) if c.get("status") != "void"]
    if not isinstance(cfps, dict) or not isinstance(cfps.get("products"), list):
        f.add("documents/disclosures/three-cfps.json is missing or unreadable", "three-cfps.json")
    else:
        rule = "the 8.3.3 disclosure states other CFPs than the recomputed products (8.3.3, 7.3.3)"
        seen = set()
        for r in cfps["products"]:
            k = str(r.get("product_id"))
            m = run.prod.get(k)
            if m is None:
                f.add("the 8.3.3 disclosure lists a product that is not in the plant model", k)
                continue
            seen.add(k)
            before = f.count()
            for col, want in (("general_cfp", m["general_cfp"]), ("rep_term", m["rep_term"]),
                              ("correction_7_3_3", m["rep_term"]), ("residual_cfp", m["residual_cfp"]),
                              ("subject_cfp", m["subject_cfp"]), ("non_allocable", m["non_allocable"]),
                              ("non_gx_cfp", m["non_gx_cfp"]), ("mb_cap_cfp", m["mb_cap_cfp"]),
                              ("production_t", m["production_t"]), ("emissions_general_t", m["emissions_general_t"]),
                              ("gx_order_t", m["gx_order_t"]), ("claims_gx_t", m["claims_gx_t"]),
                              ("claims_t", m["claims_t"])):
                if col in r:
                    agree(f, rule, k, col, want, r.get(col), 1e-7)
                elif col in ("general_cfp", "residual_cfp"):
                    f.add(f"the 8.3.3 disclosure states no {col}", k)
            mine = [c for c in certs if c.get("product_id") == k]
            al = [c for c in mine if c.get("method") == "allocation"]
            mb = [c for c in mine if c.get("method") == "mass_balance"]
            for col, want in (("allocation_certificates", float(len(al))),
                              ("allocated_reps_t", sum(fnum(c.get("reps_t")) for c in al)),
                              ("allocation_tonnage_t", sum(fnum(c.get("tonnage_t")) for c in al)),
                              ("gx_tonnage_t", sum(fnum(c.get("gx_tonnage_t")) for c in al)),
                              ("mass_balance_certificates", float(len(mb))),
                              ("mass_balance_reps_t", sum(fnum(c.get("reps_t")) for c in mb)),
                              ("allocated_cfp_min", min((fnum(c.get("allocated_cfp")) for c in al), default=None)),
                              ("allocated_cfp_max", max((fnum(c.get("allocated_cfp")) for c in al), default=None))):
                if col in r:
                    agree(f, "the 8.3.3 disclosure does not sum up the product's certificates (8.3.3)", k, col, want,
                          r.get(col), 1e-7)
            rows.append({"document": "three-cfps.json", "item": k, "ok": f.count() == before})
        for k in sorted(set(run.prod) - seen):
            f.add("the 8.3.3 disclosure leaves out a product", k)
        by_id = {str(c.get("certificate_id")): c for c in certs}
        listed = []
        for r in cfps.get("allocation_orders") or []:
            cid = str(r.get("certificate_id"))
            listed.append(cid)
            c = by_id.get(cid)
            exp = run.cert_expect.get(cid)
            if c is None or exp is None:
                f.add("the 8.3.3 disclosure lists an allocation certificate that is not in certificates.json", cid)
                continue
            for col in ("tonnage_t", "alpha", "gx_tonnage_t", "general_cfp", "residual_cfp", "allocated_cfp",
                        "reps_t", "claimed_cfp"):
                if col in r and exp.get(col) is not None:
                    agree(f, "the 8.3.3 disclosure states other CFPs of a GX Allocation order than its certificate "
                             "(8.3.3)", cid, col, float(exp[col]), r.get(col), 1e-7)
        want_al = sorted(str(c.get("certificate_id")) for c in certs if c.get("method") == "allocation")
        if "allocation_orders" in cfps and sorted(listed) != want_al:
            f.add("the 8.3.3 disclosure's allocation orders are not the GX Allocation certificates", "allocation_orders")
        for r in cfps.get("notice_7_3_3") or []:
            k = str(r.get("product_id"))
            m = run.prod.get(k)
            if m is None:
                continue
            for col, want in (("general_cfp", m["general_cfp"]), ("correction", m["rep_term"]),
                              ("non_gx_cfp", m["non_gx_cfp"])):
                if col in r:
                    agree(f, "the 7.3.3 notice states other numbers than the recomputed products (7.3.3)", k, col,
                          want, r.get(col), 1e-7)
        if isinstance(cfps.get("organization_claims"), dict):
            claims_block(f, run, cfps["organization_claims"], "three-cfps.json organization_claims")
    # ch. 9
    scheme = json_file(ddir / "scheme.json")
    if not isinstance(scheme, dict):
        f.add("documents/disclosures/scheme.json is missing or unreadable", "scheme.json")
    else:
        names = {"GX Mass Balance": "mass_balance", "GX Allocation": "allocation"}
        for r in scheme.get("usage_methods") or []:
            m = names.get(str(r.get("method")))
            if m is None:
                continue
            cs = [c for c in run.order_calc.values() if c["method"] == m]
            for col, want in (("orders", float(len(cs))), ("served", float(sum(c["reps_t"] > 0 for c in cs))),
                              ("reps_t", sum(c["reps_t"] for c in cs)),
                              ("gx_tonnage_t", sum(c["gx_tonnage_t"] for c in cs))):
                if col in r:
                    agree(f, "the scheme information states other use of a method than the recomputed orders (9)",
                          str(r.get("method")), col, want, r.get(col), 1e-7)
        if isinstance(scheme.get("claims"), dict):
            claims_block(f, run, scheme["claims"], "scheme.json claims")
        st = scheme.get("settings") or {}
        if "as_of" in st:
            agree(f, "the scheme information states other run settings than scenario.yaml (9)", "settings", "as_of",
                  run.as_of.isoformat(), str(st.get("as_of")))
        if "mass_balance_expiry_years" in st:
            agree(f, "the scheme information states other run settings than scenario.yaml (9)", "settings",
                  "mass_balance_expiry_years", float(run.expiry_years), st.get("mass_balance_expiry_years"))
        if "what_if_unverified_allowed" in st:
            agree(f, "the scheme information states other run settings than scenario.yaml (9)", "settings",
                  "what_if_unverified_allowed", run.allow_unverified, st.get("what_if_unverified_allowed"))
        run_block = scheme.get("run") or {}
        if "input_sha256" in run_block:
            agree(f, "the scheme information states another input SHA-256 than the run (9)", "run", "input_sha256",
                  str(run.summary.get("input_sha256")), str(run_block.get("input_sha256")))
        rp = scheme.get("reduction_periods") or {}
        for x in rp.get("per_project") or []:
            j = str(x.get("project_id"))
            for text in x.get("periods") or []:
                ds = _periods_in(text)
                if len(ds) != 2:
                    continue
                pid = f"{j}@{ds[1].isoformat()}"
                p = run.pools.get(pid)
                if p is None:
                    f.add("the scheme information lists a reduction period the inputs do not have (9)", pid)
                elif not p["ended"]:
                    f.add("the scheme information lists a reduction period that had not ended by as_of (9, 6.2.3)",
                          pid, f"period ends {p['end'].isoformat()}, as_of {run.as_of.isoformat()}")
        if rp.get("latest_end") and oday(rp.get("latest_end")) and oday(rp.get("latest_end")) > run.as_of:
            f.add("the scheme information lists a reduction period that had not ended by as_of (9, 6.2.3)",
                  "latest_end", f"{rp.get('latest_end')} after as_of {run.as_of.isoformat()}")
        rows.append({"document": "scheme.json", "item": "scheme", "ok": True})
    return rows, f
