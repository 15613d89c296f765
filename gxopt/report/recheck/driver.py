"""Runs every check in order (:func:`run_all`), prints one line per check and exits 0 only when all pass."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .certificates import certificate_checks, pact_checks
from .cfps import order_checks, product_checks
from .claims import claims_check
from .connection import connection_checks
from .disclosures import disclosure_checks
from .eligibility import eligibility_check, line_checks
from .integrity import inputs_check, manifest_check
from .ledger import ledger_checks
from .pools import check_reps, pool_use, rep_calculation
from .run import Run
from .values import Found

SHOWN = 10  # ids shown per failed rule
TABLE_OF = {"manifest": "manifest_check", "inputs": "input_checks", "reps": "rep_calculation",
            "eligibility": "eligibility_checks", "physical_connection": "connection_checks",
            "products": "product_checks", "allocation_lines": "line_checks", "pool_use": "pool_use",
            "orders": "order_checks", "claims": "claims", "certificates": "certificate_checks",
            "pact": "pact_checks", "disclosures": "disclosure_checks", "ledger": "ledger_balances"}


def run_all(pack: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Every check: (summary with the problems per check and rule, the tables of recomputed rows)."""
    pack = Path(pack)
    tables: dict[str, list[dict[str, Any]]] = {}
    found: dict[str, Found] = {}
    tables["manifest_check"], found["manifest"] = manifest_check(pack)
    run = Run(pack)
    calc, run.exact = rep_calculation(run)  # before the inputs check: it reports unreadable period rows
    tables["input_checks"], found["inputs"] = inputs_check(run)
    tables["rep_calculation"], found["reps"] = check_reps(run, calc)
    tables["eligibility_checks"], found["eligibility"] = eligibility_check(run)
    tables["connection_checks"], found["physical_connection"] = connection_checks(run)
    tables["product_checks"], found["products"] = product_checks(run)
    tables["line_checks"], found["allocation_lines"] = line_checks(run)
    tables["pool_use"], found["pool_use"] = pool_use(run)
    tables["order_checks"], found["orders"] = order_checks(run)
    tables["claims"], found["claims"] = claims_check(run)
    tables["certificate_checks"], found["certificates"] = certificate_checks(run)
    tables["pact_checks"], found["pact"] = pact_checks(run)
    tables["disclosure_checks"], found["disclosures"] = disclosure_checks(run)
    led = ledger_checks(pack)
    if led is not None:
        tables["ledger_balances"], found["ledger"] = led
    summary = {
        "ok": not any(found.values()),
        "checks": {k: {"ok": not v, "problems": v.problems(), "notes": v.notes,
                       "rules": [{"rule": r, "count": len(items), "items": items} for r, items in v.rules.items()],
                       "rows": len(tables[TABLE_OF[k]])} for k, v in found.items()},
        "failed": [k for k, v in found.items() if v],
        "counts": {k: len(v) for k, v in tables.items()},
        "as_of": run.as_of.isoformat(),
        "input_sha256": run.summary.get("input_sha256"),
    }
    return summary, tables


def report_lines(summary: dict[str, Any]) -> list[str]:
    """The readable report: one line per check; under a failed check one line per rule with up to ten ids."""
    out = []
    for name, res in summary["checks"].items():
        n = sum(r["count"] for r in res["rules"])
        if res["ok"]:
            out.append(f"ok   {name}: {res['rows']} rows checked, 0 problem(s)")
        else:
            out.append(f"FAIL {name}: {res['rows']} rows checked, {n} problem(s) in {len(res['rules'])} rule(s)")
        for r in res["rules"]:
            shown = r["items"][:SHOWN]
            more = f" (and {r['count'] - len(shown)} more)" if r["count"] > len(shown) else ""
            out.append(f"       - {r['rule']} [{r['count']}]: {'; '.join(shown)}{more}")
        for note in res.get("notes", []):
            out.append(f"       note: {note}")
    if summary["ok"]:
        out.append(f"all checks passed ({len(summary['checks'])} checks; inputs SHA-256 "
                   f"{summary.get('input_sha256')})")
    else:
        out.append(f"SOME CHECKS FAILED: {len(summary['failed'])} of {len(summary['checks'])} "
                   f"({', '.join(summary['failed'])})")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run every check on the pack, print the report, exit 0 only when everything passes."""
    args = sys.argv[1:] if argv is None else argv
    pack = Path(args[0]) if args else Path(__file__).resolve().parent.parent  # the pack holding recheck/
    if not pack.is_dir():
        print(f"not a folder: {pack}")
        return 1
    summary, _tables = run_all(pack)
    print("\n".join(report_lines(summary)))
    return 0 if summary["ok"] else 1

