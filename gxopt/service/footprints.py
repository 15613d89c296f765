"""The ledger's certificates as WBCSD PACT ProductFootprints (v2.3 and v3.0) for the PACT host API (issue #13).

The documents are the report's (:func:`gxopt.report.pact.v2` / :func:`~gxopt.report.pact.v3` of the ledger's
certificates as :func:`gxopt.report.ledger_view.ledger_certificates` reads them), so a buyer finds the same id and
the same numbers in the report's files and over the API: under GX Allocation the PCF is the Allocated CFP with
General and Residual CFP in the GX extension (8.1.1, 8.3.3, 8.5); under GX Mass Balance it is the basis CFP, the
REPs travel in the extension (7.1, 7.3.3).

A footprint never changes once made (PACT lifecycle): it is built from the certificate *as issued*. Voiding the
certificate only marks its footprint ``Deprecated`` (same id and content; in v2.3 also ``statusComment`` with the
void reason and ``updated`` = voided_at - v3.0 has neither field). A certificate issued later for the same order
(a re-issue after a void) gets its own footprint whose ``precedingPfIds`` names the footprints of that order's
earlier, voided certificates (v2.3 ids in the v2.3 document, v3.0 ids in the v3.0 one).

Two differences from the report's files, both because a served footprint must not change with the open book:
the report's run-level sentence on claims against actual emissions (which a run, not a certificate, states) is
left out of ``allocationRulesDescription``; and the report leaves void certificates out, the service serves
them as ``Deprecated``.

Certificates without a footprint: those of another organization code, and those of a product the plant model does
not know (no CFP data to state - the report gives them none either).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gxopt.report import pact
from gxopt.report.certificate import Certificate
from gxopt.report.pact_extension import schema_url
from gxopt.ledger import journal
from gxopt.ledger.tables import certificates
from gxopt.service.book import Book
from gxopt.service.documents import LedgerDocuments


@dataclass(frozen=True)
class Footprint:
    """One certificate's footprint: ``id`` is the v3.0 document's id (``v2["id"]`` is the v2.3 one, as in the
    report's files); ``v2`` / ``v3`` are the complete documents as served."""

    id: str
    certificate_id: str
    customer: str
    order_id: str
    status: str  # Active | Deprecated
    updated: str | None  # when it was deprecated (the void), else None
    v2: dict[str, Any]
    v3: dict[str, Any]


class FootprintStore:
    """Every footprint of the ledger's certificates of this organization, rebuilt only when the journal moved (a
    batch or a void; holds and bookings leave certificates as they are)."""

    def __init__(self, book: Book, engine: sa.Engine, *, base_url: str | None = None,
                 documents: LedgerDocuments | None = None) -> None:
        """``base_url``: where the GX extension's schema is published (``gxopt report --pact-base-url``);
        ``documents``: the app's, when it has them already."""
        self.book = book
        self.engine = engine
        self.schema = schema_url(base_url)
        self.documents = documents or LedgerDocuments(book, engine)
        self._lock = threading.Lock()
        # a certificate's documents as issued never change: built once per certificate (None: it gets no footprint)
        self._issued: dict[str, _Issued | None] = {}
        self._made: dict[str, tuple[tuple[object, ...], Footprint]] = {}  # what a void or a re-issue changed
        self._built: _Built | None = None

    def _current(self) -> _Built:
        with self.engine.connect() as conn:
            version = journal.head(conn)  # certificates change only with journal entries (issue, void)
            built = self._built
            if built is not None and built.version == version:
                return built
            with self._lock:
                built = self._built
                if built is None or built.version != version:
                    found = self._build(conn)
                    by_customer: dict[str, list[Footprint]] = {}
                    for f in found:
                        by_customer.setdefault(f.customer, []).append(f)
                    built = self._built = _Built(version, found, {d["id"]: f for f in found for d in (f.v2, f.v3)},
                                                 by_customer)
        return built

    def all(self) -> list[Footprint]:
        """Every footprint, in the order their certificates were issued (then by certificate id)."""
        return list(self._current().all)

    def get(self, pf_id: str) -> Footprint | None:
        """The footprint whose v3.0 or v2.3 document has id ``pf_id``, else None."""
        return self._current().by_id.get(pf_id)

    def of_customer(self, customer: str) -> list[Footprint]:
        """The footprints of ``customer``'s certificates (what that customer's PACT client may see)."""
        return list(self._current().by_customer.get(customer, ()))

    def _build(self, conn: sa.Connection) -> list[Footprint]:
        """Every footprint now: documents of new certificates built, a status or predecessor applied where a void
        changed them, everything else as it was."""
        t = certificates
        rows = conn.execute(sa.select(t.c.certificate_id, t.c.order_id, t.c.status, t.c.issued_at, t.c.voided_at,
                                      t.c.void_reason)).all()
        new = {r.certificate_id for r in rows} - self._issued.keys()
        if new:
            for c in self.documents.certificates(conn, only=new):
                self._issued[c.certificate_id] = self._as_issued(c) if c.product.get("known") else None
            for cid in new:
                self._issued.setdefault(cid, None)  # another organization's certificate
        voided: dict[str, list[Footprint]] = {}  # order id -> its earlier voided certificates' footprints
        out = []
        for r in sorted(rows, key=lambda r: (str(r.issued_at), r.certificate_id)):
            base = self._issued[r.certificate_id]
            if base is None:
                continue
            preceding = voided.get(r.order_id, [])
            key = (r.status, r.voided_at, r.void_reason, tuple(p.id for p in preceding))
            made = self._made.get(r.certificate_id)
            if made is None or made[0] != key:
                made = self._made[r.certificate_id] = (key, self._footprint(base, r, preceding))
            if r.status == "void":
                voided.setdefault(r.order_id, []).append(made[1])
            out.append(made[1])
        return out

    def _as_issued(self, c: Certificate) -> _Issued:
        as_issued = dataclasses.replace(c, status="issued", voided_at="", void_reason="")
        return _Issued(c.customer, pact.v2(self.documents.issuer, as_issued, None, self.schema),
                       pact.v3(self.documents.issuer, as_issued, None, self.schema))

    def _footprint(self, base: _Issued, r: sa.Row[Any], preceding: list[Footprint]) -> Footprint:
        d2, d3 = base.v2, base.v3  # shared with the cache: every change below makes a new dict
        if preceding:
            d2 = _with(d2, "specVersion", precedingPfIds=[p.v2["id"] for p in preceding])
            d3 = _with(d3, "specVersion", precedingPfIds=[p.v3["id"] for p in preceding])
        updated = None
        if r.status == "void":
            updated = pact.utc(r.voided_at)
            d2 = _with(d2, "created", updated=updated) | {"status": "Deprecated"}
            d3 = d3 | {"status": "Deprecated"}
            d2 = _with(d2, "status", statusComment=f"Certificate {r.certificate_id} was voided on {updated}: "
                                                   f"{r.void_reason}")
        return Footprint(d3["id"], r.certificate_id, base.customer, r.order_id, d3["status"], updated, d2, d3)


@dataclass(frozen=True)
class _Issued:
    """A certificate's footprint documents as issued (they never change) and its customer."""

    customer: str
    v2: dict[str, Any]
    v3: dict[str, Any]


@dataclass(frozen=True)
class _Built:
    """The footprints at one journal head, indexed by document id and by customer."""

    version: tuple[int, str]
    all: list[Footprint]
    by_id: dict[str, Footprint]
    by_customer: dict[str, list[Footprint]]


def _with(doc: dict[str, Any], after: str, **fields: Any) -> dict[str, Any]:
    """``doc`` with ``fields`` placed right after key ``after`` (the schema's field order)."""
    out: dict[str, Any] = {}
    for k, v in doc.items():
        out[k] = v
        if k == after:
            out.update(fields)
    return out
