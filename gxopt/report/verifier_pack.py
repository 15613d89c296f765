"""The verifier pack: everything a third party needs to re-perform the numbers without gxopt (ISO 14064-3).

Contents (folder ``verifier-pack/`` and ``verifier-pack.zip``):

- ``inputs/`` the run's inputs, ``results/`` the result tables and summary as gxopt wrote them
  (``inputs-as-csv/`` CSV renderings of Excel or Parquet inputs, when the run read any);
- ``documents/`` the machine-readable documents of the report: ``certificates/certificates.json`` (+ its CSV
  twins), the PACT footprints (``pact/v2.3``, ``pact/v3.0``, the collections, the extension schema) and the
  disclosures (``disclosures/*.json``), all rechecked against what the inputs imply;
- ``calculations/`` each pool's REPs step by step (signed per calculation period, side uncertainties, netting
  of increases), each pool's eligibility, use and reconciliation, each product's 7.3.3 correction (REPs
  already reflected in its General CFP) with its basis and caps, each allocation line's eligibility, each
  order's lines, cap and claimed CFP, each physical-connection path step by step, the buyers' claims against
  actual emissions, the documents' checks and the manifest (all recomputed by ``recheck/``, stdlib only),
  and ``verify.json``: gxopt's own independent verification re-run on the written result tables;
- ``ledger/`` (with a ledger): the hash-chained journal (CSV and exact JSON lines), stored pool balances,
  certificates and lines (exact JSON lines, so digests can be recomputed), attribute transfers, the head;
- ``recheck/`` (the package :mod:`gxopt.report.recheck`, Python standard library only; ``python3 recheck``) and
  ``recheck_results.json``; ``MANIFEST.sha256``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from gxopt import __version__
from gxopt.report import recheck
from gxopt.report.data import RESULT_TABLES, ReportData

ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def _write_rows(file: Path, rows: list[dict[str, Any]]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    if not rows:
        file.write_text("", encoding="utf-8")
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with file.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("true" if v is True else "false" if v is False else "" if v is None else v)
                        for k, v in r.items()})


def _jsonl(file: Path, rows: list[dict[str, Any]]) -> None:
    """Exact values as stored (ints stay ints, floats keep every digit), one JSON object per line."""
    file.write_text("".join(json.dumps(r, sort_keys=True, default=_json_default) + "\n" for r in rows),
                    encoding="utf-8")


def rerun_verify(data: ReportData) -> dict[str, Any]:
    """gxopt's own independent verification (:func:`gxopt.verify.verify`) on the result tables as written."""
    from gxopt.results import Results
    from gxopt.verify import verify

    t = data.tables
    try:
        res = Results(t["allocations"], t["orders"], t["pools"], t["products"], t["projects"], t["connections"])
        stages = data.summary.get("solver", {}).get("stage_objectives") or None
        violations = verify(data.scenario, res, stages)
        return {"checked_by": f"gxopt.verify.verify (gxopt {__version__})", "ok": not violations,
                "violations": violations,
                "what": "pool REPs with increases netted; every line's eligibility, physical connection, gas and "
                        "windows; no pool overdrawn; the REPs reflected in each CFP; caps, alpha, the three CFPs and "
                        "the claimed CFP per order; buyers' claims never below actual emissions (7.3.3, 8.1); the "
                        "value optimum"}
    except Exception as exc:  # noqa: BLE001 - the pack records why verify could not run
        return {"checked_by": "gxopt.verify.verify", "ok": False, "violations": [],
                "error": f"could not re-run: {type(exc).__name__}: {exc}"}


