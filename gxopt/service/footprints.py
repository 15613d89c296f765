"""The PACT footprints a ``gxopt serve`` hosts (STAND-IN until branch pact-data lands): one ProductFootprint per
issued certificate of a product with CFP data, in the v2.3 and v3.0 field sets of :mod:`gxopt.report.pact`,
rebuilt when the ledger changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gxopt.service.book import Book, ledger_version


@dataclass(frozen=True)
class Footprint:
    """One certificate's footprint as served."""

    id: str
    certificate_id: str
    customer: str
    order_id: str
    status: str  # "Active" | "Deprecated"
    updated: str | None
    v2: dict[str, Any]
    v3: dict[str, Any]


class FootprintStore:
    """The footprints of the ledger as it is now (stable order: by certificate id)."""

    def __init__(self, book: Book, engine: sa.Engine) -> None:
        self.book, self.engine = book, engine
        self._lock = threading.Lock()
        self._version: tuple[object, ...] | None = None
        self._all: list[Footprint] = []
        self._by_id: dict[str, Footprint] = {}
        self._tables: dict[str, Any] | None = None
        self._summary: dict[str, Any] = {}

    def all(self) -> list[Footprint]:
        """Every footprint, rebuilt only when the ledger changed."""
        with self.engine.connect() as conn:
            version = ledger_version(conn)
        if version != self._version:
            with self._lock:
                if version != self._version:
                    self._all = self._build()
                    self._by_id = {f.id: f for f in self._all}
                    self._version = version
        return self._all

    def get(self, pf_id: str) -> Footprint | None:
        """The footprint ``pf_id`` or None."""
        self.all()
        return self._by_id.get(pf_id)

    def of_customer(self, customer: str) -> list[Footprint]:
        """The footprints of ``customer``'s certificates."""
        return [f for f in self.all() if f.customer == customer]

    def _build(self) -> list[Footprint]:
        from gxopt.pipeline import run
        from gxopt.report import pact
        from gxopt.report.data import ReportData, _add_names
        from gxopt.report.ledger_view import ledger_certificates, read_ledger

        s = self.book.scenario
        if self._tables is None:  # the scenario's run: the product facts every certificate refers to
            res = run(s)
            self._tables, self._summary = res.results.tables(), res.summary
            _add_names(self._tables, s)
        led = read_ledger(self.engine.url.render_as_string(hide_password=False))
        notes: list[str] = []
        certs = ledger_certificates(led, s, self._tables, notes)
        data = ReportData(Path("."), self._summary, s, self._tables, certs, led, notes)
        out = []
        for c in sorted(certs, key=lambda c: c.certificate_id):
            if c.status == "void" or not c.product.get("known"):
                continue
            d2, d3 = pact.v2(data, c), pact.v3(data, c)
            out.append(Footprint(d3["id"], c.certificate_id, c.customer, c.order_id, d3["status"], None, d2, d3))
        return out
