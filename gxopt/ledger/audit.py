"""Audit of the ledger: hash chain, balances against the journal, certificates against their journal entries;
and the export a verifier re-performs the numbers from (CSV files, no gxopt needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from gxopt.resultdir import write_results
from gxopt.ledger import certificates as certs
from gxopt.ledger import journal as jr
from gxopt.ledger.tables import G_PER_T, attribute_transfers, certificate_lines, certificates, journal, pool_balance


def audit(conn: sa.Connection) -> list[str]:
    """Every problem found in the stored ledger (empty = intact)."""
    chain = jr.verify_chain(conn)
    problems = list(chain.problems)
    derived = jr.derived_balances(conn)
    stored = {r["pool_id"]: dict(r) for r in conn.execute(sa.select(pool_balance)).mappings()}
    for pool_id in sorted(set(derived) | set(stored)):
        d, s = derived.get(pool_id), stored.get(pool_id)
        if d is None or s is None or any(d[k] != s[k] for k in d):
            problems.append(f"pool {pool_id}: stored balance {_fmt(s)} differs from the journal's {_fmt(d)}")
    issue_entries: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(sa.select(journal).where(journal.c.kind == "issue",
                                                    journal.c.certificate_id.is_not(None))).mappings():
        issue_entries.setdefault(r["certificate_id"], []).append(dict(r) | {"meta": json.loads(r["meta"])})
    lines: dict[str, list[dict[str, Any]]] = {}
    for r in conn.execute(sa.select(certificate_lines)).mappings():
        lines.setdefault(r["certificate_id"], []).append(dict(r))
    for c in conn.execute(sa.select(certificates).order_by(certificates.c.certificate_id)).mappings():
        cid = c["certificate_id"]
        entries = issue_entries.pop(cid, [])
        ls = lines.get(cid, [])
        if not entries:
            problems.append(f"certificate {cid}: no issue entry in the journal")
            continue
        if certs.digest(dict(c), ls) != entries[0]["meta"].get("certificate_digest"):
            problems.append(f"certificate {cid}: its stored content or lines differ from what was issued")
        if sum(x["reps_g"] for x in ls) != c["reps_g"] or sorted(
                (e["pool_id"], e["amount_g"]) for e in entries) != sorted((x["pool_id"], x["reps_g"]) for x in ls):
            problems.append(f"certificate {cid}: lines do not match its journal entries")
    for cid in issue_entries:
        problems.append(f"certificate {cid}: issued in the journal but missing from the certificates table")
    return problems


def _fmt(b: dict[str, Any] | None) -> str:
    if b is None:
        return "(none)"
    return "remaining {:,.6f} t".format(b["remaining_g"] / G_PER_T)


def export(conn: sa.Connection, out: str | Path) -> dict[str, Any]:
    """Write journal, balances, certificates, certificate_lines, attribute_transfers and reconciliation."""
    j = pd.read_sql(sa.select(journal).order_by(journal.c.seq), conn)
    j["amount_t"] = j["amount_g"] / G_PER_T
    derived = jr.derived_balances(conn)
    bal = pd.DataFrame([{"pool_id": p, **v} for p, v in sorted(derived.items())],
                       columns=["pool_id", "credited_g", "adjusted_g", "issued_g", "reversed_g", "expired_g",
                                "remaining_g"])
    balances = pd.DataFrame({
        "pool_id": bal["pool_id"],
        "credited_t": (bal["credited_g"] + bal["adjusted_g"]) / G_PER_T,
        "issued_t": bal["issued_g"] / G_PER_T, "reversed_t": bal["reversed_g"] / G_PER_T,
        "expired_t": bal["expired_g"] / G_PER_T, "remaining_t": bal["remaining_g"] / G_PER_T})
    # credited = issued - reversed + expired + remaining, exactly, in grams
    balances["reconciles"] = (bal["credited_g"] + bal["adjusted_g"]) == (
        bal["issued_g"] - bal["reversed_g"] + bal["expired_g"] + bal["remaining_g"])
    c = pd.read_sql(sa.select(certificates).order_by(certificates.c.certificate_id), conn)
    c["reps_t"] = c["reps_g"] / G_PER_T
    cert_cols = ["certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_t",
                 "general_cfp", "residual_cfp", "allocated_cfp", "basis_cfp", "claimed_cfp", "alpha", "gx_tonnage_t",
                 "status", "batch_id", "issued_at", "voided_at", "void_reason"]
    ln = pd.read_sql(sa.select(certificate_lines).order_by(certificate_lines.c.certificate_id,
                                                           certificate_lines.c.line_no), conn)
    ln["reps_t"] = ln["reps_g"] / G_PER_T
    tr = pd.read_sql(sa.select(attribute_transfers).order_by(attribute_transfers.c.transfer_id), conn)
    tr["reps_t"] = tr["reps_g"] / G_PER_T
    problems = audit(conn)
    summary = {"kind": "gxopt ledger export", "journal_entries": int(len(j)),
               "journal_head": jr.head(conn)[1], "pools": int(len(balances)),
               "certificates": int(len(c)), "all_pools_reconcile": bool(balances["reconciles"].all()),
               "audit_problems": problems}
    write_results({"journal": j, "balances": balances, "certificates": c[cert_cols],
                   "certificate_lines": ln[["certificate_id", "line_no", "project_id", "period_end", "pool_id", "gas",
                                            "reps_t", "evidence"]],
                   "attribute_transfers": tr}, summary, out)
    return summary
