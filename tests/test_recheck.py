"""The verifier pack's ``recheck/`` re-performs the numbers from the pack alone (issue 14, item 3).

It checks ``MANIFEST.sha256`` first, then recomputes from ``inputs/`` every REP, eligibility, cap and CFP term,
pool balance, the three CFPs and the buyers' claims, and rechecks the certificates, PACT files and disclosures
against them. Every tampered pack below must fail with the rule named, once with the stale manifest and once
with the manifest rewritten to match: the manifest is no seal, the recomputation is the defence. Each report
is built once per module; every test works on a copy of its pack and runs the pack's own ``recheck/`` as a
subprocess (``python -I -S recheck``: no gxopt, no site-packages on the path).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import gxopt
from gxopt.report import build_report
from gxopt.report.recheck.integrity import input_digests
from gxopt.report.recheck.yaml_subset import parse_yaml
from tests.conftest import REPO

SHIPPED = ("jisf-case-study", "jisf-figure1", "jp-steel-fy2026", "jp-steel-both-methods")


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def pack_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``pack_of(scenario)``: the verifier pack of a draft report of a shipped scenario, built once per module."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            root = tmp_path_factory.mktemp(name)
            gxopt.run(REPO / "scenarios" / name, out=root / "result")
            built[name] = build_report(root / "result", root / "report") / "verifier-pack"
        return built[name]

    return get


@pytest.fixture(scope="module")
def ledger_pack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The pack of a report from a ledger (one batch of jp-steel-both-methods, one void)."""
    from gxopt.ledger import certificates as certs
    from gxopt.ledger.db import connect, dispose_all, writer
    from tests.ledger_support import batched

    root = tmp_path_factory.mktemp("ledger")
    scen = REPO / "scenarios" / "jp-steel-both-methods"
    url = batched(root, scen)
    with writer(connect(url), "test") as conn:
        ids = sorted(r[0] for r in conn.exec_driver_sql("select certificate_id from certificates"))
        certs.void(conn, ids[1], "order cancelled")
    gxopt.run(scen, out=root / "result")
    yield build_report(root / "result", root / "report", db_url=url) / "verifier-pack"
    dispose_all()


@pytest.fixture
def fy26(pack_of: Callable[[str], Path], tmp_path: Path) -> Path:
    """A fresh copy of the jp-steel-fy2026 pack, to be tampered with."""
    pack = tmp_path / "verifier-pack"
    shutil.copytree(pack_of("jp-steel-fy2026"), pack)
    return pack


# ------------------------------------------------------------------------------------------- helpers


def recheck(pack: Path) -> subprocess.CompletedProcess[str]:
    """The pack's own recheck/, run from outside the pack with an isolated interpreter (no site-packages)."""
    return subprocess.run([sys.executable, "-I", "-S", str(pack / "recheck"), str(pack)], capture_output=True,
                          text=True, cwd=pack.parent, timeout=120, check=False)


def rewrite_manifest(pack: Path) -> None:
    """What a tamperer does next: a manifest that matches the changed files."""
    lines = [f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.relative_to(pack).as_posix()}"
             for f in sorted(pack.rglob("*")) if f.is_file() and f.name != "MANIFEST.sha256"]
    (pack / "MANIFEST.sha256").write_text("\n".join(lines) + "\n", encoding="utf-8")


def rows(file: Path) -> tuple[list[str], list[dict[str, str]]]:
    with file.open(newline="", encoding="utf-8") as fh:
        r = csv.DictReader(fh)
        return list(r.fieldnames or []), list(r)


def write_rows(file: Path, fields: list[str], data: list[dict[str, str]]) -> None:
    with file.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(data)


def edit_csv(file: Path, change: Callable[[list[dict[str, str]]], None]) -> None:
    fields, data = rows(file)
    change(data)
    write_rows(file, fields, data)


def edit_json(file: Path, change: Callable[[Any], None]) -> None:
    doc = json.loads(file.read_text(encoding="utf-8"))
    change(doc)
    file.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _add(row: dict[str, str], col: str, delta: float) -> None:
    row[col] = repr(float(row[col]) + delta)


def failed_rule(out: str, check: str, words: str) -> bool:
    """True when ``check`` failed and one of its rule lines contains ``words``."""
    lines = out.splitlines()
    try:
        start = lines.index(next(x for x in lines if x.startswith(f"FAIL {check}:")))
    except StopIteration:
        return False
    for x in lines[start + 1:]:
        if not x.startswith("       "):
            break
        if words in x:
            return True
    return False


