"""Checks 9 and 10: the certificates (JSON and CSV twins) against the recomputed orders or the ledger as
issued, and every PACT footprint against its certificate (7.3, 7.5, 8.5)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from .run import Run
from .values import Found, agree, close, fnum, json_file, jsonl, num, read

CERT_NUMBERS = ("tonnage_t", "reps_t", "reps_per_t", "general_cfp", "rep_term", "basis_cfp", "residual_cfp",
                "allocated_cfp", "alpha", "gx_tonnage_t", "claimed_cfp")



def _ledger_certs(run: Run) -> dict[str, dict[str, Any]] | None:
    led = run.pack / "ledger"
    if not (led / "certificates.jsonl").is_file():
        return None
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in jsonl(led / "certificate_lines.jsonl"):
        lines[ln["certificate_id"]].append(ln)
    out = {}
    for c in jsonl(led / "certificates.jsonl"):
        c = dict(c)
        c["lines"] = sorted(lines.get(c["certificate_id"], []), key=lambda x: x["line_no"])
        out[c["certificate_id"]] = c
    return out


def _expected_from_ledger(run: Run, c: dict[str, Any]) -> dict[str, Any]:
    """A ledger certificate's numbers as issued (grams to t); basis and claim as data.py derives them."""
    reps = int(c["reps_g"]) / 1e6
    tonnage = float(c["tonnage_t"])
    alloc = c["method"] == "allocation"
    basis = c.get("basis_cfp")
    if basis is None and alloc:
        basis = c.get("residual_cfp")
    if basis is None:
        o = run.order_calc.get(c["order_id"])
        if o is not None and o["product_id"] == c["product_id"]:
            basis = o["basis_cfp"]
        elif c["product_id"] in run.prod:
            basis = run.prod[c["product_id"]]["residual_cfp"]
    claimed = c.get("allocated_cfp") if alloc and c.get("allocated_cfp") is not None else c.get("claimed_cfp")
    if claimed is None and basis is not None:
        claimed = basis - reps / tonnage
    return {"order_id": c["order_id"], "customer": c["customer"], "product_id": c["product_id"],
            "method": c["method"], "status": c["status"], "tonnage_t": tonnage, "reps_t": reps,
            "reps_per_t": reps / tonnage if tonnage else 0.0, "general_cfp": float(c["general_cfp"]),
            "rep_term": None if basis is None else basis - float(c["general_cfp"]), "basis_cfp": basis,
            "residual_cfp": c.get("residual_cfp"), "allocated_cfp": c.get("allocated_cfp"),
            "alpha": float(c["alpha"]), "gx_tonnage_t": float(c["gx_tonnage_t"]), "claimed_cfp": claimed,
            "lines": sorted((ln["pool_id"], int(ln["reps_g"]) / 1e6) for ln in c["lines"]),
            "source": "ledger"}


