"""The ledger's certificates as the report's documents, for the service: the same :class:`Certificate` objects (the
numbers as issued, :func:`gxopt.report.ledger_view.ledger_certificates`) and the same PDF as ``gxopt report``."""

from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa

from gxopt.errors import InputError
from gxopt.io import input_digest
from gxopt.ledger.batch import booked
from gxopt.report.certificate import Certificate
from gxopt.report.certificate_pdf import write_pdf
from gxopt.report.issuer import Issuer
from gxopt.report.ledger_view import certificate_source, ledger_certificates
from gxopt.service.book import Book
from gxopt.settings import organization_code


class LedgerDocuments:
    """The certificates of one scenario's organization in one ledger, as documents."""

    def __init__(self, book: Book, engine: sa.Engine) -> None:
        self.book = book
        self.engine = engine
        s = book.scenario
        op = s.settings.operational_period
        # no run stands behind a certificate served alone: no claims sentence (a run states its claims)
        self.issuer = Issuer(s.model.meta.organization, organization_code(s.model.meta), s.model.meta.country,
                             op.start, op.end, input_digest(s), claims="")

    def certificates(self, conn: sa.Connection, only: set[str] | None = None) -> list[Certificate]:
        """The ledger's certificates of this organization (``only`` these ids, if given) as the report reads them;
        the run tables it needs (pools' sites and gases, products' facts, orders' delivery dates) are the book's,
        which follow from the scenario and the orders booked through the service."""
        result = self.book.result
        assert result is not None  # Book solves the book when it is made
        s = self.book.scenario
        tables = {"pools": result.pools, "products": result.results.products,
                  "orders": pd.concat([s.orders, booked(conn, s.orders.columns)], ignore_index=True)}
        led = certificate_source(conn, self.engine.url.render_as_string(hide_password=True), only)
        try:
            return ledger_certificates(led, s, tables, [], only=only)
        except InputError:  # the ledger holds certificates of another organization only
            return []

    def pdf(self, certificate_id: str) -> bytes | None:
        """The certificate's PDF, exactly as ``gxopt report`` writes it; None when the ledger has no such
        certificate of this organization."""
        with self.engine.connect() as conn:
            found = next(iter(self.certificates(conn, only={certificate_id})), None)
        if found is None:
            return None
        out = io.BytesIO()
        write_pdf(self.issuer, found, out)
        return out.getvalue()