# ---------------------------------------------------------------------------------------- the tampers


def move_line(project: str, pool: str, start: str, end: str, gas: str, method: str, order_gas: tuple[str, ...] = (),
              connected: bool = True) -> Callable[[Path], None]:
    """Move an allocation line (and its certificate line, and the pools' use) to another pool, every table
    rewritten to agree, as a careful tamperer would. ``order_gas``: the gas the order asks for (default: none
    or the pool's); ``connected``: take a line of a product the project is connected to (else one it is not,
    with a made-up evidence path)."""

    def tamper(pack: Path) -> None:
        res = pack / "results"
        conn = {(r["project_id"], r["product_id"]): r["evidence"] for r in rows(res / "connections.csv")[1]}
        gas_of = {r["order_id"]: r["gas"] for r in rows(res / "orders.csv")[1]}
        node = next(r["node"] for r in rows(pack / "inputs" / "scenario" / "projects.csv")[1]
                    if r["project_id"] == project)
        fields, lines = rows(res / "allocations.csv")
        ln = next(r for r in lines if r["method"] == method and ((project, r["product_id"]) in conn) == connected
                  and r["project_id"] != project and gas_of[r["order_id"]] in (order_gas or ("", gas)))
        old, reps = ln["pool_id"], float(ln["reps_t"])
        evidence = conn[(project, ln["product_id"])] if connected else f"{node} -utility-> {ln['evidence']}"
        ln.update(project_id=project, pool_id=pool, period_start=start, period_end=end, gas=gas, gases=gas,
                  evidence=evidence)
        write_rows(res / "allocations.csv", fields, lines)

        def use(data: list[dict[str, str]]) -> None:
            col = "used_mass_balance_t" if method == "mass_balance" else "used_allocation_t"
            for r in data:
                sign = -1.0 if r["pool_id"] == old else 1.0 if r["pool_id"] == pool else 0.0
                if sign:
                    for c in ("used_run_t", "used_t", col):
                        _add(r, c, sign * reps)
                    _add(r, "remaining_t", -sign * reps)

        edit_csv(res / "pools.csv", use)

        def cert(doc: dict[str, Any]) -> None:
            c = next(c for c in doc["certificates"] if c["order_id"] == ln["order_id"])
            x = next(x for x in c["lines"] if x["pool_id"] == old)
            x.update(pool_id=pool, project_id=project, period_start=start, period_end=end, gas=gas,
                     evidence=ln["evidence"])

        edit_json(pack / "documents" / "certificates" / "certificates.json", cert)
        edit_csv(pack / "documents" / "certificates" / "certificate_lines.csv",
                 lambda data: [x.update(pool_id=pool, project_id=project, period_start=start, period_end=end)
                               for x in data if x["pool_id"] == old and x["certificate_id"].endswith(ln["order_id"])])

    return tamper


def _served_order(pack: Path, method: str = "allocation") -> str:
    return next(r["order_id"] for r in rows(pack / "results" / "orders.csv")[1]
                if r["method"] == method and float(r["reps_t"]) > 0)


