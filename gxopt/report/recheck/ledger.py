"""Check 12: the ledger export: hash chain and head, pool balances against the journal, certificate digests
and lines (the same hashes as ``gxopt/ledger/canonical.py``)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .values import Found, jsonl, read

GENESIS = "0" * 64


def entry_hash(prev: str, row: dict[str, Any]) -> str:
    """The journal's hash: sha256(prev_hash | canonical JSON of the entry's content)."""
    body = {k: row.get(k) for k in ("entry_id", "created_at", "batch_id", "kind", "pool_id", "amount_g",
                                    "certificate_id", "reason", "meta")}
    return hashlib.sha256((prev + "|" + json.dumps(body, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()


CERT_FIELDS = ("certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_g", "general_cfp",
               "residual_cfp", "allocated_cfp", "alpha", "gx_tonnage_t", "batch_id", "issued_at")
OPTIONAL_CERT_FIELDS = ("basis_cfp", "claimed_cfp")  # stated since ledger revision 0003; counted when present
LINE_FIELDS = ("line_no", "pool_id", "project_id", "period_end", "gas", "reps_g", "evidence")


def certificate_digest(cert: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """SHA-256 over a certificate's issued content and lines (as written into its issue entries); the basis
    and claimed CFP count only when the certificate states them (older certificates keep their digest)."""
    content = {k: cert.get(k) for k in CERT_FIELDS}
    content.update({k: cert[k] for k in OPTIONAL_CERT_FIELDS if cert.get(k) is not None})
    body = {"certificate": content,
            "lines": [{k: ln.get(k) for k in LINE_FIELDS} for ln in sorted(lines, key=lambda x: x["line_no"])]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def ledger_checks(pack: Path) -> tuple[list[dict[str, Any]], Found] | None:
    """Hash chain, head, balances, reconciliation, certificate digests; None when the pack has no ledger."""
    led = pack / "ledger"
    if not (led / "journal.jsonl").is_file():
        return None
    journal = jsonl(led / "journal.jsonl")
    f = Found()
    prev = GENESIS
    for e in journal:
        if e["prev_hash"] != prev:
            f.add("a journal entry's prev_hash does not match the entry before it (entries removed or reordered)",
                  f"seq {e['seq']}")
        if entry_hash(e["prev_hash"], e) != e["hash"]:
            f.add("a journal entry's content does not match its hash (edited)", f"seq {e['seq']}",
                  "content does not match its hash")
        prev = e["hash"]
    head = json.loads((led / "head.json").read_text(encoding="utf-8")) if (led / "head.json").is_file() else {}
    if head and head.get("hash") != (journal[-1]["hash"] if journal else GENESIS):
        f.add("the journal head does not match the last entry: entries were deleted", "head.json")
    col = {"credit": "credited_g", "adjust": "adjusted_g", "issue": "issued_g", "reverse": "reversed_g",
           "expire": "expired_g"}
    derived: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(col.values(), 0))
    for e in journal:
        if e["pool_id"] and e["kind"] in col:
            derived[e["pool_id"]][col[e["kind"]]] += int(e["amount_g"])
    rows = []
    stored = {b["pool_id"]: b for b in read(led / "pool_balance.csv")}
    for pid in sorted(set(derived) | set(stored)):
        d = derived[pid]
        remaining = d["credited_g"] + d["adjusted_g"] - d["issued_g"] + d["reversed_g"] - d["expired_g"]
        s = stored.get(pid)
        same = s is not None and all(int(s[k]) == v for k, v in d.items()) and int(s["remaining_g"]) == remaining
        if not same:
            f.add("a pool's stored balance differs from the journal", pid)
        if remaining < 0:
            f.add("a pool's ledger balance is negative", pid, f"{remaining} g")
        rows.append({"pool_id": pid, **d, "remaining_g": remaining, "stored_matches_journal": same,
                     "reconciles": d["credited_g"] + d["adjusted_g"]
                     == d["issued_g"] - d["reversed_g"] + d["expired_g"] + remaining})
    certs = jsonl(led / "certificates.jsonl")
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ln in jsonl(led / "certificate_lines.jsonl"):
        lines[ln["certificate_id"]].append(ln)
    issues: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in journal:
        if e["kind"] == "issue" and e.get("certificate_id"):
            issues[e["certificate_id"]].append(e)
    for c in certs:
        cid = c["certificate_id"]
        ent = issues.get(cid, [])
        ls = lines.get(cid, [])
        if not ent:
            f.add("a certificate has no issue entry in the journal", cid)
            continue
        if certificate_digest(c, ls) != json.loads(ent[0]["meta"]).get("certificate_digest"):
            f.add("a certificate's content differs from what was issued (digest)", cid)
        if sum(int(x["reps_g"]) for x in ls) != int(c["reps_g"]) or sorted(
                (e["pool_id"], int(e["amount_g"])) for e in ent) != sorted((x["pool_id"], int(x["reps_g"])) for x in ls):
            f.add("a certificate's lines do not match its issue entries", cid)
    return rows, f
