"""``gxopt report RESULT_DIR --out DIR [--db URL] [--pact-base-url URL]``: the work behind the command (wired in
gxopt/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gxopt.report import MARKER, build_report


def report_command(result_dir: Path, out: Path, db: str | None, console: Console | None = None,
                   pact_base_url: str | None = None) -> Path:
    """Build the report of ``result_dir`` into ``out`` (certificates from the ledger at ``db`` when given; the PACT
    extension schema published under ``pact_base_url``) and print a one-screen summary. Raises InputError /
    OutputError for bad inputs or an unsafe output folder."""
    con = console or Console(highlight=False)
    with con.status("gxopt report: reading the result folder" + (" and the ledger" if db else "")):
        path = build_report(result_dir, out, db_url=db, pact_base_url=pact_base_url)
    info = json.loads((path / MARKER).read_text(encoding="utf-8"))
    counts, checks = info["counts"], info["checks"]
    con.print(f"[bold]{info['scenario']}[/] - {info['organization']} - as of {info['as_of']} - "
              + ("[green]ledger[/]: certificates as issued" if info["mode"] == "ledger"
                 else "[yellow]draft mode[/]: no ledger, certificates marked draft — not issued"))
    tab = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
    tab.add_column("", style="bold")
    tab.add_column("")
    if info["mode"] == "ledger":
        cert = f"{counts['issued']} issued" + (f", {counts['void']} void" if counts["void"] else "")
    else:
        cert = f"{counts['draft']} drafts"
    tab.add_row("certificates", f"{cert} ({counts['reduction_certificates']} reduction, {counts['cfp_certificates']} "
                                f"CFP): HTML + PDF each")
    schema = info.get("pact_extension_schema_url", "")
    tab.add_row("PACT footprints", f"{counts['pact_footprints']} x (v2.3 + v3.0), kg CO2e per kg; extension schema "
                                   f"{escape(schema)}" + (" [yellow](placeholder: set --pact-base-url)[/]"
                                                          if ".invalid/" in schema else ""))
    tab.add_row("disclosures", "6.2.3 projects (increases netted), 8.3.3 three CFPs (+ 7.3.3 corrections), "
                               "9 scheme information")
    claims = info.get("claims") or {}
    if claims:
        tab.add_row("claims", f"buyers {claims['claims_t']:,.0f} vs actual {claims['actual_emissions_t']:,.0f} t-CO2e: "
                              + (f"[green]margin {claims['claims_margin_t']:+,.0f}, no double counting[/]"
                                 if claims["no_double_counting"] else
                                 f"[red]{-claims['claims_margin_t']:,.0f} counted twice[/]")
                    + f"; {claims.get('reps_not_allocated_t', 0):,.0f} t-CO2e of REPs not allocated")
    tab.add_row("SteelZero lens", "per product, per crude-steel site, per certificate (embodied CFPs only; "
                                  "reports only)")
    if info.get("allocated_above_general"):
        tab.add_row("buyer warning", f"[red]{len(info['allocated_above_general'])} CFP certificate(s) with an "
                                     "Allocated CFP above the General CFP[/]: "
                                     + escape(", ".join(info["allocated_above_general"][:5])))
    tab.add_row("plots", ", ".join(Path(p).name for p in info["plots"]))
    ok = checks["ok"] and checks["gxopt_verify"]["ok"]
    failed = [k for k, v in checks["checks"].items() if not v["ok"]]
    if not checks["gxopt_verify"]["ok"]:
        failed.append("gxopt verify")
    tab.add_row("verifier pack", ("[green]all re-checks passed[/]" if ok else f"[red]re-check failed: {', '.join(failed)}[/]")
                + " (verifier-pack/, verifier-pack.zip; python3 recheck)")
    if info.get("ledger"):
        led = info["ledger"]
        tab.add_row("ledger", f"journal head {led['head']['hash'][:16]} (seq {led['head']['seq']}); audit "
                              + ("[green]intact[/]" if not led["audit_problems"]
                                 else f"[red]{len(led['audit_problems'])} problem(s)[/]"))
    con.print(tab)
    for n in info.get("notes", []):
        con.print(f"[yellow]note:[/] {escape(n)}", soft_wrap=True)
    con.print(f"open [bold]{escape(str(path / 'index.html'))}[/]", soft_wrap=True)  # never fold a path
    return path
