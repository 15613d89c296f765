"""The append-only, hash-chained journal and the balances derived from it.

Every entry carries ``hash = sha256(prev_hash | canonical JSON of its content)``; the newest hash is also
kept as the ``journal_head`` counter, so deleting the newest rows is caught as well as editing any row.
Appending an entry updates ``pool_balance`` in the same transaction; its CHECK constraints make the
database refuse a negative balance (the transaction then rolls back whole).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gxopt.ledger.canonical import canonical, sha256
from gxopt.ledger.db import LedgerError, now
from gxopt.ledger.tables import journal, journal_head, pool_balance

GENESIS = "0" * 64
BALANCE_COLUMN = {"credit": "credited_g", "adjust": "adjusted_g", "issue": "issued_g", "reverse": "reversed_g",
                  "expire": "expired_g"}
SIGN = {"credit": 1, "adjust": 1, "issue": -1, "reverse": 1, "expire": -1, "attribute": 0}


def content_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """Hash of one entry: the previous hash and the canonical JSON of the entry's content columns."""
    body = {k: row.get(k) for k in ("entry_id", "created_at", "batch_id", "kind", "pool_id", "amount_g",
                                    "certificate_id", "reason", "meta")}
    return sha256(prev_hash + "|" + canonical(body))


def head(conn: sa.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest journal entry, or (0, GENESIS) for an empty journal."""
    row = conn.execute(sa.select(journal.c.seq, journal.c.hash).order_by(journal.c.seq.desc()).limit(1)).first()
    return (int(row.seq), row.hash) if row else (0, GENESIS)


def append(conn: sa.Connection, kind: str, amount_g: int, *, pool_id: str | None = None, batch_id: str | None = None,
           certificate_id: str | None = None, reason: str | None = None, meta: dict[str, Any] | None = None) -> str:
    """Append one entry and apply it to the pool's balance; return its entry id.

    ``amount_g`` is the size of the movement (positive; ``adjust`` may be negative). Raises
    :class:`LedgerError` when the database refuses the balance change.
    """
    if kind != "adjust" and amount_g < 0:
        msg = f"{kind} amount must not be negative"
        raise LedgerError(msg)
    _, prev = head(conn)
    row = {"entry_id": uuid.uuid4().hex, "created_at": now(), "batch_id": batch_id, "kind": kind, "pool_id": pool_id,
           "amount_g": int(amount_g), "certificate_id": certificate_id, "reason": reason,
           "meta": canonical(meta or {})}
    row["prev_hash"] = prev
    row["hash"] = content_hash(prev, row)
    conn.execute(sa.insert(journal).values(**row))
    if kind in BALANCE_COLUMN:
        col = BALANCE_COLUMN[kind]
        try:
            with conn.begin_nested():
                res = conn.execute(sa.update(pool_balance).where(pool_balance.c.pool_id == pool_id).values(
                    {col: pool_balance.c[col] + int(amount_g),
                     "remaining_g": pool_balance.c.remaining_g + SIGN[kind] * int(amount_g)}))
        except sa.exc.IntegrityError as exc:
            msg = (f"the database refused {kind} of {amount_g / 1e6:,.6f} t-CO2e on pool {pool_id}: "
                   f"a pool balance may never go negative ({str(exc.orig).splitlines()[0]})")
            raise LedgerError(msg) from None
        if res.rowcount != 1:
            msg = f"pool {pool_id} has no balance row"
            raise LedgerError(msg)
    _set_head(conn, row["hash"])
    return row["entry_id"]


def _set_head(conn: sa.Connection, value: str) -> None:
    seq, _ = head(conn)
    if conn.execute(sa.update(journal_head).where(journal_head.c.id == 1).values(seq=seq, hash=value)).rowcount == 0:
        conn.execute(sa.insert(journal_head).values(id=1, seq=seq, hash=value))


@dataclass(frozen=True)
class ChainReport:
    """Outcome of :func:`verify_chain`: empty ``problems`` means the journal is intact."""

    entries: int
    head_hash: str
    problems: list[str]


def verify_chain(conn: sa.Connection) -> ChainReport:
    """Walk the journal in order and recompute every hash; name the first bad entry and every mismatch."""
    # seq values may have gaps (a rolled-back transaction consumes PostgreSQL sequence numbers); deletions
    # are caught by the hash links and the head record, not by counting.
    problems: list[str] = []
    prev = GENESIS
    n = 0
    last = 0
    for r in conn.execute(sa.select(journal).order_by(journal.c.seq)).mappings():
        n += 1
        last = r["seq"]
        if r["prev_hash"] != prev:
            problems.append(f"journal entry seq {r['seq']} ({r['entry_id']}): prev_hash does not match the entry "
                            "before it: an entry was deleted or edited")
        if content_hash(r["prev_hash"], dict(r)) != r["hash"]:
            problems.append(f"journal entry seq {r['seq']} ({r['entry_id']}, {r['kind']}): content does not match "
                            "its hash: the row was edited")
        prev = r["hash"]
        if problems:
            break
    stored = conn.execute(sa.select(journal_head.c.seq, journal_head.c.hash)).first()
    if not problems:
        if stored is None and n:
            problems.append("the journal head record is missing")
        elif stored is not None and (stored.hash != prev or int(stored.seq) != last):
            problems.append(f"the journal ends at entry seq {last} (hash {prev[:12]}), but the head record says "
                            f"seq {stored.seq} (hash {stored.hash[:12]}): the newest entries were deleted")
    return ChainReport(n, prev, problems)


def derived_balances(conn: sa.Connection) -> dict[str, dict[str, int]]:
    """Per pool, the sums of each kind recomputed from the journal alone."""
    out: dict[str, dict[str, int]] = {}
    q = sa.select(journal.c.pool_id, journal.c.kind, sa.func.sum(journal.c.amount_g)).where(
        journal.c.pool_id.is_not(None)).group_by(journal.c.pool_id, journal.c.kind)
    for pool_id, kind, total in conn.execute(q):
        out.setdefault(pool_id, {c: 0 for c in BALANCE_COLUMN.values()})[BALANCE_COLUMN[kind]] = int(total)
    for b in out.values():
        b["remaining_g"] = b["credited_g"] + b["adjusted_g"] - b["issued_g"] + b["reversed_g"] - b["expired_g"]
    return out
