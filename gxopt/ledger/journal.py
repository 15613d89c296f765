"""The append-only, hash-chained journal and the balances derived from it.

Every entry carries ``hash = sha256(prev_hash | canonical JSON of its content)``; the newest hash is also
kept as the ``journal_head`` counter, so deleting the newest rows is caught as well as editing any row.
Appending an entry updates ``pool_balance`` in the same transaction; its CHECK constraints make the
database refuse a negative balance (the transaction then rolls back whole).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gxopt.ledger.canonical import canonical, sha256
from gxopt.ledger.db import LedgerError, bulk_insert, now
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
    """Append one entry and apply it to the pool's balance; return its entry id (see :func:`append_many`)."""
    return append_many(conn, [Entry(kind, amount_g, pool_id, batch_id, certificate_id, reason, meta)])[0]


@dataclass(frozen=True)
class Entry:
    """One journal entry to append: ``amount_g`` is the size of the movement (positive; ``adjust`` may be
    negative)."""

    kind: str
    amount_g: int
    pool_id: str | None = None
    batch_id: str | None = None
    certificate_id: str | None = None
    reason: str | None = None
    meta: dict[str, Any] | None = None


def append_many(conn: sa.Connection, entries: list[Entry]) -> list[str]:
    """Append ``entries`` in order as one stretch of the chain and apply them to the pools' balances.

    The rows are chained here (each hash over the one before), written in bulk with their sequence numbers,
    and each pool's balance is moved once by the sum of its entries, so the database's CHECK constraints
    judge the pool's final balance (entries of one call never raise a balance they later need). Raises
    :class:`LedgerError` when the database refuses a balance change; the caller's transaction then rolls back.
    """
    for e in entries:
        if e.kind != "adjust" and e.amount_g < 0:
            msg = f"{e.kind} amount must not be negative"
            raise LedgerError(msg)
    if not entries:
        return []
    seq, prev = head(conn)
    created = now()
    rows = []
    ids = _entry_ids(len(entries))
    for e, entry_id in zip(entries, ids, strict=True):
        seq += 1
        row = {"seq": seq, "entry_id": entry_id, "created_at": created, "batch_id": e.batch_id,
               "kind": e.kind, "pool_id": e.pool_id, "amount_g": int(e.amount_g), "certificate_id": e.certificate_id,
               "reason": e.reason, "meta": canonical(e.meta or {}), "prev_hash": prev}
        row["hash"] = prev = content_hash(prev, row)
        rows.append(row)
    bulk_insert(conn, journal, rows)
    if conn.dialect.name == "postgresql":  # rows carry their seq; the sequence must not hand them out again
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('journal', 'seq'), :s)"), {"s": seq})
    moves: dict[str, dict[str, int]] = {}
    for e in entries:
        if e.kind in BALANCE_COLUMN:
            m = moves.setdefault(str(e.pool_id), {})
            m[BALANCE_COLUMN[e.kind]] = m.get(BALANCE_COLUMN[e.kind], 0) + int(e.amount_g)
            m["remaining_g"] = m.get("remaining_g", 0) + SIGN[e.kind] * int(e.amount_g)
    for pool_id, m in sorted(moves.items()):
        try:
            with conn.begin_nested():
                res = conn.execute(sa.update(pool_balance).where(pool_balance.c.pool_id == pool_id).values(
                    {col: pool_balance.c[col] + v for col, v in m.items()}))
        except sa.exc.IntegrityError as exc:
            kinds = sorted({e.kind for e in entries if e.pool_id == pool_id})
            msg = (f"the database refused {'/'.join(kinds)} of {abs(m['remaining_g']) / 1e6:,.6f} t-CO2e on pool "
                   f"{pool_id}: a pool balance may never go negative ({str(exc.orig).splitlines()[0]})")
            raise LedgerError(msg) from None
        if res.rowcount != 1:
            msg = f"pool {pool_id} has no balance row"
            raise LedgerError(msg)
    _set_head(conn, seq, prev)
    return [r["entry_id"] for r in rows]


def _entry_ids(n: int) -> list[str]:
    """``n`` random version-4 UUIDs as hex, from one read of the system's random source (one read per id
    cost more than the hashing of a large batch)."""
    raw = os.urandom(16 * n)
    return [uuid.UUID(bytes=raw[16 * i:16 * i + 16], version=4).hex for i in range(n)]


def _set_head(conn: sa.Connection, seq: int, value: str) -> None:
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
