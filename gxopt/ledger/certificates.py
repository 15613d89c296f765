"""Certificates: numbering, issuing from a solved allocation, voiding, and downstream attribute transfers.

A certificate is bound to one order and product (7.5): it is never moved to another. Its content digest is
written into the journal when it is issued, so any later edit of the certificate row is detected.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from gxopt.ledger import journal as jr
from gxopt.ledger.canonical import canonical, sha256
from gxopt.ledger.db import LedgerError, now
from gxopt.ledger.tables import G_PER_T, attribute_transfers, certificate_lines, certificates, counters, pool_balance

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
    name = f"certificate:{org_code}:{year}"
    row = conn.execute(sa.select(counters.c.value).where(counters.c.name == name)).first()
    value = (int(row.value) if row else 0) + 1
    if row:
        conn.execute(sa.update(counters).where(counters.c.name == name).values(value=value))
    else:
        conn.execute(sa.insert(counters).values(name=name, value=value))
    return f"GX-{org_code}-{year}-{value:06d}"


MIN_LINE_G = 1_000  # 1 kg CO2e: smaller lines are rounding dust, never issued


def to_grams(allocations: pd.DataFrame, remaining_g: dict[str, int]) -> pd.DataFrame:
    """Certificate lines in whole grams: each line rounded down, then clipped so no pool is overdrawn.

    Lines under :data:`MIN_LINE_G` are rounding dust from earlier floors and are not issued (so a rerun
    never turns the grams left behind into a new certificate).
    """
    al = allocations.copy()
    al["reps_g"] = (al["reps_t"] * G_PER_T).astype("float64").apply(lambda v: int(v // 1))
    for pool_id, rows in al.groupby("pool_id"):
        excess = int(rows["reps_g"].sum()) - int(remaining_g.get(pool_id, 0))
        for idx in rows.index[::-1]:
            if excess <= 0:
                break
            cut = min(excess, int(al.at[idx, "reps_g"]))
            al.at[idx, "reps_g"] -= cut
            excess -= cut
    return al[al["reps_g"] >= MIN_LINE_G]


def issue(conn: sa.Connection, *, org_code: str, year: int, batch_id: str, order: dict[str, Any],
          lines: pd.DataFrame) -> str:
    """Write one certificate, its lines and one ``issue`` journal entry per line; return its id."""
    cid = next_certificate_id(conn, org_code, year)
    issued_at = now()
    cert = {"certificate_id": cid, "order_id": order["order_id"], "method": order["method"],
            "customer": order["customer"], "product_id": order["product_id"], "tonnage_t": float(order["tonnage_t"]),
            "reps_g": int(lines["reps_g"].sum()), "general_cfp": float(order["general_cfp"]),
            "residual_cfp": _opt(order["residual_cfp"]), "allocated_cfp": _opt(order["allocated_cfp"]),
            "alpha": float(order["alpha"]), "gx_tonnage_t": float(order["gx_tonnage_t"]), "batch_id": batch_id,
            "issued_at": issued_at}
    # basis and claimed CFP per t (7.3.3, 8.1.1): from the run's orders table when it has them
    cert |= {k: _opt(order.get(k)) for k in OPTIONAL_CERT_FIELDS}
    line_rows = [{"certificate_id": cid, "line_no": i + 1, "pool_id": r.pool_id, "project_id": r.project_id,
                  "period_end": pd.Timestamp(r.period_end).date(), "gas": r.gas, "reps_g": int(r.reps_g),
                  "evidence": r.evidence} for i, r in enumerate(lines.itertuples())]
    conn.execute(sa.insert(certificates).values(**cert, status="issued"))
    conn.execute(sa.insert(certificate_lines), line_rows)
    d = digest(cert, line_rows)
    for ln in line_rows:
        jr.append(conn, "issue", ln["reps_g"], pool_id=ln["pool_id"], batch_id=batch_id, certificate_id=cid,
                  meta={"order_id": cert["order_id"], "line_no": ln["line_no"], "certificate_digest": d})
    return cid


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
