"""Disclosure and verification outputs of a gxopt run: certificates as documents (HTML + PDF), the 6.2.3 /
8.3.3 / ch. 9 disclosures, the SteelZero lens, WBCSD PACT footprints, plots and a verifier pack, all
linked from one offline ``index.html`` with CSV/JSON twins.

    from gxopt.report import build_report
    build_report("out/fy26", "out/fy26-report")                          # draft certificates
    build_report("out/fy26", "out/fy26-report", db_url="sqlite:///gx.db")  # the ledger's certificates
    build_report("out/fy26", "out/fy26-report", pact_base_url="https://steel.example.com/pact/")

The output folder is written to a temporary sibling and swapped in at the end, so a failure leaves the
previous report whole; a non-empty folder that is not a gxopt report is never overwritten.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from gxopt import __version__
from gxopt.errors import OutputError
from gxopt.resultdir import atomic_dir
from gxopt.report import certificates_doc, disclosure, lens, pact, plots, verifier_pack
from gxopt.report.data import GUIDELINE, ReportData, load
from gxopt.report.fmt import clean
from gxopt.report.render import render

MARKER = "report.json"
KIND = "gxopt report"

__all__ = ["build_report", "MARKER"]


def build_report(result_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                 db_url: str | None = None, pact_base_url: str | None = None) -> Path:
    """Write the report of the result folder ``result_dir`` to ``out_dir``; return ``out_dir``.

    With ``db_url`` the certificates are the ledger's (read only); without it, draft certificates of the
    served orders. ``pact_base_url`` is where the steelmaker publishes ``jisf-gx-extension.schema.json``:
    the PACT GX extension's ``dataSchema`` is that URL (default: the placeholder
    ``https://example.invalid/gxopt/``). Raises :class:`~gxopt.errors.InputError` for a missing or unusable
    result folder or ledger or a bad base URL, :class:`~gxopt.errors.OutputError` when ``out_dir`` cannot be
    written safely.
    """
    src = Path(result_dir)
    out = Path(out_dir)
    schema = pact.schema_url(pact_base_url)
    _check_out(src, out)
    data = load(src, db_url)
    try:
        with atomic_dir(out, marker=MARKER) as tmp:
            _write_all(data, tmp, schema)
    except OSError as exc:
        msg = f"{out}: cannot write the report there ({exc.strerror})"
        raise OutputError(msg) from None
    return out


def _check_out(src: Path, out: Path) -> None:
    if out.exists() and not out.is_dir():
        msg = f"{out}: exists and is not a folder; choose another --out"
        raise OutputError(msg)
    if out.exists() and any(out.iterdir()):
        marker = out / MARKER
        ok = False
        if marker.is_file():
            try:
                ok = json.loads(marker.read_text(encoding="utf-8")).get("kind") == KIND
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                ok = False
        if not ok:
            msg = (f"{out}: exists and is not a gxopt report folder (no {MARKER}); refusing to overwrite it - "
                   "choose another --out")
            raise OutputError(msg)
    try:
        if src.exists() and (out.resolve() == src.resolve() or src.resolve() in out.resolve().parents):
            msg = f"{out}: the report cannot be written into the result folder it reads; choose another --out"
            raise OutputError(msg)
    except OSError:
        pass


def _csv(frame: pd.DataFrame, file: Path) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.copy()
    for c in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[c]):
            frame[c] = frame[c].dt.strftime("%Y-%m-%d")
        elif frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: "true" if v is True else "false" if v is False else v)
        elif pd.api.types.is_bool_dtype(frame[c]):
            frame[c] = frame[c].map({True: "true", False: "false"})
    frame.to_csv(file, index=False, lineterminator="\n", float_format="%.6f")


def _plain(obj: Any) -> Any:
    """JSON-safe copy: NaN/NaT -> null, numpy and pandas scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, bool, int)) or obj is None:
        return obj
    return clean(obj)


