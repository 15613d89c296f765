"""What the API routes and the pages both show, read from the book and the ledger."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from gxopt.ledger import actions
from gxopt.ledger.audit import audit
from gxopt.ledger.journal import verify_chain
from gxopt.ledger.tables import G_PER_T, batches
from gxopt.ledger.tables import booked_orders as booked_t
from gxopt.ledger.tables import certificates as certs_t
from gxopt.ledger.tables import holds as holds_t
from gxopt.quote import QuoteRequest
from gxopt.service.book import Book
from gxopt.service.models import ActionOut, Availability, BatchOut, CertificateOut, HoldOut, VerifyOut


def availability(book: Book, delivery: dt.date | None) -> list[Availability]:
    """Per product and method: the GX tonnage that can still be promised at the full GX level."""
    quoter = book.current()
    when = delivery or book.scenario.settings.as_of
    out = []
    for product in quoter.products.index:
        for method in ("mass_balance", "allocation"):
            q = quoter.quote(QuoteRequest(str(product), method, when))
            out.append(Availability(product_id=str(product), method=method, gx_tonnage_t=q.gx_tonnage_t,
                                    reps_t=q.reps_t, reps_per_t=q.reps_per_t, binding=q.binding))
    return out


def certificates(engine: sa.Engine, status: str | None = None) -> list[CertificateOut]:
    """Every certificate in the ledger (or only those of ``status``), by id."""
    with engine.connect() as conn:
        q = sa.select(certs_t).order_by(certs_t.c.certificate_id)
        if status:
            q = q.where(certs_t.c.status == status)
        return [certificate_out(r) for r in conn.execute(q).mappings()]


def ledger_check(engine: sa.Engine) -> VerifyOut:
    """``gxopt ledger verify``: hash chain, balances against the journal, certificates against their entries."""
    with engine.connect() as conn:
        problems = audit(conn)
        chain = verify_chain(conn)
    return VerifyOut(ok=not problems, problems=problems, journal_entries=chain.entries, journal_head=chain.head_hash)


def certificate_out(r: Any, lines: list[dict[str, Any]] | None = None) -> CertificateOut:
    """A ledger certificate row (and its lines) as the API answers it."""
    return CertificateOut(
        certificate_id=r["certificate_id"], order_id=r["order_id"], method=r["method"], customer=r["customer"],
        product_id=r["product_id"], tonnage_t=r["tonnage_t"], reps_t=r["reps_g"] / G_PER_T,
        general_cfp=r["general_cfp"], basis_cfp=r["basis_cfp"], claimed_cfp=r["claimed_cfp"],
        allocated_cfp=r["allocated_cfp"], gx_tonnage_t=r["gx_tonnage_t"], status=r["status"],
        issued_at=r["issued_at"], lines=lines)


def holds_out(conn: sa.Connection, *where: sa.ColumnElement[bool]) -> list[HoldOut]:
    """The holds matching ``where``, by id, as the API answers them (with the order booked from each), in one
    query."""
    q = (sa.select(holds_t, booked_t.c.order_id.label("booked_order"))
         .select_from(holds_t.outerjoin(booked_t, booked_t.c.hold_id == holds_t.c.hold_id))
         .where(*where).order_by(holds_t.c.hold_id))
    return [HoldOut(hold_id=r.hold_id, product_id=r.product_id, method=r.method, customer=r.customer,
                    tonnage_t=r.tonnage_t, reps_t=r.reps_g / G_PER_T, expires=r.expires_on, status=r.status,
                    created_by=r.created_by, booked_order=r.booked_order) for r in conn.execute(q)]


def hold_out(conn: sa.Connection, hold_id: str) -> HoldOut:
    """One hold as the API answers it."""
    return holds_out(conn, holds_t.c.hold_id == hold_id)[0]


def action_log(engine: sa.Engine, limit: int) -> list[ActionOut]:
    """Who did what, the newest ``limit`` actions first."""
    with engine.connect() as conn:
        return [ActionOut(**{k: r[k] for k in ActionOut.model_fields}) for r in actions.listing(conn, limit)]


def batch_runs(engine: sa.Engine, limit: int) -> list[BatchOut]:
    """The newest ``limit`` batch runs with their summaries, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(batches).order_by(batches.c.finished_at.desc()).limit(limit)).mappings().all()
    return [BatchOut(**{k: r[k] for k in BatchOut.model_fields if k != "summary"}, summary=json.loads(r["summary"]))
            for r in rows]