def with_new_digest(change: Callable[[Path], None]) -> Callable[[Path], None]:
    """An input change with the input SHA-256 in summary.json and the scheme information rewritten to match:
    only the re-performance can tell."""

    def tamper(pack: Path) -> None:
        summary = json.loads((pack / "results" / "summary.json").read_text())
        model = summary["settings"]["model"]
        way = next(k for k, v in input_digests(pack, model).items() if v == summary["input_sha256"])
        change(pack)
        summary["input_sha256"] = input_digests(pack, model)[way]
        (pack / "results" / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        edit_json(pack / "documents" / "disclosures" / "scheme.json",
                  lambda doc: doc["run"].update(input_sha256=summary["input_sha256"]))

    return tamper


def _delivery(method: str, date: str) -> Callable[[Path], None]:
    def change(pack: Path) -> None:
        oid = _served_order(pack, method)
        for f in (pack / "inputs" / "scenario" / "orders.csv", pack / "results" / "orders.csv"):
            edit_csv(f, lambda data: [r.update(delivery_date=date) for r in data if r["order_id"] == oid])

    return change


def _input_cell(table: str, key: str, value: str, col: str, new: str) -> Callable[[Path], None]:
    """inputs/<table> with ``col`` = ``new`` in the row whose ``key`` is ``value`` (results/projects.csv too,
    when it copies the column)."""
    def change(pack: Path) -> None:
        edit_csv(pack / "inputs" / table, lambda data: [r.update({col: new}) for r in data if r[key] == value])
        if table.endswith("projects.csv"):
            edit_csv(pack / "results" / "projects.csv",
                     lambda data: [r.update({col: new}) for r in data if r[key] == value])

    return change


def line_raised(pack: Path) -> None:
    """5,000 t-CO2e more on a line of a pool already fully used, with its order and the pool's use to agree."""
    res = pack / "results"
    full = {r["pool_id"] for r in rows(res / "pools.csv")[1] if float(r["remaining_t"]) < 1e-6}
    fields, lines = rows(res / "allocations.csv")
    ln = next(r for r in lines if r["pool_id"] in full and r["method"] == "mass_balance")
    _add(ln, "reps_t", 5000.0)
    write_rows(res / "allocations.csv", fields, lines)

    def order(data: list[dict[str, str]]) -> None:
        for r in data:
            if r["order_id"] == ln["order_id"]:
                _add(r, "reps_t", 5000.0)
                _add(r, "cap_t", 5000.0)

    edit_csv(res / "orders.csv", order)

    def use(data: list[dict[str, str]]) -> None:
        for r in data:
            if r["pool_id"] == ln["pool_id"]:
                for c in ("used_run_t", "used_t", "used_mass_balance_t"):
                    _add(r, c, 5000.0)
                _add(r, "remaining_t", -5000.0)

    edit_csv(res / "pools.csv", use)


def pool_balance_changed(pack: Path) -> None:
    edit_csv(pack / "results" / "pools.csv", lambda data: [
        (_add(r, "remaining_t", 1000.0), _add(r, "used_t", -1000.0)) for r in data
        if r["pool_id"] == "MN-EAF-CONV@2026-03-31"])


def pool_reps_raised(pack: Path) -> None:
    edit_csv(pack / "results" / "pools.csv", lambda data: [
        (_add(r, "reps_t", 10000.0), _add(r, "remaining_t", 10000.0)) for r in data
        if r["pool_id"] == "MN-EAF-CONV@2026-03-31"])


def order_claimed_cfp(pack: Path) -> None:
    oid = _served_order(pack, "mass_balance")
    edit_csv(pack / "results" / "orders.csv",
             lambda data: [_add(r, "claimed_cfp", -0.1) for r in data if r["order_id"] == oid])


def summary_claims(pack: Path) -> None:
    """Buyers said to claim 100,000 t-CO2e more in summary.json (and the margin to agree)."""
    f = pack / "results" / "summary.json"
    summary = json.loads(f.read_text())
    summary["claims"]["claims_t"] += 1e5
    summary["claims"]["claims_margin_t"] += 1e5
    f.write_text(json.dumps(summary, indent=2) + "\n")


def delivery_outside_in_results(pack: Path) -> None:
    """The delivery date moved outside the operational period in results/orders.csv only."""
    oid = _served_order(pack)
    edit_csv(pack / "results" / "orders.csv",
             lambda data: [r.update(delivery_date="2027-06-30") for r in data if r["order_id"] == oid])


def general_cfp_lowered(pack: Path) -> None:
    """NS-PL-B2 (blast-furnace plate, General CFP 2.318) at 1.9 in the results (products and orders)."""
    for f in ("products.csv", "orders.csv"):
        edit_csv(pack / "results" / f, lambda data: [r.update(general_cfp="1.9") for r in data
                                                      if r["product_id"] == "NS-PL-B2"])


def cap_raised(pack: Path) -> None:
    """The mass-balance cap of a served product raised 1 t-CO2e/t above scope 1 + 2 + rep_term (7.3.2), in the
    products and in every mass-balance order of it."""
    k = next(r["product_id"] for r in rows(pack / "results" / "orders.csv")[1]
             if r["method"] == "mass_balance" and float(r["reps_t"]) > 0)
    edit_csv(pack / "results" / "products.csv",
             lambda data: [_add(r, "mb_cap_cfp", 1.0) for r in data if r["product_id"] == k])

    def orders(data: list[dict[str, str]]) -> None:
        for r in data:
            if r["product_id"] == k and r["method"] == "mass_balance":
                _add(r, "cap_per_t", 1.0)
                r["cap_t"] = repr(float(r["cap_per_t"]) * float(r["tonnage_t"]))

    edit_csv(pack / "results" / "orders.csv", orders)


def certificate_claimed_cfp(pack: Path) -> None:
    """A reduction certificate's claimed CFP lowered by 0.1, in certificates.json and its CSV twin."""
    cdir = pack / "documents" / "certificates"
    doc = json.loads((cdir / "certificates.json").read_text())
    c = next(c for c in doc["certificates"] if c["method"] == "mass_balance")
    c["claimed_cfp"] -= 0.1
    (cdir / "certificates.json").write_text(json.dumps(doc, indent=2) + "\n")
    edit_csv(cdir / "certificates.csv", lambda data: [_add(r, "claimed_cfp", -0.1) for r in data
                                                      if r["certificate_id"] == c["certificate_id"]])


def pact_pcf(pack: Path) -> None:
    """A v2.3 footprint's PCF value set to 0.5 kg CO2e/kg, in its file and in the collection."""
    pdir = pack / "documents" / "pact"
    f = min((pdir / "v2.3").glob("*.json"))
    fp = json.loads(f.read_text())
    for k in ("pCfExcludingBiogenic", "pCfIncludingBiogenic", "fossilGhgEmissions"):
        fp["pcf"][k] = "0.5"
    f.write_text(json.dumps(fp, indent=2) + "\n")
    edit_json(pdir / "footprints-v2.3.json",
              lambda doc: doc.update(data=[fp if x["id"] == fp["id"] else x for x in doc["data"]]))


def disclosure_reps(pack: Path) -> None:
    """The 6.2.3 disclosure states 1,000 t-CO2e more for one calculation period (and its balance)."""
    def change(doc: dict[str, Any]) -> None:
        r = next(r for r in doc["projects"] if r["pool_id"] == "HG-BF1-HBI@2026-03-31")
        r["reps_t"] += 1000
        r["remaining_t"] += 1000

    edit_json(pack / "documents" / "disclosures" / "projects.json", change)


def disclosure_not_ended(pack: Path) -> None:
    """The 6.2.3 disclosure lists the REPs of HG-PP-BIOMASS for 2026-04-01..2026-09-30, not ended at as_of."""
    def change(doc: dict[str, Any]) -> None:
        r = dict(next(r for r in doc["projects"] if r["pool_id"] == "HG-PP-BIOMASS@2026-03-31"))
        r.update(pool_id="HG-PP-BIOMASS@2026-09-30", period_start="2026-04-01", period_end="2026-09-30",
                 period_reps_t=99541.0, reps_t=99541.0, in_cfps_t=0.0, used_t=0.0, remaining_t=99541.0)
        doc["projects"].append(r)
        doc["not_ended"] = [x for x in doc.get("not_ended", []) if x["pool_id"] != r["pool_id"]]

    edit_json(pack / "documents" / "disclosures" / "projects.json", change)


def input_only(pack: Path) -> None:
    """An input file changed with results left as they were: only the input SHA-256 can tell (a product's name
    enters no number)."""
    edit_csv(pack / "inputs" / "model" / "products.csv",
             lambda data: data[0].update(name=data[0]["name"] + " (renamed)"))


TAMPERS = {  # name: (tamper, [(check, words of the failed rule)])
    "line_to_external_certificate": (
        move_line("HG-OXY-NFC", "HG-OXY-NFC@2026-03-31", "2025-04-01", "2026-03-31", "CO2", "mass_balance"),
        [("allocation_lines", "an external certificate is never counted as REPs (6.3)")]),
    "line_to_pool_not_ended": (
        move_line("HG-PP-BIOMASS", "HG-PP-BIOMASS@2026-09-30", "2026-04-01", "2026-09-30", "GHG", "mass_balance"),
        [("allocation_lines", "calculation period had not ended by as_of")]),
    "line_to_not_additional_project": (
        move_line("NS-BF2-H2", "NS-BF2-H2@2026-03-31", "2025-10-01", "2026-03-31", "CO2", "mass_balance"),
        [("allocation_lines", "no additionality test passed (6.2.1.2)")]),
    "line_not_physically_connected": (
        move_line("MN-EAF-CONV", "MN-EAF-CONV@2026-03-31", "2025-04-01", "2026-03-31", "GHG", "mass_balance",
                  connected=False),
        [("allocation_lines", "not physically connected to the product (6.7, 7.2.3, 8.2.4)"),
         ("physical_connection", "is not an edge of inputs/model/edges.csv")]),
    "line_of_another_gas": (
        move_line("HG-PP-BIOMASS", "HG-PP-BIOMASS@2026-03-31", "2025-10-01", "2026-03-31", "GHG", "allocation",
                  order_gas=("CO2",)),
        [("allocation_lines", "gas type differs from what the order asks for (7.3.1)")]),
    "allocation_outside_the_cfp_period": (
        move_line("HG-BF1-HBI", "HG-BF1-HBI@2025-03-31", "2024-10-01", "2025-03-31", "CO2", "allocation"),
        [("allocation_lines", "no day inside the product's CFP data period (8.2.2)"),
         ("pool_use", "a pool is overdrawn")]),
    "delivery_outside_operational_period": (
        with_new_digest(_delivery("allocation", "2027-06-30")),
        [("allocation_lines", "delivered outside the operational period (8.2.3)")]),
    "delivery_after_expiry": (
        with_new_digest(_delivery("mass_balance", "2029-06-30")),
        [("allocation_lines", "expired before the delivery or the run date (7.2.2)")]),
    "verification_withdrawn_in_inputs": (
        with_new_digest(_input_cell("scenario/projects.csv", "project_id", "HG-SP-BIOCHAR", "verified", "false")),
        [("allocation_lines", "not verified by a third party (6.8)"),
         ("eligibility", "results/pools.csv departs from the pool facts of the inputs")]),
    "unit_not_steel_in_inputs": (
        with_new_digest(_input_cell("model/nodes.csv", "node_id", "HG_SP", "steel", "false")),
        [("allocation_lines", "unit HG_SP is not a steel operation (6.2.1.1)")]),
    "pool_overdrawn": (line_raised, [("pool_use", "a pool is overdrawn"), ("orders", "more REPs than its cap")]),
    "pool_balance_changed": (pool_balance_changed, [("pool_use", "remaining_t departs from the account")]),
    "pool_reps_raised": (pool_reps_raised, [("reps", "reps_t is not the recomputed REPs after netting")]),
    "order_claimed_cfp": (order_claimed_cfp, [("orders", "claimed_cfp is not basis - REPs per t (7.3.3)")]),
    "summary_claims_total": (
        summary_claims, [("claims", "summary.json claims departs from the recomputed claims identity")]),
    "delivery_moved_in_results": (
        delivery_outside_in_results, [("orders", "copies other order facts than inputs/scenario/orders.csv")]),
    "general_cfp_2.318_to_1.9": (
        general_cfp_lowered, [("products", "general_cfp is not the General CFP of inputs/model/products.csv")]),
    "mb_cap_above_scope_1_2": (
        cap_raised, [("products", "mb_cap_cfp is not scope 1 + scope 2 + rep_term (7.3.2)"),
                     ("orders", "cap_per_t is not scope 1 + scope 2 + rep_term (7.3.2)")]),
    "certificate_claimed_cfp": (
        certificate_claimed_cfp, [("certificates", "claimed_cfp is not the recomputed one")]),
    "pact_pcf": (pact_pcf, [("pact", "pCfExcludingBiogenic is not the certificate's")]),
    "disclosure_period_reps": (
        disclosure_reps, [("disclosures", "states other REPs per calculation period than the recomputed pools")]),
    "disclosure_period_not_ended": (
        disclosure_not_ended, [("disclosures", "lists REPs of a calculation period that had not ended by as_of")]),
    "input_changed_alone": (input_only, [("inputs", "the SHA-256 of inputs/ differs")]),
}


@pytest.mark.parametrize("manifest", ["stale manifest", "manifest rewritten"])
@pytest.mark.parametrize("name", list(TAMPERS))
def test_every_tampered_pack_fails_with_the_rule(fy26: Path, name: str, manifest: str) -> None:
    tamper, expected = TAMPERS[name]
    before = {f.relative_to(fy26).as_posix(): f.read_bytes() for f in fy26.rglob("*") if f.is_file()}
    tamper(fy26)
    changed = sorted(p for p, b in before.items() if (fy26 / p).read_bytes() != b)
    assert changed, "the tamper changed nothing"
    if manifest == "manifest rewritten":
        rewrite_manifest(fy26)
    out = recheck(fy26)
    assert out.returncode == 1, out.stdout + out.stderr
    for check, words in expected:
        assert failed_rule(out.stdout, check, words), f"{check}: {words!r} not reported\n{out.stdout}"
    if manifest == "stale manifest":
        assert out.stdout.startswith("FAIL manifest"), out.stdout
        manifest_lines = out.stdout.split("\n       - ")[1]
        assert all(p in out.stdout for p in changed), (changed, manifest_lines)
    else:
        assert out.stdout.startswith("ok   manifest"), out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("SOME CHECKS FAILED")
    results = json.loads((fy26 / "recheck_results.json").read_text())
    assert results["ok"]  # the result as written stays what it was; the re-run is what counts


def test_the_tampers_start_from_a_passing_pack(fy26: Path) -> None:
    out = recheck(fy26)
    assert out.returncode == 0, out.stdout + out.stderr
    for _tamper, expected in TAMPERS.values():
        for check, _words in expected:
            assert f"ok   {check}:" in out.stdout


def test_an_edited_or_added_file_fails_the_manifest_check(fy26: Path) -> None:
    (fy26 / "README.md").write_text((fy26 / "README.md").read_text() + "\nAll numbers verified.\n")
    (fy26 / "results" / "notes.txt").write_text("added later\n")
    (fy26 / "calculations" / "claims.csv").unlink()
    out = recheck(fy26)
    assert out.returncode == 1
    assert failed_rule(out.stdout, "manifest", "a file differs from its SHA-256") and "README.md" in out.stdout
    assert failed_rule(out.stdout, "manifest", "not listed in MANIFEST.sha256") and "results/notes.txt" in out.stdout
    assert failed_rule(out.stdout, "manifest", "listed in MANIFEST.sha256 is missing")
    assert "calculations/claims.csv" in out.stdout
    # every other check still runs and passes: the numbers did not change
    assert out.stdout.count("\nok   ") == len(json.loads((fy26 / "recheck_results.json").read_text())["checks"]) - 1
    (fy26 / "MANIFEST.sha256").unlink()
    out = recheck(fy26)
    assert out.returncode == 1 and failed_rule(out.stdout, "manifest", "MANIFEST.sha256 is missing")


def test_many_ids_are_counted_not_all_listed(fy26: Path) -> None:
    """One line per failed rule: at most ten ids, then the count of the rest."""
    edit_csv(fy26 / "inputs" / "model" / "products.csv", lambda data: [_add(r, "scope1", 0.01) for r in data])
    out = recheck(fy26)
    assert out.returncode == 1
    line = next(x for x in out.stdout.splitlines() if "mb_cap_cfp is not scope 1 + scope 2" in x)
    assert "[27]" in line and line.endswith("(and 17 more)")


# --------------------------------------------------------------------------------- untampered packs pass


@pytest.mark.parametrize("name", SHIPPED)
def test_untampered_packs_of_the_shipped_scenarios_pass(pack_of: Callable[[str], Path], name: str,
                                                        tmp_path: Path) -> None:
    pack = tmp_path / "verifier-pack"
    shutil.copytree(pack_of(name), pack)
    out = recheck(pack)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.rstrip().splitlines()[-1].startswith("all checks passed")
    results = json.loads((pack / "recheck_results.json").read_text())
    assert results["ok"] and not results["failed"]
    printed = [x.split()[1].rstrip(":") for x in out.stdout.splitlines() if x.startswith("ok   ")]
    assert printed == list(results["checks"]), "recheck_results.json and the printed checks are in sync"
    for check in ("manifest", "inputs", "reps", "eligibility", "physical_connection", "products", "allocation_lines",
                  "pool_use", "orders", "claims", "certificates", "pact", "disclosures"):
        assert results["checks"][check]["rows"] > 0 or check == "pact", check
    docs = {p.relative_to(pack).as_posix() for p in (pack / "documents").rglob("*.json")}
    assert {"documents/certificates/certificates.json", "documents/disclosures/projects.json",
            "documents/disclosures/three-cfps.json", "documents/disclosures/scheme.json"} <= docs
    listed = {x.split("  ", 1)[1] for x in (pack / "MANIFEST.sha256").read_text().splitlines()}
    assert listed == {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()} - {"MANIFEST.sha256"}


def test_ledger_pack_passes_and_its_certificates_are_checked_as_issued(ledger_pack: Path, tmp_path: Path) -> None:
    pack = tmp_path / "verifier-pack"
    shutil.copytree(ledger_pack, pack)
    out = recheck(pack)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok   ledger:" in out.stdout and "ok   certificates:" in out.stdout
    f = pack / "documents" / "certificates" / "certificates.json"
    doc = json.loads(f.read_text())
    c = next(c for c in doc["certificates"] if c["status"] == "issued")
    c["reps_t"] += 10.0
    f.write_text(json.dumps(doc, indent=2) + "\n")
    rewrite_manifest(pack)
    out = recheck(pack)
    assert out.returncode == 1
    assert failed_rule(out.stdout, "certificates", "reps_t is not the ledger's as issued"), out.stdout
    assert c["certificate_id"] in out.stdout


# ------------------------------------------------------------------------------ parts of recheck/


@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_yaml_subset_reads_like_pyyaml(name: str) -> None:
    text = (REPO / "scenarios" / name / "scenario.yaml").read_text()
    assert parse_yaml(text) == _pyyaml(text)


def test_scenario_yaml_as_yaml_dump_writes_it() -> None:
    spec = {"model": "../model", "as_of": "2026-04-01", "allow_unverified": True,
            "operational_period": {"start": "2026-04-01", "end": "2027-03-31"},
            "mass_balance": {"expiry_years": 5, "justification": "x " * 60 + "it's long: and folded"},
            "name": "A: b", "description": None}
    text = yaml.safe_dump(spec, sort_keys=False)
    assert len(text.splitlines()) > 8  # the justification is folded over lines
    assert parse_yaml(text) == _pyyaml(text)
    assert parse_yaml("as_of: 2026-04-01  # run date\nname: 'it''s # not a comment'\n") == {
        "as_of": "2026-04-01", "name": "it's # not a comment"}
    with pytest.raises(ValueError, match="line 2"):
        parse_yaml("as_of: 2026-04-01\n- a list item\n")


def _pyyaml(text: str) -> Any:
    """PyYAML with dates kept as text, as gxopt reads scenario.yaml."""
    from gxopt.io import _TextDatesLoader

    return yaml.load(text, Loader=_TextDatesLoader)  # a safe loader


def test_input_digest_is_gxopt_s(pack_of: Callable[[str], Path]) -> None:
    """recheck/ reproduces gxopt's input_sha256 from the pack's inputs (the model line put back)."""
    for name in ("jisf-case-study", "jp-steel-fy2026"):
        pack = pack_of(name)
        summary = json.loads((pack / "results" / "summary.json").read_text())
        assert summary["input_sha256"] in input_digests(pack, summary["settings"]["model"]).values()
        assert summary["input_sha256"] not in input_digests(pack, "../../models/elsewhere").values()


@pytest.mark.parametrize("fmt", ["csv", "book", "xlsx", "parquet", "what-if"])
def test_input_digest_is_gxopt_s_in_every_format(fmt: str, tmp_path: Path) -> None:
    """recheck/ (standard library only) reproduces the input_sha256 gxopt records (gxopt/io.py::input_sha256)
    from a result folder's inputs/, whatever format the tables were read from, and for a what-if's kept copy."""
    from gxopt.whatif import whatif
    from tests.format_support import copy_as

    src = REPO / "scenarios" / "jisf-case-study"
    out = tmp_path / "result"
    if fmt == "what-if":
        whatif(src, {"orders": {"scale": [{"column": "premium", "factor": 2}]}}, out)
    else:
        gxopt.run(src if fmt == "csv" else copy_as(src, tmp_path / "base", fmt), out=out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input_sha256"] in input_digests(out, summary["settings"]["model"]).values()


def test_the_pack_s_recheck_imports_the_standard_library_only(pack_of: Callable[[str], Path]) -> None:
    """The pack holds every module of gxopt.report.recheck (source only) and they import nothing but the
    standard library and each other (relative imports), so plain Python runs them."""
    folder = pack_of("jisf-figure1") / "recheck"
    own = {f.stem for f in folder.iterdir()}
    assert own == {f.stem for f in Path(gxopt.report.recheck.__file__).parent.glob("*.py")}, "only the .py files"
    assert {"__init__", "__main__"} <= own
    outside = []
    for f in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:  # from .x import y / from . import x
                names = [node.module] if node.module else [a.name for a in node.names]
                outside += [f"{f.name}: .{n}" for n in names if node.level > 1 or n.split(".")[0] not in own]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                outside += [f"{f.name}: {n}" for n in names if n.split(".")[0] not in sys.stdlib_module_names]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                assert f.name == "__main__.py"  # imports the folder itself, by its name
    assert not outside, outside