def _json(obj: Any, file: Path) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(_plain(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def _ctx(data: ReportData) -> dict[str, Any]:
    return {"version": __version__, "guideline": GUIDELINE, "org": data.organization,
            "source": f"{data.scenario_name} ({'ledger' if data.ledger else 'draft'} mode)"}


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _write_all(data: ReportData, root: Path, schema: str = pact.DEFAULT_SCHEMA_URL) -> None:
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx = _ctx(data)
    files: list[str] = []

    # certificates: HTML + PDF each, PACT for the ones that are not void
    cdir = root / "certificates"
    cdir.mkdir()
    (root / "pact" / "v2.3").mkdir(parents=True)
    (root / "pact" / "v3.0").mkdir(parents=True)
    cert_rows, line_rows, cert_json, v2_docs, v3_docs, index_rows = [], [], [], [], [], []
    pact_problems: list[str] = []
    for c in data.certificates:
        v = certificates_doc.view(data, c)
        certificates_doc.write_html(data, c, cdir / f"{c.slug}.html", v)
        certificates_doc.write_pdf(data, c, cdir / f"{c.slug}.pdf", v)
        lz = v["lens"]
        row = {"certificate_id": c.certificate_id, "type": "reduction certificate" if c.kind == "reduction"
               else "CFP certificate", "status": c.status, "method": c.method, "order_id": c.order_id,
               "customer": c.customer, "product_id": c.product_id, "product_name": c.product.get("name", ""),
               "site": c.product.get("site", ""), "crude_steel_site": c.crude_steel_site,
               "tonnage_t": c.tonnage_t, "reps_t": c.reps_t,
               "reps_per_t": c.reps_per_t, "gas": c.gases, "gases": c.gases_included,
               "general_cfp": c.general_cfp, "rep_term": c.rep_term,
               "basis_cfp": c.basis_cfp, "residual_cfp": c.residual_cfp, "allocated_cfp": c.allocated_cfp,
               "alpha": c.alpha,
               "gx_tonnage_t": c.gx_tonnage_t, "reduction_achieved_t": c.reduction_t, "claimed_cfp": c.claimed_cfp,
               "site_link": lz["site_link"], "issued_at": c.issued_at or None, "voided_at": c.voided_at or None,
               "void_reason": c.void_reason or None, "digest": c.digest or None, "certifiable": c.certifiable,
               "allocated_above_general": c.allocated_above_general, "warnings": "; ".join(c.warnings) or None,
               "html": f"certificates/{c.slug}.html", "pdf": f"certificates/{c.slug}.pdf"}
        for ln in c.lines:
            line_rows.append({"certificate_id": c.certificate_id, "line_no": ln.line_no, "pool_id": ln.pool_id,
                              "project_id": ln.project_id, "project_name": ln.project_name,
                              "period_start": ln.period_start, "period_end": ln.period_end, "gas": ln.gas,
                              "gases": ln.gases_label, "reps_t": ln.reps_t, "same_site": ln.same_site,
                              "project_site": ln.project_site, "product_crude_steel_site": ln.product_site,
                              "link": ln.link,
                              "evidence": ln.evidence, "verifier": ln.verifier, "statement_id": ln.statement_id})
        has_pact = c.status != "void" and bool(c.product.get("known"))  # no footprint without the product's CFP data
        if has_pact:
            d2, d3 = pact.v2(data, c, generated, schema), pact.v3(data, c, generated, schema)
            pact_problems += [f"{c.certificate_id} v2.3: {p}" for p in pact.problems(d2, pact.V2)]
            pact_problems += [f"{c.certificate_id} v3.0: {p}" for p in pact.problems(d3, pact.V3)]
            _json(d2, root / "pact" / "v2.3" / f"{c.slug}.json")
            _json(d3, root / "pact" / "v3.0" / f"{c.slug}.json")
            v2_docs.append(d2)
            v3_docs.append(d3)
            row["pact_v2_3"] = f"pact/v2.3/{c.slug}.json"
            row["pact_v3_0"] = f"pact/v3.0/{c.slug}.json"
        cert_rows.append(row)
        cert_json.append({**row, "lines": [r for r in line_rows if r["certificate_id"] == c.certificate_id],
                          "statements": [{"heading": h, "text": t} for h, t in v["statements"]],
                          "transfers": [{k: clean(x) for k, x in t.items()} for t in c.transfers],
                          "steelzero_lens": {k: x for k, x in lz.items() if k != "lines"}})
        index_rows.append({"id": c.certificate_id, "slug": c.slug, "type": "reduction" if c.kind == "reduction"
                           else "CFP", "status": c.status, "customer": c.customer, "product": c.product_id,
                           "tonnage": c.tonnage_t, "reps": c.reps_t, "general": c.general_cfp,
                           "basis": c.basis_cfp, "claimed": c.claimed_cfp, "link": lz["site_link"],
                           "pact": has_pact, "above_general": c.allocated_above_general,
                           "allocated": c.allocated_cfp})
    if pact_problems:  # a bug, never a user error: the documents would not conform
        msg = "PACT documents miss required fields: " + "; ".join(pact_problems[:5])
        raise RuntimeError(msg)
    cert_cols = ["certificate_id", "type", "status", "method", "order_id", "customer", "product_id"]
    _csv(pd.DataFrame(cert_rows, columns=list(cert_rows[0]) if cert_rows else cert_cols),
         cdir / "certificates.csv")
    _csv(pd.DataFrame(line_rows, columns=list(line_rows[0]) if line_rows else ["certificate_id", "line_no"]),
         cdir / "certificate_lines.csv")
    _json({"mode": data.mode, "certificates": cert_json}, cdir / "certificates.json")
    _json({"data": v2_docs}, root / "pact" / "footprints-v2.3.json")
    _json({"data": v3_docs}, root / "pact" / "footprints-v3.0.json")
    _json(pact.extension_schema(schema), root / "pact" / pact.EXTENSION_SCHEMA_FILE)
    files += ["certificates/certificates.csv", "certificates/certificate_lines.csv", "certificates/certificates.json",
              "pact/footprints-v2.3.json", "pact/footprints-v3.0.json", "pact/jisf-gx-extension.schema.json"]

    # disclosures
    ddir = root / "disclosures"
    projects, not_counted = disclosure.project_table(data)
    not_ended = disclosure.not_ended_table(data)
    cfps = disclosure.three_cfp_table(data)
    order_cfps = disclosure.order_cfp_table(data)
    scheme = disclosure.scheme_information(data, projects)
    notice = disclosure.non_gx_notice(data, cfps)
    claims = disclosure.claims_block(data)
    _csv(projects, ddir / "projects.csv")
    _csv(not_counted, ddir / "projects-not-counted.csv")
    _csv(not_ended, ddir / "projects-not-ended.csv")
    _json({"clause": "JISF 6.2.3", "organization": data.organization, "as_of": data.summary.get("as_of"),
           "projects": disclosure.records(projects), "not_counted": disclosure.records(not_counted),
           "not_ended": disclosure.records(not_ended),
           "not_ended_note": "calculation periods not yet ended at as_of: not disclosed as achieved"},
          ddir / "projects.json")
    _csv(cfps, ddir / "three-cfps.csv")
    _csv(order_cfps, ddir / "three-cfps-orders.csv")
    _json({"clause": "JISF 8.3.3", "unit": "t-CO2e/t", "organization": data.organization,
           "products": disclosure.records(cfps), "allocation_orders": disclosure.records(order_cfps),
           "notice_7_3_3": notice, "organization_claims": claims}, ddir / "three-cfps.json")
    _json(scheme, ddir / "scheme.json")
    _write_disclosure_pages(data, ctx, ddir, projects, not_counted, cfps, order_cfps, notice, scheme, claims,
                            not_ended)
    files += ["disclosures/projects.csv", "disclosures/projects.json", "disclosures/projects-not-counted.csv",
              "disclosures/projects-not-ended.csv",
              "disclosures/three-cfps.csv", "disclosures/three-cfps.json", "disclosures/three-cfps-orders.csv",
              "disclosures/scheme.json"]

    # SteelZero lens
    ldir = root / "lens"
    lp, ls, lc, ll = (lens.product_lens(data), lens.site_lens(data), lens.certificate_lens_table(data),
                      lens.line_lens_table(data))
    _csv(lp, ldir / "products.csv")
    _csv(ls, ldir / "sites.csv")
    _csv(lc if len(lc) else pd.DataFrame(columns=["certificate_id"]), ldir / "certificates.csv")
    _csv(ll, ldir / "lines.csv")
    _json({"boundary_note": lens.BOUNDARY_NOTE, "steelzero_position": lens.STEELZERO_POSITION,
           "claimed_cfp": lens.NOT_RECOGNISED, "scrap_recovery_condition": lens.SCRAP_CONDITION,
           "site": "crude_steel_site: where the product's crude steel is made (the route's BOF/EAF unit)",
           "allocated_above_general": [c.certificate_id for c in data.certificates if c.allocated_above_general],
           "scales": [{"key": s.key, "label": s.label, "b": s.b, "m": s.m, "formula": f"{s.b} - {s.m} * s",
                       "unit": "t-CO2e per t crude steel", "source": s.source} for s in lens.SCALES],
           "products": disclosure.records(lp), "sites": disclosure.records(ls),
           "certificates": disclosure.records(lc), "lines": disclosure.records(ll)}, ldir / "lens.json")
    _write_lens_page(data, ctx, ldir, lp, ls, lc)
    files += ["lens/products.csv", "lens/sites.csv", "lens/certificates.csv", "lens/lines.csv", "lens/lens.json"]

    # plots and their data
    pdir = root / "plots"
    pdir.mkdir()
    plot_items = []
    made = {"figure3": plots.figure3(data, pdir / plots.PLOTS["figure3"][0]),
            "flow": plots.flow(data, pdir / plots.PLOTS["flow"][0]),
            "pools": plots.pool_balances(data, pdir / plots.PLOTS["pools"][0]),
            "timeline": plots.timeline(data, pdir / plots.PLOTS["timeline"][0])}
    for key, frame in made.items():
        if frame is None:
            continue
        name, title = plots.PLOTS[key]
        csv_name = name.replace(".png", ".csv")
        _csv(frame, pdir / csv_name)
        png = (pdir / name).read_bytes()
        plot_items.append({"title": title, "file": f"plots/{name}", "csv": f"plots/{csv_name}",
                           "data_uri": "data:image/png;base64," + base64.b64encode(png).decode()})
        files += [f"plots/{name}", f"plots/{csv_name}"]

    # verifier pack
    checks = verifier_pack.write(data, root / "verifier-pack")
    verifier_pack.zip_pack(root / "verifier-pack", root / "verifier-pack.zip")
    files += ["verifier-pack/recheck_results.json", "verifier-pack/calculations/rep_calculation.csv",
              "verifier-pack/calculations/pool_use.csv", "verifier-pack/calculations/reconciliation.csv",
              "verifier-pack/calculations/order_checks.csv", "verifier-pack/calculations/connection_checks.csv",
              "verifier-pack/calculations/product_checks.csv", "verifier-pack/calculations/claims.csv",
              "verifier-pack/calculations/verify.json"]
    if data.ledger is not None:
        files += ["verifier-pack/ledger/journal.csv", "verifier-pack/ledger/balances.csv"]

    counts = {"certificates": len(data.certificates),
              "issued": sum(c.status == "issued" for c in data.certificates),
              "void": sum(c.status == "void" for c in data.certificates),
              "draft": sum(c.status == "draft" for c in data.certificates),
              "reduction_certificates": sum(c.kind == "reduction" for c in data.certificates),
              "cfp_certificates": sum(c.kind == "cfp" for c in data.certificates),
              "pact_footprints": len(v2_docs)}
    check_rows = [(name.replace("_", " "), {"ok": res["ok"], "problems": len(res["problems"])})
                  for name, res in checks["checks"].items()]
    check_rows.append(("re-checked by gxopt (its own verify re-run; not a third-party verification)",
                       {"ok": checks["gxopt_verify"]["ok"], "problems": checks["gxopt_verify"]["violations"]}))
    t = data.summary.get("totals", {})
    claims = disclosure.claims_block(data)
    active = [c for c in data.certificates if c.status != "void"]
    cards = [("certificates" + (" (draft)" if data.mode == "draft" else " issued"),
              f"{counts['draft'] if data.mode == 'draft' else counts['issued']:,}"),
             ("REPs on certificates, t-CO2e", f"{sum(c.reps_t for c in active):,.0f}"),
             ("certificate tonnage (steel sold with a certificate), t", f"{sum(c.tonnage_t for c in active):,.0f}"),
             ("GX tonnage (steel carrying GX value: alpha x volume; mass balance at the full scope 1+2 "
              "intensity), t", f"{sum(c.gx_tonnage_t for c in active):,.0f}"),
             ("REPs of usable pools, t-CO2e", f"{t.get('usable_available_t', 0):,.0f}"),
             ("buyers' claims (both methods) / actual emissions, t-CO2e",
              f"{claims.get('claims_t', 0):,.0f} / {claims.get('actual_emissions_t', 0):,.0f}"),
             ("margin: claims - actual emissions, t-CO2e" if claims["no_double_counting"]
              else "claims BELOW actual: counted twice, t-CO2e", f"{claims.get('claims_margin_t', 0):+,.0f}"),
             ("REPs of usable pools not allocated, t-CO2e", f"{claims.get('reps_not_allocated_t', 0):,.0f}"),
             ("REPs on certificates from the product's crude-steel site (share of t-CO2e)",
              f"{_share_same_site(data):.0%}" if any(c.lines for c in active) else "–")]
    lens_rows = disclosure.records(lp.assign(
        steelzero=lp["steelzero_lower_emission_met"], near_zero=lp["iea_near_zero_met"]))
    lens_table = {"caption": "", "note": "General CFP per product (embodied) at its scrap share, judged as a proxy "
                                         "for the intensity of the site where its crude steel is made, and its "
                                         "non-GX CFP (General + 7.3.3 correction); thresholds in t-CO2e per t of "
                                         "crude steel. Claimed CFPs are not judged: " + lens.NOT_RECOGNISED + ".",
                  "columns": [("product_id", "Product", "text"), ("crude_steel_site", "Crude steel made at", "text"),
                              ("site", "Shipped from", "text"),
                              ("scrap_share", "Scrap share", "pct"), ("general_cfp", "General CFP", "cfp"),
                              ("non_gx_cfp", "non-GX CFP", "cfp"),
                              ("steelzero_lower_emission_threshold", "SteelZero / RS2 threshold", "cfp"),
                              ("steelzero", "General CFP meets SteelZero lower-emission", "bool"),
                              ("iea_near_zero_threshold", "IEA near-zero threshold", "cfp"),
                              ("near_zero", "General CFP meets IEA near-zero", "bool"),
                              ("rs_level_label", "ResponsibleSteel (General CFP)", "text")],
                  "rows": lens_rows}
    above = [{"id": c.certificate_id, "slug": c.slug, "customer": c.customer, "product": c.product_id,
              "general": c.general_cfp, "allocated": c.allocated_cfp}
             for c in data.certificates if c.allocated_above_general and c.status != "void"]
    files += ["report.json", "index.html"]
    report = {"kind": KIND, "gxopt_version": __version__, "generated": generated, "mode": data.mode,
              "organization": data.organization, "scenario": data.scenario_name,
              "as_of": data.summary.get("as_of"), "result_dir": str(data.result_dir),
              "input_sha256": data.summary.get("input_sha256"),
              "ledger": None if data.ledger is None else {"url": data.ledger.url, "head": data.ledger.head,
                                                          "audit_problems": data.ledger.audit_problems},
              "counts": counts, "checks": checks, "claims": claims, "notes": data.notes, "files": files,
              "pact_extension_schema_url": schema,
              "allocated_above_general": [a["id"] for a in above],
              "plots": [p["file"] for p in plot_items]}
    _json(report, root / MARKER)
    zip_size = _size((root / "verifier-pack.zip").stat().st_size)
    (root / "index.html").write_text(render(
        "index.html", **ctx, scenario=data.scenario_name, as_of=data.summary.get("as_of"), generated=generated,
        mode=data.mode, ledger_url=data.ledger.url if data.ledger else "",
        ledger_head=data.ledger.head["hash"][:16] if data.ledger else "",
        audit_problems=data.ledger.audit_problems if data.ledger else [], counts=counts, notes=data.notes,
        cards=cards, claims=claims, plots=plot_items, certificates=index_rows, lens_note=lens.BOUNDARY_NOTE,
        lens_table=lens_table, above_general=above, pact_schema_url=schema,
        pact_placeholder=schema == pact.DEFAULT_SCHEMA_URL,
        pact_count=len(v2_docs), zip_size=zip_size, checks=check_rows, files=files), encoding="utf-8")


def _share_same_site(data: ReportData) -> float:
    lines = [ln for c in data.certificates if c.status != "void" for ln in c.lines]
    total = sum(ln.reps_t for ln in lines)
    return sum(ln.reps_t for ln in lines if ln.same_site) / total if total else 0.0


def _write_disclosure_pages(data: ReportData, ctx: dict[str, Any], ddir: Path, projects: pd.DataFrame,
                            not_counted: pd.DataFrame, cfps: pd.DataFrame, order_cfps: pd.DataFrame,
                            notice: list[dict[str, Any]], scheme: dict[str, Any], claims: dict[str, Any],
                            not_ended: pd.DataFrame | None = None) -> None:
    incomplete = projects[~projects["disclosure_complete"]]["project_id"].unique().tolist() if len(projects) else []
    notes = []
    if incomplete:
        notes.append("Incomplete disclosure: no reduction technology given for " + ", ".join(incomplete)
                     + " (6.2.3 requires the specific reduction technology method).")
    page = render(
        "table_page.html", **ctx, title="Emission reduction projects (JISF 6.2.3)",
        subtitle="projects subject to the calculation of REPs under GX Mass Balance and GX Allocation",
        twins=[("CSV", "projects.csv"), ("JSON", "projects.json"), ("not counted (CSV)", "projects-not-counted.csv"),
               ("not yet ended (CSV)", "projects-not-ended.csv")],
        intro=["For each emission reduction project: its name, implementation location (site and process unit), "
               "the specific reduction technology, the additionality test it passed (6.2.1.2) and the REPs "
               "achieved in each calculation period (after the 6.6 attribution share), with the gases included "
               "(6.5) and the third-party verification. Only calculation periods that ended by the run's as_of "
               f"date ({data.summary.get('as_of')}) are disclosed as achieved; a period not yet ended is listed "
               "separately and is not disclosed as achieved.",
               "The REPs achieved in a calculation period are signed: a period with a net emission increase shows "
               "the increase (ch. 6: both reductions and increases are included). Increases are netted against the "
               "same project's other periods, its latest earlier periods first, then later ones; 'Netted' is the "
               "change this made to a period and 'REPs in the pool' what the period holds after netting."],
        notes=notes,
        tables=[{"caption": "Projects and REPs per calculation period", "note": "", "empty": "no eligible projects",
                 "columns": [("project_id", "Project", "text"), ("name", "Name", "text"),
                             ("location_site", "Site", "text"), ("location_node", "Unit", "mono"),
                             ("location_unit", "Unit name", "text"), ("technology", "Technology", "text"),
                             ("project_type", "Type", "text"), ("additionality_test", "Additionality test", "text"),
                             ("additionality_passed", "Additional (6.2.1.2)", "bool"),
                             ("gases", "Gases included", "text"), ("gas", "Gas class", "text"),
                             ("period_start", "Period start", "text"), ("period_end", "Period end", "text"),
                             ("node_group_6_6", "6.6 group", "text"), ("attribution_share", "Share", "num"),
                             ("period_result", "Achieved in the period", "text"),
                             ("period_amount_t", "t-CO2e", "reps"),
                             ("netted_t", "Netted t-CO2e", "reps"), ("netting", "Netting", "text"),
                             ("reps_t", "REPs in the pool t-CO2e", "reps"), ("verifier", "Verifier", "text"),
                             ("statement_id", "Statement", "text"), ("status", "Status", "text")],
                 "rows": disclosure.records(projects)},
                {"caption": "Calculation periods not yet ended (not disclosed as achieved)",
                 "note": f"Periods of eligible projects that had not ended at as_of {data.summary.get('as_of')}: "
                         "nothing is disclosed as achieved for them, and their REPs cannot be used.",
                 "empty": "none", "columns": [("project_id", "Project", "text"), ("name", "Name", "text"),
                                              ("period_start", "Period start", "text"),
                                              ("period_end", "Period end", "text"), ("status", "Status", "text")],
                 "rows": disclosure.records(not_ended) if not_ended is not None else []},
                {"caption": "Projects not counted as REPs (and why)", "note": "", "empty": "none",
                 "columns": [("project_id", "Project", "text"), ("name", "Name", "text"),
                             ("location_site", "Site", "text"), ("location_node", "Unit", "mono"),
                             ("project_type", "Type", "text"), ("reason_not_counted", "Reason", "text")],
                 "rows": disclosure.records(not_counted)}])
    (ddir / "projects.html").write_text(page, encoding="utf-8")
    notice_text = []
    if notice:
        notice_text.append("7.3.3 notice to stakeholders: the CFP data period of the products below overlaps the "
                           "calculation periods of connected emission reduction projects, so their REPs are "
                           "reflected in the General CFP. For steel of these products to which no REPs were "
                           "assigned, the General CFP shall not be applied to customers' Scope 3 Category 1 or "
                           "product-level emissions without adding the correction value; the non-GX CFP is the "
                           "General CFP + the correction: "
                           + "; ".join(f"{n['product_id']} {n['general_cfp']:.4f} + {n['correction']:.4f} = "
                                       f"{n['non_gx_cfp']:.4f}" for n in notice) + " t-CO2e/t.")
    notice_text.append("Organization totals: " + claims["statement"])
    page = render(
        "table_page.html", **ctx, title="Three CFPs per product (JISF 8.3.3)",
        subtitle="General CFP, Residual CFP and Allocated CFP, t-CO2e per t of product",
        twins=[("CSV", "three-cfps.csv"), ("JSON", "three-cfps.json"), ("per order (CSV)", "three-cfps-orders.csv")],
        intro=["General CFP: the product's CFP (ch. 5). 7.3.3 correction: the REPs already reflected in the "
               "General CFP, per tonne (the REPs of connected projects' calculation periods inside the CFP data "
               "period, pro rata by days, over the production of the products connected to each project). "
               "Residual CFP = General CFP + correction (8.3.2): the CFP not reflecting GX value, the one basis of "
               "both methods, and the non-GX CFP that steel without GX value carries whichever method its GX steel "
               "uses. Allocated CFP = subject part x (1 - alpha) + non-allocable upstream scope 3 (8.1.1, 8.1.2): "
               "the CFP of GX steel; it differs by certificate with alpha, so the range over the CFP certificates "
               "is shown, with the lowest possible value (alpha = 1). A mass-balance buyer may claim the basis less "
               "the REPs per tonne of its certificate (7.3.3)."],
        notes=notice_text,
        tables=[{"caption": "Per product", "note": "", "empty": "no products",
                 "columns": [("product_id", "Product", "text"), ("name", "Name", "text"), ("site", "Site", "text"),
                             ("general_cfp", "General CFP", "cfp"),
                             ("correction_7_3_3", "7.3.3 correction", "cfp"),
                             ("residual_cfp", "Residual CFP", "cfp"), ("non_gx_cfp", "non-GX CFP", "cfp"),
                             ("allocated_cfp_min", "Allocated CFP min", "cfp"),
                             ("allocated_cfp_max", "Allocated CFP max", "cfp"),
                             ("allocated_cfp_weighted", "Allocated CFP (tonnage-weighted)", "cfp"),
                             ("allocated_cfp_lowest_possible", "Lowest possible (alpha = 1)", "cfp"),
                             ("allocation_certificates", "CFP certificates", "int"),
                             ("gx_tonnage_t", "GX tonnage t", "t"),
                             ("mass_balance_reps_t", "REPs on reduction certificates t-CO2e", "reps"),
                             ("mass_balance_claimed_cfp_min", "Claimed CFP min (mass balance)", "cfp"),
                             ("claims_t", "Claims t-CO2e", "num0")],
                 "rows": disclosure.records(cfps)},
                {"caption": "Per CFP certificate (GX Allocation)", "note": "",
                 "empty": "no GX Allocation certificates",
                 "columns": [("certificate_id", "Certificate", "text"), ("order_id", "Order", "text"),
                             ("customer", "Customer", "text"),
                             ("product_id", "Product", "text"), ("tonnage_t", "Tonnage t", "t"),
                             ("alpha", "alpha", "num"), ("gx_tonnage_t", "GX tonnage t", "t"),
                             ("general_cfp", "General CFP", "cfp"), ("residual_cfp", "Residual CFP", "cfp"),
                             ("allocated_cfp", "Allocated CFP", "cfp"), ("reps_t", "REPs t-CO2e", "reps")],
                 "rows": disclosure.records(order_cfps)}])
    (ddir / "three-cfps.html").write_text(page, encoding="utf-8")
    (ddir / "scheme.html").write_text(render("scheme.html", **ctx, s=scheme), encoding="utf-8")


def _scrap_note(lp: pd.DataFrame) -> str:
    """The lens page's note on the products connected to projects that raise scrap use."""
    products = sorted(set(lp.loc[lp["scrap_recovery_condition"], "product_id"]))
    projects = sorted({x for v in lp["scrap_raising_projects"] for x in str(v).split(";") if x})
    return (f"Projects raising scrap use ({', '.join(projects)}), connected to {', '.join(products)}: "
            + lens.SCRAP_CONDITION)


def _write_lens_page(data: ReportData, ctx: dict[str, Any], ldir: Path, lp: pd.DataFrame, ls: pd.DataFrame,
                     lc: pd.DataFrame) -> None:
    scale_cols = []
    for s in lens.SCALES:
        scale_cols += [(f"{s.key}_threshold", f"{s.label} ({s.b:.2f} - {s.m:.2f} s)", "cfp"),
                       (f"{s.key}_met", "General CFP meets", "bool")]
    site_cols = [("site_intensity", "Crude-steel site intensity (given)", "cfp"),
                 ("site_rs_level_label", "Site level (given intensity)", "text")]
    cert_cols = [("certificate_id", "Certificate", "text"), ("method", "Method", "text"),
                 ("product_id", "Product", "text"), ("crude_steel_site", "Crude steel made at", "text"),
                 ("scrap_share", "Scrap share", "pct"),
                 ("general_cfp", "General CFP (embodied)", "cfp"),
                 ("physical_rs_level", "RS level (General CFP)", "int"),
                 ("physical_steelzero_lower_emission", "SteelZero lower-emission (General CFP)", "bool"),
                 ("basis_cfp", "Basis CFP", "cfp"), ("claimed_cfp", "Claimed CFP", "cfp"),
                 ("claimed_note", "Claimed CFP for SteelZero", "text"),
                 ("site_link", "Site link (crude-steel site)", "text"), ("same_site_t", "Same site t-CO2e", "reps"),
                 ("pooled_t", "Pooled t-CO2e", "reps"),
                 ("not_from_crude_steel_site", "Lines not from the crude-steel site", "text"),
                 ("scrap_raising_projects", "Projects raising scrap use", "text"),
                 ("allocated_above_general", "Allocated CFP above General CFP", "bool")]
    cert_cols += [(f"item_{k}", label, "text") for k, label in lens.DISCLOSURE_ITEMS]
    page = render(
        "table_page.html", **ctx, title="SteelZero lens", subtitle="intensities against the sliding scales buyers use",
        twins=[("products CSV", "products.csv"), ("sites CSV", "sites.csv"), ("certificates CSV", "certificates.csv"),
               ("lines CSV", "lines.csv"), ("JSON", "lens.json")],
        intro=["Scales, t-CO2e per t of crude steel at scrap share s (0..1): ResponsibleSteel levels 1-4 = 2.80 - 2.30 s, "
               "2.00 - 1.65 s, 1.20 - 1.00 s, 0.40 - 0.35 s; SteelZero lower-emission steel = ResponsibleSteel level 2; "
               "IEA near-zero = 0.40 - 0.35 s.",
               "Thresholds and levels are judged on embodied numbers only: the General CFP of each product, as a "
               "proxy for the intensity of the site where its crude steel is made (the site of its route's BOF/EAF "
               "unit, not the shipping site), and that site's own intensity where the plant model gives it "
               "(crude_steel_intensity). A certificate's claimed CFP (the Allocated CFP, or the basis less REPs "
               "per tonne) is shown beside them as " + lens.NOT_RECOGNISED + ", never with a verdict. Per product "
               "also the non-GX CFP (General CFP + 7.3.3 correction, what steel without GX value carries). Per "
               "certificate: whether each REP line comes from the product's crude-steel site or is pooled across "
               "sites, and which of SteelZero's disclosure items the certificate carries (CFP per tonne, scrap "
               "share, calculation standard, technology, how the reduction was attributed, same-site guarantee)."],
        notes=[lens.BOUNDARY_NOTE, lens.STEELZERO_POSITION]
        + ([_scrap_note(lp)] if len(lp) and lp["scrap_recovery_condition"].any() else [])
        + (["CFP certificates whose Allocated CFP is above the product's General CFP (buyer warning): "
            + ", ".join(c.certificate_id for c in data.certificates if c.allocated_above_general)]
           if any(c.allocated_above_general for c in data.certificates) else []),
        tables=[{"caption": "Per product (General CFP as a proxy)", "note": "", "empty": "no products",
                 "columns": [("product_id", "Product", "text"), ("crude_steel_site", "Crude steel made at", "text"),
                             ("site", "Shipped from", "text"),
                             ("scrap_share", "Scrap share", "pct"), ("general_cfp", "General CFP", "cfp")]
                 + scale_cols + [("rs_level_label", "ResponsibleSteel (General CFP)", "text")] + site_cols
                 + [("non_gx_cfp", "non-GX CFP", "cfp"), ("non_gx_rs_level", "RS level (non-GX)", "int"),
                    ("scrap_raising_projects", "Projects raising scrap use", "text")],
                 "rows": disclosure.records(lp)},
                {"caption": "Per site where crude steel is made (production-weighted proxy)", "note": "",
                 "empty": "no sites",
                 "columns": [("site", "Crude-steel site", "text"), ("product_ids", "Products", "text"),
                             ("shipped_from", "Shipped from", "text"), ("production_t", "Production t", "num0"),
                             ("weighted_scrap_share", "Scrap share", "pct"),
                             ("weighted_general_cfp", "Weighted General CFP", "cfp")] + scale_cols
                 + [("rs_level_label", "ResponsibleSteel (General CFP)", "text")] + site_cols,
                 "rows": disclosure.records(ls)},
                {"caption": "Per certificate", "note": "", "empty": "no certificates", "columns": cert_cols,
                 "rows": disclosure.records(lc)}])
    (ldir / "steelzero-lens.html").write_text(page, encoding="utf-8")
