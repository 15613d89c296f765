"""Certificates: numbering, issuing from a solved allocation, voiding, and downstream attribute transfers.

A certificate is bound to one order and product (7.5): it is never moved to another. Its content digest is
written into the journal when it is issued, so any later edit of the certificate row is detected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from gxopt.ledger import journal as jr
from gxopt.ledger.canonical import canonical, sha256
from gxopt.ledger.db import LedgerError, bulk_insert, now
from gxopt.ledger.tables import G_PER_T, attribute_transfers, certificate_lines, certificates, counters, pool_balance
from gxopt.reps import DUST_T

CERT_FIELDS = ("certificate_id", "order_id", "method", "customer", "product_id", "tonnage_t", "reps_g", "general_cfp",
               "residual_cfp", "allocated_cfp", "alpha", "gx_tonnage_t", "batch_id", "issued_at")
# Stated since revision 0003; part of the digest only when present, so certificates issued before (NULL) keep
# the digest written into their issue entries.
OPTIONAL_CERT_FIELDS = ("basis_cfp", "claimed_cfp")
LINE_FIELDS = ("line_no", "pool_id", "project_id", "period_end", "gas", "reps_g", "evidence")


def digest(cert: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """SHA-256 over a certificate's issued content and its lines (status fields excluded).

    :data:`OPTIONAL_CERT_FIELDS` count only when not None: a certificate without them has the same digest
    as before they existed.
    """
    content = {k: cert.get(k) for k in CERT_FIELDS}
    content |= {k: cert[k] for k in OPTIONAL_CERT_FIELDS if cert.get(k) is not None}
    body = {"certificate": content,
            "lines": [{k: ln.get(k) for k in LINE_FIELDS} for ln in sorted(lines, key=lambda x: x["line_no"])]}
    return sha256(canonical(body))


def next_certificate_id(conn: sa.Connection, org_code: str, year: int) -> str:
    """Next id ``GX-<org>-<year>-<000001>``; the counter moves inside the caller's transaction."""
    return next_certificate_ids(conn, org_code, year, 1)[0]


def next_certificate_ids(conn: sa.Connection, org_code: str, year: int, n: int) -> list[str]:
    """The next ``n`` ids ``GX-<org>-<year>-<000001>`` in one move of the counter (inside the caller's transaction)."""
    name = f"certificate:{org_code}:{year}"
    row = conn.execute(sa.select(counters.c.value).where(counters.c.name == name)).first()
    first = (int(row.value) if row else 0) + 1
    if row:
        conn.execute(sa.update(counters).where(counters.c.name == name).values(value=first + n - 1))
    else:
        conn.execute(sa.insert(counters).values(name=name, value=first + n - 1))
    return [f"GX-{org_code}-{year}-{v:06d}" for v in range(first, first + n)]


MIN_LINE_G = round(DUST_T * G_PER_T)  # 1 kg CO2e: smaller lines are rounding dust, never issued


def to_grams(allocations: pd.DataFrame, remaining_g: dict[str, int]) -> pd.DataFrame:
    """Certificate lines in whole grams: each line rounded down, then clipped so no pool is overdrawn.

    Clipping takes from a pool's last lines first. Lines under :data:`MIN_LINE_G` are rounding dust from
    earlier floors and are not issued (so a rerun never turns the grams left behind into a new certificate).
    """
    al = allocations.copy()
    grams = np.floor(al["reps_t"].to_numpy(float) * G_PER_T).astype(np.int64)
    pool = al["pool_id"].to_numpy(object)
    names, code = np.unique(pool, return_inverse=True) if len(al) else (np.zeros(0, object), np.zeros(0, np.int64))
    code = code.ravel()
    room = np.array([int(remaining_g.get(p, 0)) for p in names], dtype=np.int64)
    order = np.lexsort((-np.arange(len(al)), code))  # per pool, its last line first
    g = grams[order]
    c = code[order]
    before = np.cumsum(g) - g  # grams of the pool's later lines, counted from its last line back
    starts = np.r_[True, c[1:] != c[:-1]] if len(c) else np.zeros(0, bool)
    before -= np.maximum.accumulate(np.where(starts, before, 0))
    excess = np.maximum(np.bincount(code, weights=grams, minlength=len(names)).astype(np.int64) - room, 0)
    cut = np.clip(excess[c] - before, 0, g)
    kept = np.empty_like(grams)
    kept[order] = g - cut
    al["reps_g"] = kept
    return al[kept >= MIN_LINE_G]