def write(data: ReportData, pack: Path) -> dict[str, Any]:
    """Write the pack folder; return the recheck summary.

    Called after the certificates, PACT files and disclosures were written next to ``pack`` (in
    ``pack.parent``): their JSON (and the certificate CSVs) are copied into ``documents/`` and rechecked.
    """
    pack.mkdir(parents=True)
    shutil.copytree(data.result_dir / "inputs", pack / "inputs")
    _input_renderings(data, pack)
    (pack / "results").mkdir()
    _copy_results(data, pack / "results")
    shutil.copyfile(data.result_dir / "summary.json", pack / "results" / "summary.json")
    _copy_documents(pack.parent, pack / "documents")
    _copy_recheck(pack / "recheck")
    if data.ledger is not None:
        _write_ledger(data, pack / "ledger")
    _manifest(pack)  # so the recheck run now checks it too; written again below with every file
    summary, tables = recheck.run_all(pack)
    calc = pack / "calculations"
    calc.mkdir()
    for name, rows in tables.items():
        _write_rows(calc / f"{name}.csv", rows)
    _write_rows(calc / "reconciliation.csv", _reconciliation(tables["pool_use"]))
    verify = rerun_verify(data)
    (calc / "verify.json").write_text(json.dumps(verify, indent=2) + "\n", encoding="utf-8")
    summary["gxopt_verify"] = {"ok": verify["ok"], "violations": len(verify.get("violations", [])),
                               "error": verify.get("error")}
    (pack / "recheck_results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n",
                                               encoding="utf-8")
    (pack / "README.md").write_text(_readme(data, summary), encoding="utf-8")
    _manifest(pack)
    return summary


def _copy_recheck(out: Path) -> None:
    """The re-checker: the modules of :mod:`gxopt.report.recheck` (source only, no ``__pycache__``)."""
    out.mkdir()
    for f in sorted(Path(recheck.__file__).parent.glob("*.py")):
        shutil.copyfile(f, out / f.name)


DOCUMENTS = (("certificates", ("certificates.json", "certificates.csv", "certificate_lines.csv")),
             ("pact", ("*.json", "v2.3/*.json", "v3.0/*.json")),
             ("disclosures", ("*.json",)))


def _copy_documents(report: Path, out: Path) -> None:
    """The machine-readable documents of the report (certificates JSON + CSVs, PACT JSON, disclosure JSON)."""
    for folder, patterns in DOCUMENTS:
        for pattern in patterns:
            for f in sorted((report / folder).glob(pattern)):
                if f.is_file():
                    dst = out / folder / f.relative_to(report / folder)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, dst)


def _copy_results(data: ReportData, out: Path) -> None:
    """The result tables as gxopt wrote them (CSV); a result folder written as Parquet or Excel is rendered as
    CSV (6 decimals, as ``gxopt run`` writes CSV), because ``recheck/`` reads CSV only."""
    missing = [t for t in RESULT_TABLES if not (data.result_dir / f"{t}.csv").is_file()]
    for t in RESULT_TABLES:
        if t not in missing:
            shutil.copyfile(data.result_dir / f"{t}.csv", out / f"{t}.csv")
    if not missing:
        return
    from gxopt.resultdir import read_result_tables

    frames = read_result_tables(data.result_dir, tuple(missing))
    for t, frame in frames.items():
        frame.to_csv(out / f"{t}.csv", index=False, lineterminator="\n", float_format="%.6f")
    (out / "RENDERED.txt").write_text(
        "These result tables were written by gxopt as " + ", ".join(sorted({
            p.suffix for p in data.result_dir.iterdir() if p.stem in missing or p.name == "results.xlsx"}))
        + " and rendered as CSV for recheck/ (Python's standard library reads no Parquet or Excel): "
        + ", ".join(f"{t}.csv" for t in missing) + ".\n", encoding="utf-8")


def _text_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    if hasattr(v, "item"):
        return _text_cell(v.item())
    return str(v)


