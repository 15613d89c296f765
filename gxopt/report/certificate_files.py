"""The certificates section of the report: each certificate's HTML and PDF and, unless void or of an unknown
product, its PACT footprints (v2.3, v3.0); the CSV/JSON tables of all certificates and their REP lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from gxopt.report import certificate_pdf, certificates_doc, pact, pact_check, pact_extension
from gxopt.report.data import ReportData
from gxopt.report.issuer import issuer
from gxopt.report.files import write_csv, write_json
from gxopt.report.fmt import clean


def write(data: ReportData, root: Path, generated: str, schema: str) -> tuple[list[str], list[dict[str, Any]], int]:
    """Write the certificates (``certificates/``) and their PACT footprints (``pact/``) below ``root``; return
    the tables it wrote, the certificates' rows for the index page and the number of PACT footprints."""
    cdir = root / "certificates"
    cdir.mkdir()
    (root / "pact" / "v2.3").mkdir(parents=True)
    (root / "pact" / "v3.0").mkdir(parents=True)
    cert_rows, line_rows, cert_json, v2_docs, v3_docs, index_rows = [], [], [], [], [], []
    pact_problems: list[str] = []
    who = issuer(data)
    for c in data.certificates:
        v = certificates_doc.view(who, c)
        certificates_doc.write_html(data, c, cdir / f"{c.slug}.html", v)
        certificate_pdf.write_pdf(who, c, cdir / f"{c.slug}.pdf", v)
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
               "verified": c.verified,
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
            d2, d3 = pact.v2(who, c, generated, schema), pact.v3(who, c, generated, schema)
            pact_problems += [f"{c.certificate_id} v2.3: {p}" for p in pact_check.problems(d2, pact.V2)]
            pact_problems += [f"{c.certificate_id} v3.0: {p}" for p in pact_check.problems(d3, pact.V3)]
            write_json(d2, root / "pact" / "v2.3" / f"{c.slug}.json")
            write_json(d3, root / "pact" / "v3.0" / f"{c.slug}.json")
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
    write_csv(pd.DataFrame(cert_rows, columns=list(cert_rows[0]) if cert_rows else cert_cols),
              cdir / "certificates.csv")
    write_csv(pd.DataFrame(line_rows, columns=list(line_rows[0]) if line_rows else ["certificate_id", "line_no"]),
              cdir / "certificate_lines.csv")
    write_json({"mode": data.mode, "certificates": cert_json}, cdir / "certificates.json")
    write_json({"data": v2_docs}, root / "pact" / "footprints-v2.3.json")
    write_json({"data": v3_docs}, root / "pact" / "footprints-v3.0.json")
    write_json(pact_extension.extension_schema(schema), root / "pact" / pact_extension.EXTENSION_SCHEMA_FILE)
    files = ["certificates/certificates.csv", "certificates/certificate_lines.csv", "certificates/certificates.json",
             "pact/footprints-v2.3.json", "pact/footprints-v3.0.json", "pact/jisf-gx-extension.schema.json"]
    return files, index_rows, len(v2_docs)