def certificate_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """``documents/certificates/certificates.json`` (+ CSVs) against the recomputed orders, or the ledger."""
    f = Found()
    rows: list[dict[str, Any]] = []
    cdir = run.documents / "certificates"
    doc = json_file(cdir / "certificates.json")
    if not isinstance(doc, dict) or not isinstance(doc.get("certificates"), list):
        f.add("documents/certificates/certificates.json is missing or unreadable: the certificates cannot be "
              "re-checked", "certificates.json")
        return rows, f
    ledger = _ledger_certs(run)
    certs = doc["certificates"]
    what_if = run.allow_unverified or bool(run.summary.get("patch"))  # unverified REPs allowed, or patched inputs
    if ledger is None:
        served = {oid for oid, c in run.order_calc.items() if c["reps_t"] > 0}
        stated = [c.get("order_id") for c in certs]
        for oid in sorted(served - set(stated)):
            f.add("a served order has no certificate (7.3, 8.5)", oid)
        for oid in sorted({o for o in stated if stated.count(o) > 1}):
            f.add("an order has more than one certificate", str(oid))
    for c in certs:
        cid = str(c.get("certificate_id"))
        before = f.count()
        if ledger is not None:
            lc = ledger.get(cid)
            if lc is None:
                f.add("a certificate of the document is not in the ledger export", cid)
                continue
            exp = _expected_from_ledger(run, lc)
            agree(f, "a certificate states another status than the ledger", cid, "status", exp["status"],
                  c.get("status"))
        else:
            o = run.order_calc.get(str(c.get("order_id")))
            if o is None or o["reps_t"] <= 0:
                f.add("a certificate is for an order that the lines do not serve", cid, f"order {c.get('order_id')}")
                continue
            exp = {**o, "status": "draft", "source": "recomputed"}
            agree(f, "a draft certificate is not marked draft", cid, "status", "draft", c.get("status"))
            agree(f, "a draft's certifiable flag is not 'every line from a third-party verified pool, and not a "
                     "what-if run' (6.8)", cid, "certifiable", o["certifiable"] and not what_if, c.get("certifiable"))
            if "verified" in c:
                agree(f, "a draft's verified flag is not 'every line from a third-party verified pool' (6.8)", cid,
                      "verified", o["certifiable"], c.get("verified"))
        run.cert_expect[cid] = exp
        alloc = exp["method"] == "allocation"
        for col in ("order_id", "customer", "product_id", "method"):
            agree(f, "a certificate names another order, customer, product or method (7.5, 8.5)", cid, col,
                  exp[col], c.get(col))
        agree(f, "a certificate's type does not follow its method (7.3: reduction certificate, 8.5: CFP "
                 "certificate)", cid, "type", "CFP certificate" if alloc else "reduction certificate", c.get("type"))
        for col in CERT_NUMBERS:
            want = exp.get(col)
            if col in ("residual_cfp", "allocated_cfp") and not alloc:
                if c.get(col) is not None:
                    f.add("a mass-balance certificate states a Residual or Allocated CFP (7.3)", cid, col)
                continue
            if want is None:
                continue
            if col not in c:
                f.add(f"a certificate states no {col}", cid)
                continue
            agree(f, f"a certificate's {col} is not the " + ("recomputed one" if exp["source"] == "recomputed"
                                                              else "ledger's as issued")
                  + " (7.3.1, 7.3.3, 8.1.1, 8.3.3)", cid, col, float(want), c.get(col), 1e-7)
        lines = c.get("lines") if isinstance(c.get("lines"), list) else []
        got = sorted((str(ln.get("pool_id")), fnum(ln.get("reps_t"))) for ln in lines)
        if [p for p, _ in got] != [p for p, _ in exp["lines"]] or any(
                not close(a, b) for (_, a), (_, b) in zip(got, exp["lines"])):
            f.add("a certificate's REP lines are not " + ("the order's allocation lines" if exp["source"] ==
                                                          "recomputed" else "the lines as issued") + " (7.3.1)", cid,
                  "; ".join(f"{p} {v:.6f}" for p, v in got) + " vs " +
                  "; ".join(f"{p} {v:.6f}" for p, v in exp["lines"]))
        if not close(sum(v for _, v in got), fnum(c.get("reps_t"))):
            f.add("a certificate's REPs are not the sum of its lines (7.3.1)", cid,
                  f"{fnum(c.get('reps_t')):.6f} vs {sum(v for _, v in got):.6f}")
        if alloc and c.get("claimed_cfp") is not None and c.get("allocated_cfp") is not None and \
                not close(fnum(c["claimed_cfp"]), fnum(c["allocated_cfp"])):
            f.add("a CFP certificate's claimed CFP is not its Allocated CFP (8.1.1)", cid)
        for ln in lines:
            p = run.pools.get(str(ln.get("pool_id")))
            item = f"{cid} line {ln.get('line_no')}"
            if p is None:
                if ledger is None:
                    f.add("a certificate line names a pool the inputs do not have", item)
                continue
            rule = "a certificate line states other pool facts than the inputs (6.2.3, 7.3.1)"
            agree(f, rule, item, "project_id", p["project_id"], ln.get("project_id"))
            agree(f, rule, item, "period_end", p["end"].isoformat(), str(ln.get("period_end") or "")[:10])
            if ln.get("period_start"):
                agree(f, rule, item, "period_start", p["start"].isoformat(), str(ln.get("period_start"))[:10])
            agree(f, rule, item, "gas", p["gas"], ln.get("gas"))
            pr = run.prod.get(exp["product_id"])
            if pr is not None and "same_site" in ln and ln.get("same_site") is not None:
                agree(f, "a certificate line's same site is not the pool's site against the product's crude-steel "
                         "site (SteelZero site link)", item, "same_site", p["site"] == pr["crude_steel_site"],
                      ln.get("same_site"))
        rows.append({"certificate_id": cid, "order_id": c.get("order_id"), "method": c.get("method"),
                     "source": exp["source"], "reps_t": fnum(c.get("reps_t")), "claimed_cfp": num(c.get("claimed_cfp")),
                     "ok": f.count() == before})
    # the CSV twins say the same
    by_id = {str(c.get("certificate_id")): c for c in certs}
    csv_rows = read(cdir / "certificates.csv")
    if not (cdir / "certificates.csv").is_file():
        f.add("documents/certificates/certificates.csv is missing", "certificates.csv")
    if {r.get("certificate_id") for r in csv_rows} != set(by_id):
        f.add("certificates.csv lists other certificates than certificates.json", "certificates.csv")
    for r in csv_rows:
        c = by_id.get(r.get("certificate_id", ""))
        if c is None:
            continue
        for col in ("order_id", "customer", "product_id", "method", "status"):
            if col in r:
                agree(f, "certificates.csv differs from certificates.json", r["certificate_id"], col,
                      str(c.get(col) or ""), r[col])
        for col in CERT_NUMBERS:
            if col in r and c.get(col) is not None:
                agree(f, "certificates.csv differs from certificates.json", r["certificate_id"], col, float(c[col]),
                      r[col], 1e-7)
    line_rows = read(cdir / "certificate_lines.csv")
    want_lines = sorted((str(c.get("certificate_id")), int(ln.get("line_no", 0)), str(ln.get("pool_id")),
                         fnum(ln.get("reps_t"))) for c in certs for ln in (c.get("lines") or []))
    got_lines = sorted((r.get("certificate_id", ""), int(fnum(r.get("line_no"))), r.get("pool_id", ""),
                        fnum(r.get("reps_t"))) for r in line_rows)
    if [x[:3] for x in want_lines] != [x[:3] for x in got_lines] or any(
            not close(a[3], b[3]) for a, b in zip(want_lines, got_lines)):
        f.add("certificate_lines.csv differs from the lines of certificates.json", "certificate_lines.csv")
    return rows, f