def _input_renderings(data: ReportData, pack: Path) -> None:
    """CSV renderings (``inputs-as-csv/``) of input tables the run read from Excel or Parquet files: recheck/
    reads those (the standard library reads no Excel or Parquet); the SHA-256 still covers the originals."""
    from gxopt import schema

    s = data.scenario
    frames = {"nodes": s.model.nodes, "edges": s.model.edges, "products": s.model.products, "projects": s.projects,
              "project_periods": s.periods, "orders": s.orders, "account": s.account}
    sources = getattr(s, "sources", None) or {}
    for folder, tables in (("model", schema.MODEL_TABLES), ("scenario", schema.SCENARIO_TABLES)):
        here = pack / "inputs" / folder
        for t in tables:
            if (here / t.file).is_file():
                continue
            src = sources.get(t.name)
            if src is None or Path(src).suffix == ".csv":  # not given, or given as CSV
                continue
            frame = frames[t.name]
            cols = [c for c in frame.columns if c != "src_line"]
            out = pack / "inputs-as-csv" / folder / t.file
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(cols)
                for row in frame[cols].itertuples(index=False):
                    w.writerow([_text_cell(v) for v in row])


def _reconciliation(pool_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("reps_t", "used_before_t", "used_mass_balance_t", "used_allocation_t", "remaining_t")
    rows = [{"pool_id": r["pool_id"], **{k: r[k] for k in keys},
             "check": "reps_t = used_before_t + used_mass_balance_t + used_allocation_t + remaining_t",
             "reconciles": r["reconciles"]} for r in pool_rows]
    tot = {k: round(sum(float(r[k] or 0) for r in pool_rows), 6) for k in keys}
    rows.append({"pool_id": "TOTAL", **tot, "check": "sum over pools",
                 "reconciles": all(r["reconciles"] for r in pool_rows)})
    return rows


def _write_ledger(data: ReportData, out: Path) -> None:
    from gxopt.ledger.tables import G_PER_T

    led = data.ledger
    assert led is not None
    out.mkdir()
    _jsonl(out / "journal.jsonl", led.journal_rows)
    _jsonl(out / "certificates.jsonl", led.certificates)
    _jsonl(out / "certificate_lines.jsonl", led.certificate_lines)
    j = led.journal.copy()
    j.to_csv(out / "journal.csv", index=False, lineterminator="\n")
    led.balances.to_csv(out / "pool_balance.csv", index=False, lineterminator="\n")
    b = led.balances
    pd.DataFrame({"pool_id": b["pool_id"], "credited_t": (b["credited_g"] + b["adjusted_g"]) / G_PER_T,
                  "issued_t": b["issued_g"] / G_PER_T, "reversed_t": b["reversed_g"] / G_PER_T,
                  "expired_t": b["expired_g"] / G_PER_T, "remaining_t": b["remaining_g"] / G_PER_T,
                  "reconciles": (b["credited_g"] + b["adjusted_g"]) == (b["issued_g"] - b["reversed_g"]
                                                                        + b["expired_g"] + b["remaining_g"])}
                 ).to_csv(out / "balances.csv", index=False, lineterminator="\n", float_format="%.6f")
    led.pools.to_csv(out / "pools.csv", index=False, lineterminator="\n")
    pd.DataFrame(led.certificates).to_csv(out / "certificates.csv", index=False, lineterminator="\n")
    pd.DataFrame(led.certificate_lines).to_csv(out / "certificate_lines.csv", index=False, lineterminator="\n")
    led.transfers.to_csv(out / "attribute_transfers.csv", index=False, lineterminator="\n")
    led.batches.to_csv(out / "batches.csv", index=False, lineterminator="\n")
    (out / "head.json").write_text(json.dumps(led.head, indent=2) + "\n", encoding="utf-8")
    (out / "audit.json").write_text(json.dumps({"problems": led.audit_problems, "ok": not led.audit_problems},
                                               indent=2) + "\n", encoding="utf-8")


def _manifest(pack: Path) -> None:
    lines = []
    for f in sorted(p for p in pack.rglob("*") if p.is_file() and p.relative_to(pack).as_posix() != "MANIFEST.sha256"):
        lines.append(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.relative_to(pack).as_posix()}")
    (pack / "MANIFEST.sha256").write_text("\n".join(lines) + "\n", encoding="utf-8")


def zip_pack(pack: Path, file: Path) -> None:
    """A zip of the pack with fixed timestamps and sorted entries (the same pack gives the same zip)."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in sorted(p for p in pack.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{pack.name}/{f.relative_to(pack).as_posix()}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, f.read_bytes())


def _readme(data: ReportData, summary: dict[str, Any]) -> str:
    ok = "PASSED" if summary["ok"] and summary["gxopt_verify"]["ok"] else "FAILED - see recheck_results.json"
    ledger = ""
    if data.ledger is not None:
        ledger = f"""
## Ledger (`ledger/`)

Exported read-only from `{data.ledger.url}`: {len(data.ledger.journal_rows)} journal entries, head hash
`{data.ledger.head['hash']}` (seq {data.ledger.head['seq']}).

- `journal.jsonl`: every entry exactly as stored. Each `hash = sha256(prev_hash + "|" + JSON)` where JSON
  is the entry's `entry_id, created_at, batch_id, kind, pool_id, amount_g, certificate_id, reason, meta`
  with sorted keys and separators `,` `:`. The first `prev_hash` is 64 zeros; `head.json` is the newest hash.
- `pool_balance.csv`: the balances stored in the database (grams); recompute them from the journal:
  credited/adjusted/issued/reversed/expired are the sums of `amount_g` by `kind`, and
  remaining = credited + adjusted - issued + reversed - expired (never below zero).
- `certificates.jsonl`, `certificate_lines.jsonl`: the certificates as issued. The digest written in each
  certificate's `issue` entries (`meta.certificate_digest`) is sha256 of the JSON
  `{{"certificate": {{...14 fields, + basis_cfp and claimed_cfp when stated...}}, "lines": [...]}}` (see
  `recheck/ledger.py`, `certificate_digest`).
- `audit.json`: the result of gxopt's own ledger audit when the report was made.
"""
    failed = ", ".join(summary.get("failed", [])) or "none"
    return f"""# Verifier pack: {data.scenario_name}

Organization (scheme owner): **{data.organization}**. Scheme: JISF GX Steel Guidelines v4.1.
Run as of {data.summary.get('as_of')}; inputs SHA-256 `{data.summary.get('input_sha256')}`.
Made by gxopt {__version__} ({data.mode} mode). Re-check when the pack was written: **{ok}** (checks failed:
{failed}).

Everything here can be re-performed without gxopt, from `inputs/` alone:

```
python3 recheck            # Python 3.8 or newer, standard library only; exit code 0 = every check passed
python3 PATH/TO/recheck    # the same from another folder (it checks the pack that holds recheck/)
python3 recheck PACK_DIR   # this re-checker on a pack in another folder
```

It prints one line per check; under a failed check one line per failed rule, naming its clause and at most ten
ids (with the count of the rest); `recheck_results.json` holds every problem.

## What recheck/ does

1. **manifest**: every file listed in `MANIFEST.sha256` has its SHA-256, and every file of the pack (but the
   manifest) is listed; a mismatch names the file.
2. **inputs**: `inputs/scenario/scenario.yaml` is read; the SHA-256 of the input files is computed the way gxopt
   computes `input_sha256` and must equal `results/summary.json` (and the ledger's batch); the settings in
   `summary.json` must be those of scenario.yaml.
3. Then everything is **recomputed from `inputs/` alone** and compared with `results/`; caps, CFP terms,
   eligibility and pool balances are never taken from `results/`: every pool's REPs (ch. 6, 6.5, 6.6, netting
   of increases); each project's and pool's eligibility (kind 6.2.1.1 / 6.3, additionality 6.2.1.2, steel unit
   6.2.1.1, verification 6.8, period ended by as_of, mass-balance expiry 7.2.2); the physical connections from
   `edges.csv` (6.7) and every evidence path; each product's 7.3.3 correction, basis, caps and CFP data age
   (7.3.2, 8.3.2, 5.2.2); every allocation line's eligibility for its order (the above, gas 7.3.1, windows 8.2.2
   and 8.2.3); every pool balance (used before + drawn = used <= REPs; GX Allocation <= in_cfps - used before,
   8.1); every order's cap, alpha, three CFPs and claimed CFP; the buyers' claims against actual emissions
   (7.3.3, 8.1) and the summary's totals.
