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

    def __init__(self, book: Book, engine: sa.Engine, *, base_url: str | None = None) -> None:
        """``base_url``: where the GX extension's schema is published (``gxopt report --pact-base-url``)."""
        self.book = book
        self.engine = engine
        self.schema = schema_url(base_url)
        self.documents = LedgerDocuments(book, engine)
        self.issuer = self.documents.issuer
        self._lock = threading.Lock()
        self._built: tuple[tuple[object, ...], list[Footprint], dict[str, Footprint]] | None = None

    def _current(self) -> tuple[list[Footprint], dict[str, Footprint]]:
        with self.engine.connect() as conn:
            version = journal.head(conn)  # certificates change only with journal entries (issue, void)
            built = self._built
            if built is not None and built[0] == version:
                return built[1], built[2]
            with self._lock:
                built = self._built
                if built is None or built[0] != version:
                    found = self._build(conn)
                    by_id = {d["id"]: f for f in found for d in (f.v2, f.v3)}
                    built = self._built = (version, found, by_id)
        return built[1], built[2]

    def all(self) -> list[Footprint]:
        """Every footprint, in the order their certificates were issued (then by certificate id)."""
        return list(self._current()[0])

    def get(self, pf_id: str) -> Footprint | None:
        """The footprint whose v3.0 or v2.3 document has id ``pf_id``, else None."""
        return self._current()[1].get(pf_id)

    def of_customer(self, customer: str) -> list[Footprint]:
        """The footprints of ``customer``'s certificates (what that customer's PACT client may see)."""
        return [f for f in self._current()[0] if f.customer == customer]

    def _build(self, conn: sa.Connection) -> list[Footprint]:
        certs = sorted(self.documents.certificates(conn), key=lambda c: (c.issued_at, c.certificate_id))
        voided: dict[str, list[Footprint]] = {}  # order id -> its earlier voided certificates' footprints
        out = []
        for c in certs:
            if not c.product.get("known"):
                continue
            f = self._footprint(c, voided.get(c.order_id, []))
            if c.status == "void":
                voided.setdefault(c.order_id, []).append(f)
            out.append(f)
        return out

    def _footprint(self, c: Certificate, preceding: list[Footprint]) -> Footprint:
        as_issued = dataclasses.replace(c, status="issued", voided_at="", void_reason="")
        d2 = pact.v2(self.issuer, as_issued, None, self.schema)
        d3 = pact.v3(self.issuer, as_issued, None, self.schema)
        if preceding:
            d2 = _with(d2, "specVersion", precedingPfIds=[p.v2["id"] for p in preceding])
            d3 = _with(d3, "specVersion", precedingPfIds=[p.v3["id"] for p in preceding])
        updated = None
        if c.status == "void":
            updated = pact.utc(c.voided_at)
            d2 = _with(d2, "created", updated=updated)
            d2["status"] = d3["status"] = "Deprecated"
            d2 = _with(d2, "status", statusComment=f"Certificate {c.certificate_id} was voided on {updated}: "
                                                   f"{c.void_reason}")
        return Footprint(d3["id"], c.certificate_id, c.customer, c.order_id, d3["status"], updated, d2, d3)


def _with(doc: dict[str, Any], after: str, **fields: Any) -> dict[str, Any]:
    """``doc`` with ``fields`` placed right after key ``after`` (the schema's field order)."""
    out: dict[str, Any] = {}
    for k, v in doc.items():
        out[k] = v
        if k == after:
            out.update(fields)
    return out