def issue(conn: sa.Connection, *, org_code: str, year: int, batch_id: str, order: dict[str, Any],
          lines: pd.DataFrame) -> str:
    """Write one certificate, its lines and one ``issue`` journal entry per line; return its id."""
    return issue_many(conn, org_code=org_code, year=year, batch_id=batch_id, orders=[order],
                      lines=lines.assign(order_id=order["order_id"]))[0]


def issue_many(conn: sa.Connection, *, org_code: str, year: int, batch_id: str, orders: list[dict[str, Any]],
               lines: pd.DataFrame) -> list[str]:
    """Write one certificate per order (in the given order), its lines and one ``issue`` entry per line, in bulk.

    ``lines`` has ``order_id, pool_id, project_id, period_end, gas, reps_g, evidence``; each certificate takes
    its order's lines in their row order. Every certificate's content digest goes into its issue entries.
    """
    if not orders:
        return []
    ids = next_certificate_ids(conn, org_code, year, len(orders))
    issued_at = now()
    by_order = lines.groupby("order_id", sort=False).indices
    cols = {c: lines[c].to_numpy(object) for c in ("pool_id", "project_id", "gas", "evidence")}
    reps_g = lines["reps_g"].to_numpy(np.int64)
    period_end = pd.to_datetime(lines["period_end"]).dt.date.to_numpy(object)
    cert_rows, line_rows, entries = [], [], []
    for cid, order in zip(ids, orders, strict=True):
        idx = by_order[order["order_id"]]
        cert = {"certificate_id": cid, "order_id": order["order_id"], "method": order["method"],
                "customer": order["customer"], "product_id": order["product_id"],
                "tonnage_t": float(order["tonnage_t"]), "reps_g": int(reps_g[idx].sum()),
                "general_cfp": float(order["general_cfp"]), "residual_cfp": _opt(order["residual_cfp"]),
                "allocated_cfp": _opt(order["allocated_cfp"]), "alpha": float(order["alpha"]),
                "gx_tonnage_t": float(order["gx_tonnage_t"]), "batch_id": batch_id, "issued_at": issued_at}
        # basis and claimed CFP per t (7.3.3, 8.1.1): from the run's orders table when it has them
        cert |= {k: _opt(order.get(k)) for k in OPTIONAL_CERT_FIELDS}
        mine = [{"certificate_id": cid, "line_no": n + 1, "pool_id": cols["pool_id"][i],
                 "project_id": cols["project_id"][i], "period_end": period_end[i], "gas": cols["gas"][i],
                 "reps_g": int(reps_g[i]), "evidence": cols["evidence"][i]} for n, i in enumerate(idx)]
        d = digest(cert, mine)
        entries += [jr.Entry("issue", ln["reps_g"], ln["pool_id"], batch_id, cid,
                             meta={"order_id": cert["order_id"], "line_no": ln["line_no"], "certificate_digest": d})
                    for ln in mine]
        cert_rows.append(cert | {"status": "issued"})
        line_rows += mine
    bulk_insert(conn, certificates, cert_rows)
    bulk_insert(conn, certificate_lines, line_rows)
    jr.append_many(conn, entries)
    return ids