4. **documents**: every certificate (order, customer, product, method, tonnage, REPs = its lines = the order's
   allocation lines, the CFPs) against the recomputed orders (with a ledger: against the certificates as
   issued), every PACT footprint's PCF value (per kg = per t) against its certificate's Allocated CFP (GX
   Allocation) or basis CFP (GX Mass Balance), the disclosures against the recomputed pools, products and
   claims (the 6.2.3 table lists only calculation periods that ended by as_of).
5. **ledger** (when present): hash chain, head, balances, certificate digests.

## What it cannot catch

`MANIFEST.sha256` is no seal: whoever changes a file can write a new manifest. The defence is the
recomputation: results, certificates, PACT files or disclosures that do not follow from `inputs/` fail
whatever the manifest says. What no recomputation can catch is **`inputs/` changed together with results that
agree with them**: the anchor for the inputs is their SHA-256. `recheck/` recomputes it (sha256 over the
name and bytes of scenario.yaml, model.yaml and each table file, in the order gxopt reads them; scenario.yaml
with the `model:` line the run read, restored from `summary.json` `settings.model`, because the pack's copy
points at `../model`) and compares it with `results/summary.json`; since both can be rewritten, compare
**`{data.summary.get('input_sha256')}`** with the SHA-256 recorded where the pack cannot change it: the
ledger's batch (`ledger/batches.csv`, `input_sha256`), the published scheme information, or the organization's
own record of the run. If the run read scenario.yaml with a `model:` line that carried a comment, the digest
cannot be reconstructed and the inputs check fails: check the SHA-256 of the original files instead. Inputs
read from Excel or Parquet are re-performed from gxopt's CSV renderings in `inputs-as-csv/` (the standard
library reads neither format); their SHA-256 still covers the original files, but that the renderings render
them is not re-checked.

