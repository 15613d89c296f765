"""The open order book as the ledger sees it, solved once and kept with its quoter; re-solved when the ledger
changed (a batch, a hold, a booking, a void — also by another process)."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from gxopt.ledger.batch import open_book
from gxopt.ledger.tables import holds, journal_head
from gxopt.pipeline import RunResult, load, run
from gxopt.quote import Quoter
from gxopt.reps import compute_pools


def ledger_version(conn: sa.Connection) -> tuple[object, ...]:
    """What changes whenever the REPs anyone may promise change: the journal head and the holds (one statement:
    it is read before every quote)."""
    n_holds = sa.select(sa.func.count()).select_from(holds).scalar_subquery()
    n_active = sa.select(sa.func.count()).select_from(holds).where(holds.c.status == "active").scalar_subquery()
    head_seq = sa.select(journal_head.c.seq).where(journal_head.c.id == 1).scalar_subquery()
    head_hash = sa.select(journal_head.c.hash).where(journal_head.c.id == 1).scalar_subquery()
    return tuple(conn.execute(sa.select(head_seq, head_hash, n_holds, n_active)).one())


class Book:
    """One scenario's book against one ledger; :meth:`current` is the quoter of the ledger as it is now."""

    def __init__(self, scenario: str | Path, engine: sa.Engine) -> None:
        self.scenario = load(scenario)
        self.pools_now = compute_pools(self.scenario)
        self.products = list(self.scenario.model.products["product_id"])  # fixed for the life of the service
        self.engine = engine
        self._lock = threading.Lock()
        self.version: tuple[object, ...] | None = None
        self.result: RunResult | None = None
        self.quoter: Quoter | None = None
        self.solves = 0
        self.current()

    def current(self, conn: sa.Connection | None = None) -> Quoter:
        """The quoter of the ledger as it is now, re-solving the book first if the ledger changed.

        Inside a write transaction pass its connection: the book is then read exactly as that transaction sees
        the ledger (holding the ledger's writer lock, nobody else can change it before it commits).
        """
        if conn is None:
            with self.engine.connect() as own:
                return self.current(own)
        version = ledger_version(conn)
        if version == self.version and self.quoter is not None:
            return self.quoter
        with self._lock:
            if version != self.version or self.quoter is None:
                self.result = run(open_book(conn, self.scenario, self.pools_now)[0])
                self.quoter = Quoter(self.result)
                self.version = version
                self.solves += 1
            return self.quoter