def _opt(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def void(conn: sa.Connection, certificate_id: str, reason: str) -> int:
    """Void an issued certificate: its REPs return to their pools by ``reverse`` entries; return grams returned."""
    if not reason.strip():
        msg = "a reason is required to void a certificate"
        raise LedgerError(msg)
    cert = conn.execute(sa.select(certificates).where(certificates.c.certificate_id == certificate_id)).mappings().first()
    if cert is None:
        msg = f"no certificate {certificate_id}"
        raise LedgerError(msg)
    if cert["status"] != "issued":
        msg = f"certificate {certificate_id} is already {cert['status']}"
        raise LedgerError(msg)
    passed_on = conn.execute(sa.select(sa.func.count()).select_from(attribute_transfers).where(
        attribute_transfers.c.certificate_id == certificate_id)).scalar_one()
    if passed_on:
        msg = (f"certificate {certificate_id} has {passed_on} attribute transfer(s) downstream (7.5); "
               "it cannot be voided while customers hold attributes from it")
        raise LedgerError(msg)
    total = 0
    for ln in conn.execute(sa.select(certificate_lines).where(
            certificate_lines.c.certificate_id == certificate_id).order_by(certificate_lines.c.line_no)).mappings():
        jr.append(conn, "reverse", ln["reps_g"], pool_id=ln["pool_id"], certificate_id=certificate_id, reason=reason,
                  meta={"order_id": cert["order_id"], "line_no": ln["line_no"]})
        total += ln["reps_g"]
    conn.execute(sa.update(certificates).where(certificates.c.certificate_id == certificate_id).values(
        status="void", voided_at=now(), void_reason=reason))
    return total


def transfer(conn: sa.Connection, certificate_id: str, to_customer: str, reps_t: float,
             from_transfer: str | None = None) -> str:
    """Record a customer's attribute certificate for a secondary customer (7.5); return the transfer id.

    Only reduction certificates (GX Mass Balance) carry attributes that can be passed on: under GX Allocation
    the Allocated CFP is embodied in the product without passing through reduction certificates (8.5), so a
    CFP certificate is refused. The total passed on from a certificate (or from an earlier transfer, for
    chains further down) never exceeds what it holds.
    """
    cert = conn.execute(sa.select(certificates).where(certificates.c.certificate_id == certificate_id)).mappings().first()
    if cert is None or cert["status"] != "issued":
        msg = f"no issued certificate {certificate_id}"
        raise LedgerError(msg)
    if cert["method"] == "allocation":
        msg = (f"{certificate_id} is a CFP certificate (GX Allocation): its Allocated CFP is embodied in the product, "
               "not a reduction certificate, so no attributes can be passed on (7.5, 8.5)")
        raise LedgerError(msg)
    amount = int(round(reps_t * G_PER_T))
    if amount <= 0:
        msg = "--reps must be positive"
        raise LedgerError(msg)
    if from_transfer:
        parent = conn.execute(sa.select(attribute_transfers).where(
            attribute_transfers.c.transfer_id == from_transfer)).mappings().first()
        if parent is None or parent["certificate_id"] != certificate_id:
            msg = f"no transfer {from_transfer} under certificate {certificate_id}"
            raise LedgerError(msg)
        limit, holder = int(parent["reps_g"]), parent["to_customer"]
        siblings = attribute_transfers.c.parent_transfer_id == from_transfer
    else:
        limit, holder = int(cert["reps_g"]), cert["customer"]
        siblings = (attribute_transfers.c.certificate_id == certificate_id) & attribute_transfers.c.parent_transfer_id.is_(None)
    passed = int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(attribute_transfers.c.reps_g), 0)).where(
        siblings)).scalar_one())
    if passed + amount > limit:
        msg = (f"{holder} holds {limit / G_PER_T:,.6f} t-CO2e of attributes from {from_transfer or certificate_id} and "
               f"has passed on {passed / G_PER_T:,.6f}; {reps_t:,.6f} more would exceed it (7.5)")
        raise LedgerError(msg)
    n = conn.execute(sa.select(sa.func.count()).select_from(attribute_transfers).where(
        attribute_transfers.c.certificate_id == certificate_id)).scalar_one()
    tid = f"{certificate_id}-A{n + 1:03d}"
    conn.execute(sa.insert(attribute_transfers).values(
        transfer_id=tid, certificate_id=certificate_id, parent_transfer_id=from_transfer, from_customer=holder,
        to_customer=to_customer, reps_g=amount, created_at=now()))
    jr.append(conn, "attribute", amount, certificate_id=certificate_id,
              meta={"transfer_id": tid, "parent_transfer_id": from_transfer, "from": holder, "to": to_customer})
    return tid


def remaining_by_pool(conn: sa.Connection) -> dict[str, int]:
    """Current remaining grams per pool."""
    return {r.pool_id: int(r.remaining_g) for r in conn.execute(sa.select(pool_balance.c.pool_id,
                                                                         pool_balance.c.remaining_g))}