## Files

| path | what | clause |
|---|---|---|
| `inputs/model/*`, `inputs/scenario/*` | the plant model and scenario the run read (`gxopt run inputs/scenario` reruns it) | 5, 6 |
| `results/*.csv`, `results/summary.json` | the result tables as gxopt wrote them | 6-8 |
| `documents/certificates/*` | the certificates (JSON, CSV, lines), as in the report | 7.3, 7.5, 8.5 |
| `documents/pact/*` | the PACT footprints (v2.3, v3.0, collections, GX extension schema) | 7.3, 8.5 |
| `documents/disclosures/*.json` | the 6.2.3, 8.3.3 and chapter 9 disclosures | 6.2.3, 8.3.3, 9 |
| `calculations/manifest_check.csv`, `input_checks.csv` | each file against the manifest; the input SHA-256 and settings | |
| `calculations/rep_calculation.csv` | each pool's REPs step by step: baseline_intensity x output_t = baseline emissions; - project_emissions_t = gross; a reduction x (1 - uncertainty), an increase x (1 + uncertainty), or baseline x (1 - u_b) - project x (1 + u_e) (6.6 group: the largest of each); x share = the REPs achieved in the period (signed); netted against the project's other periods = REPs in the pool; compared with `results/pools.csv` | 6, 6.5, 6.6 |
| `calculations/eligibility_checks.csv` | each pool: its project's eligibility and the first rule it fails, ended, expiry, site, gas | 6.2.1, 6.3, 6.8, 7.2.2 |
| `calculations/pool_use.csv`, `calculations/reconciliation.csv` | each pool: used before (account.csv) + used by mass balance + used by allocation + remaining = REPs; never overdrawn | 7.2.1, 7.3.1, 8.2.1 |
| `calculations/product_checks.csv` | each product: the REPs already reflected in its General CFP per tonne (the 7.3.3 correction, pool by pool: REPs x days inside the CFP data period / days of the pool / production of the connected products), its basis = non-GX CFP, mass-balance cap, subject part, CFP data age | 7.3.3, 7.3.2, 8.3.2, 5.2.2 |
| `calculations/line_checks.csv` | each allocation line: may its pool feed its order | 6.3, 6.7, 7.2.2, 7.3.1, 8.2.2, 8.2.3 |
| `calculations/order_checks.csv` | each order: its lines sum to its REPs, never above its cap; alpha, GX tonnage, basis, Residual and Allocated CFP, the claimed CFP (basis - REPs per tonne, or the Allocated CFP), status | 7.3.2, 7.3.3, 8.1.1, 8.3.2 |
| `calculations/connection_checks.csv` | each physical-connection path, each step checked against `inputs/model/edges.csv` (material, input, utility; by-product edges never connect); the connected pairs recomputed from the edges | 6.7, 7.2.3 |
| `calculations/claims.csv` | per product what buyers may claim (GX orders at their claimed CFP + the rest at the non-GX CFP) and the organization total against actual emissions: the margin must be >= 0 | 7.3.3, 8.1, 8.3.1 |
| `calculations/certificate_checks.csv`, `pact_checks.csv`, `disclosure_checks.csv` | each certificate, PACT footprint and disclosure row checked | 7.3, 8.3.3, 8.5, 6.2.3, 9 |
| `calculations/verify.json` | gxopt's independent verification re-run on the written tables | all |
| `recheck/*.py`, `recheck_results.json` | the stdlib re-check (a folder Python runs through its `__main__.py`; one module per group of checks above, `driver.py` runs them in order) and its result when the pack was written | ISO 14064-3 |
| `MANIFEST.sha256` | SHA-256 of every other file (`sha256sum -c MANIFEST.sha256`) | |
{ledger}
## Formulas