def _dec(text: Any) -> float | None:
    """A PACT decimal string as a float (None when it is not one)."""
    if not isinstance(text, str) or not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        return None
    return float(text)


PACT_VERSIONS = {  # version: (key of the certificate row, folder, collection, unit key, amount key, pcf key)
    "2.3": ("pact_v2_3", "v2.3", "footprints-v2.3.json", "declaredUnit", "unitaryProductAmount",
            "pCfExcludingBiogenic"),
    "3.0": ("pact_v3_0", "v3.0", "footprints-v3.0.json", "declaredUnitOfMeasurement", "declaredUnitAmount",
            "pcfExcludingBiogenicUptake"),
}
EXTENSION_NUMBERS = {"purchasedVolumeT": "tonnage_t", "generalCfp": "general_cfp", "repTerm": "rep_term",
                     "basisCfp": "basis_cfp", "claimedCfp": "claimed_cfp", "residualCfp": "residual_cfp",
                     "allocatedCfp": "allocated_cfp", "alpha": "alpha", "gxTonnageT": "gx_tonnage_t",
                     "repsT": "reps_t", "repsPerTonne": "reps_per_t"}


def pact_checks(run: Run) -> tuple[list[dict[str, Any]], Found]:
    """Every PACT footprint states its certificate's PCF value (Allocated CFP or basis CFP) per kg and the GX
    extension its numbers; the collections hold exactly the certificate files."""
    f = Found()
    rows: list[dict[str, Any]] = []
    pdir = run.documents / "pact"
    doc = json_file(run.documents / "certificates" / "certificates.json")
    certs = doc.get("certificates", []) if isinstance(doc, dict) else []
    for version, (key, folder, collection, unit_key, amount_key, pcf_key) in PACT_VERSIONS.items():
        files: dict[str, Any] = {}
        for c in certs:
            cid = str(c.get("certificate_id"))
            rel = c.get(key)
            if not rel:
                if c.get("status") != "void" and str(c.get("product_id")) in run.prod:
                    f.add(f"a certificate has no PACT v{version} footprint", cid)
                continue
            name = Path(str(rel)).name
            fp = json_file(pdir / folder / name)
            if not isinstance(fp, dict):
                f.add(f"a PACT v{version} footprint of a certificate is missing or unreadable", f"pact/{folder}/{name}")
                continue
            files[str(fp.get("id"))] = fp
            item = f"{cid} v{version}"
            before = f.count()
            exp = run.cert_expect.get(cid)
            pcf = fp.get("pcf") if isinstance(fp.get("pcf"), dict) else {}
            if pcf.get(unit_key) != "kilogram" or _dec(pcf.get(amount_key)) != 1.0 or \
                    ("productMassPerDeclaredUnit" in pcf and _dec(pcf.get("productMassPerDeclaredUnit")) != 1.0):
                f.add("a PACT footprint's declared unit is not 1 kilogram of product (then kg CO2e/kg would not be "
                      "t-CO2e/t)", item)
            value = _dec(pcf.get(pcf_key))
            if exp is not None:
                alloc = exp["method"] == "allocation"
                want = exp.get("allocated_cfp") if alloc else exp.get("basis_cfp")
                if want is None:
                    want = exp.get("general_cfp")
                if value is None or not close(float(want), value):
                    f.add(f"a PACT footprint's {pcf_key} is not the certificate's "
                          + ("Allocated CFP (8.1.1, 8.5)" if alloc else "basis CFP (General CFP + 7.3.3 correction)"),
                          item, f"{pcf_key}: {pcf.get(pcf_key)!r}, recomputed {float(want):.6f}")
            ext = next((e.get("data") for e in fp.get("extensions") or [] if isinstance(e, dict)
                        and isinstance(e.get("data"), dict) and e["data"].get("certificateId") == cid), None)
            if ext is None:
                f.add("a PACT footprint has no GX extension naming its certificate", item)
            elif exp is not None:
                rule = "a PACT footprint's GX extension states other numbers than its certificate (7.3, 8.3.3)"
                agree(f, rule, item, "orderId", exp["order_id"], ext.get("orderId"))
                agree(f, rule, item, "customer", exp["customer"], ext.get("customer"))
                for k, col in EXTENSION_NUMBERS.items():
                    want = exp.get(col)
                    if k in ext and want is not None:
                        agree(f, rule, item, k, float(want), ext.get(k))
                    elif k in ext and want is None and ext.get(k) is not None and col in ("residual_cfp",
                                                                                        "allocated_cfp"):
                        f.add(rule, item, f"{k}: {ext.get(k)!r} on a mass-balance footprint")
                if isinstance(ext.get("repLines"), list):
                    got = sorted((str(x.get("poolId")), fnum(x.get("repsT"))) for x in ext["repLines"])
                    if [p for p, _ in got] != [p for p, _ in exp["lines"]] or any(
                            not close(a, b) for (_, a), (_, b) in zip(got, exp["lines"])):
                        f.add(rule, item, "repLines are not the certificate's lines")
            pids = [str(x) for x in fp.get("productIds") or []]
            if exp is not None and not any(x == exp["product_id"] or x.endswith(":" + exp["product_id"]) for x in pids):
                f.add("a PACT footprint's productIds do not name the certificate's product", item, ", ".join(pids))
            rows.append({"file": f"pact/{folder}/{name}", "certificate_id": cid, "version": version,
                         "pcf": value, "ok": f.count() == before})
        listed = {str(c.get("certificate_id")) for c in certs if c.get(key)}
        for p in sorted((pdir / folder).glob("*.json")) if (pdir / folder).is_dir() else []:
            if p.stem not in {Path(str(c.get(key))).stem for c in certs if c.get(key)}:
                f.add("a PACT footprint belongs to no certificate of certificates.json", f"pact/{folder}/{p.name}")
        coll = json_file(pdir / collection)
        if not isinstance(coll, dict) or not isinstance(coll.get("data"), list):
            if listed:
                f.add("a PACT collection is missing or unreadable", f"pact/{collection}")
            continue
        ids = [str(x.get("id")) for x in coll["data"] if isinstance(x, dict)]
        if sorted(ids) != sorted(files):
            f.add("a PACT collection holds other footprints than the certificates' files", f"pact/{collection}")
        for x in coll["data"]:
            if isinstance(x, dict) and str(x.get("id")) in files and x != files[str(x.get("id"))]:
                f.add("a footprint of a PACT collection differs from its certificate's file", f"pact/{collection}",
                      str(x.get("id")))
    return rows, f
