"""The report's index: ``index.html`` (headline cards and counts, checks, plots, certificates, every file) and
its machine-readable twin ``report.json``, the marker of a gxopt report folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gxopt import __version__
from gxopt.report import disclosure, lens
from gxopt.report.data import ReportData
from gxopt.report.files import write_json
from gxopt.report.pact_extension import DEFAULT_SCHEMA_URL
from gxopt.report.render import render

MARKER = "report.json"
KIND = "gxopt report"


def write(data: ReportData, ctx: dict[str, Any], root: Path, *, generated: str, schema: str, files: list[str],
          certificates: list[dict[str, Any]], pact_count: int, plots: list[dict[str, Any]], checks: dict[str, Any],
          lens_table: dict[str, Any]) -> None:
    """Write ``report.json`` and ``index.html`` into ``root``, listing ``files`` (the sections' files) and
    themselves."""
    counts = {"certificates": len(data.certificates),
              "issued": sum(c.status == "issued" for c in data.certificates),
              "void": sum(c.status == "void" for c in data.certificates),
              "draft": sum(c.status == "draft" for c in data.certificates),
              "reduction_certificates": sum(c.kind == "reduction" for c in data.certificates),
              "cfp_certificates": sum(c.kind == "cfp" for c in data.certificates),
              "pact_footprints": pact_count}
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
    above = [{"id": c.certificate_id, "slug": c.slug, "customer": c.customer, "product": c.product_id,
              "general": c.general_cfp, "allocated": c.allocated_cfp}
             for c in data.certificates if c.allocated_above_general and c.status != "void"]
    files = [*files, "report.json", "index.html"]
    report = {"kind": KIND, "gxopt_version": __version__, "generated": generated, "mode": data.mode,
              "organization": data.organization, "scenario": data.scenario_name,
              "as_of": data.summary.get("as_of"), "result_dir": str(data.result_dir),
              "input_sha256": data.summary.get("input_sha256"),
              "ledger": None if data.ledger is None else {"url": data.ledger.url, "head": data.ledger.head,
                                                          "audit_problems": data.ledger.audit_problems},
              "counts": counts, "checks": checks, "claims": claims, "notes": data.notes, "files": files,
              "pact_extension_schema_url": schema,
              "allocated_above_general": [a["id"] for a in above],
              "plots": [p["file"] for p in plots]}
    write_json(report, root / MARKER)
    zip_size = _size((root / "verifier-pack.zip").stat().st_size)
    (root / "index.html").write_text(render(
        "index.html", **ctx, scenario=data.scenario_name, as_of=data.summary.get("as_of"), generated=generated,
        mode=data.mode, ledger_url=data.ledger.url if data.ledger else "",
        ledger_head=data.ledger.head["hash"][:16] if data.ledger else "",
        audit_problems=data.ledger.audit_problems if data.ledger else [], counts=counts, notes=data.notes,
        cards=cards, claims=claims, plots=plots, certificates=certificates, lens_note=lens.BOUNDARY_NOTE,
        lens_table=lens_table, above_general=above, pact_schema_url=schema,
        pact_placeholder=schema == DEFAULT_SCHEMA_URL,
        pact_count=pact_count, zip_size=zip_size, checks=check_rows, files=files), encoding="utf-8")


def _share_same_site(data: ReportData) -> float:
    lines = [ln for c in data.certificates if c.status != "void" for ln in c.lines]
    total = sum(ln.reps_t for ln in lines)
    return sum(ln.reps_t for ln in lines if ln.same_site) / total if total else 0.0


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