- REPs achieved in a calculation period (signed) = (baseline_intensity x output_t - project_emissions_t) x (1 -
  uncertainty) for a reduction, x (1 + uncertainty) for an increase; with baseline_uncertainty and
  project_uncertainty: baseline x (1 - u_b) - project_emissions_t x (1 + u_e). Projects at the same unit with
  overlapping periods (6.6) share one calculation from the unit's own data, with the group's largest
  uncertainty, split by attribution_share (equal when none is given). Increases are included (ch. 6): netted
  against the project's latest earlier periods first, then its later ones; a project's pools hold
  max(0, the sum of its period amounts).
- REP term (the 7.3.3 correction) of product k = sum over the pools p of eligible projects connected to k of
  REPs_p x (days of p inside k's CFP data period / days of p, both ends inclusive) / production of every
  product connected to the project. Basis = Residual CFP = non-GX CFP = General CFP + REP term (8.3.2, 7.3.3).
- Mass balance cap per tonne = scope1 + scope2 + REP term (7.3.2); the buyer may claim basis - REPs per tonne.
  Allocation: Allocated CFP = (scope1 + scope2 + allocable scope 3 + REP term) x (1 - alpha) + non-allocable
  upstream scope 3 (8.1.1, 8.1.2); alpha = REPs / (tonnage x that subject part).
- A line may feed an order when: the project is eligible, the pool's period ended by as_of, the project is
  physically connected to the product, the gas matches (when the order names one), the CFP data is usable;
  mass balance: the pool's expiry (period end + expiry years) is not before the delivery nor the run date;
  allocation: the CFP does not end before the project's first period, the pool has a day inside the CFP data
  period, the delivery is inside the operational period.
- Claims = GX orders at their claimed CFP x tonnage + the rest of every product's production at its non-GX CFP -
  REPs claimed before (account.csv); actual = General CFP x production - verified REPs of ended pools that no CFP
  contains. Claims >= actual: nothing counted twice.
- Units: CFPs t-CO2e per t of product (= kg CO2e per kg in the PACT files); REPs, use and balances t-CO2e (the
  ledger: whole grams).
"""
