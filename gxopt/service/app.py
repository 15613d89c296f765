"""The routes of ``gxopt serve``; each declares the roles it serves (read by the role-matrix test)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from gxopt import __version__
from gxopt.errors import InputError
from gxopt.ledger import actions, holds
from gxopt.ledger.db import LedgerBusy, LedgerError, connect, writer
from gxopt.ledger.tables import G_PER_T
from gxopt.ledger.tables import certificate_lines as lines_t
from gxopt.ledger.tables import certificates as certs_t
from gxopt.ledger.tables import holds as holds_t
from gxopt.ledger.users import User
from gxopt.quote import Quote, QuoteRequest
from gxopt.service import admin, pages, queries
from gxopt.service.auth import TokenCache, allow
from gxopt.service.book import Book
from gxopt.service.documents import LedgerDocuments
from gxopt.service.models import (Availability, CertificateOut, Health, HoldBody, HoldOut, OrderBody, QuoteBody,
                                  VerifyOut, VoidBody, errors)
from gxopt.service.pact.events import Outbox
from gxopt.service.pact.routes import router as pact_router
from gxopt.service.pact.routes import warm
from gxopt.service.sessions import SESSION_COOKIE, SESSION_HOURS, session_secret
from gxopt.settings import organization_code

# how gxopt serve --workers N hands its arguments to each worker
ENV_SCENARIO, ENV_DB, ENV_WARM = "GXOPT_SERVE_SCENARIO", "GXOPT_SERVE_DB", "GXOPT_SERVE_WARM_PACT"
PLANNING = ("planner", "operator")
READING = ("operator", "auditor")


def create_app(scenario: str | Path, db: str, *, warm_pact: bool = False) -> FastAPI:
    """The application over ``scenario`` and the ledger at ``db`` (the book is solved here, once). ``warm_pact``:
    build the ledger's PACT footprints in the background as the app starts (``gxopt serve`` with TLS), so the
    first buyer's call does not wait for them."""
    engine = connect(db)
    outbox = Outbox(engine)  # answers to PACT requests, sent by a thread living as long as the app

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        outbox.start()
        if warm_pact:
            threading.Thread(target=warm, args=(_app,), name="pact-footprints", daemon=True).start()
        try:
            yield
        finally:
            outbox.stop()

    app = FastAPI(lifespan=lifespan, title="gxopt", version=__version__,
                  description="GX value (REPs) for sales planners, operators and auditors: JISF GX Steel Guidelines "
                              "v4.1.")
    app.state.outbox = outbox
    app.state.engine = engine
    app.state.tokens = TokenCache()
    app.state.book = Book(scenario, engine)
    documents = app.state.documents = LedgerDocuments(app.state.book, engine)  # for PDFs and PACT footprints
    app.add_middleware(SessionMiddleware, secret_key=session_secret(engine), session_cookie=SESSION_COOKIE,
                       max_age=SESSION_HOURS * 3600, same_site="strict")

    @app.exception_handler(InputError)
    def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": [
            {"loc": ["body", i.column or ""], "msg": i.rule + (f" ({i.clause})" if i.clause else ""),
             "input": i.value} for i in exc.issues]})

    @app.exception_handler(LedgerBusy)
    def _busy(_request: Request, exc: LedgerBusy) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(LedgerError)
    def _refused(_request: Request, exc: LedgerError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.get("/api/health", response_model=Health)
    def health() -> Health:
        """No token needed: is the service up, and on what."""
        book = app.state.book
        return Health(status="ok", version=__version__, scenario=book.scenario.name, as_of=book.scenario.settings.as_of,
                      book_solves=book.solves)

    def _request(body: QuoteBody) -> QuoteRequest:
        """The quote asked for, once its product is known (404 naming it otherwise)."""
        if body.product not in app.state.book.products:
            raise HTTPException(404, f"unknown product {body.product}")
        return QuoteRequest(body.product, body.method, body.delivery, body.customer, body.alpha, body.target_cfp,
                            body.reps_per_t, body.gas, body.keep)

    @app.get("/api/availability", response_model=list[Availability], responses=errors())
    def availability(user: Annotated[User, Depends(allow(*PLANNING))],
                     delivery: Annotated[dt.date | None, Query(description="delivery date (default: as of)")] = None,
                     ) -> list[Availability]:
        """Per product and method: the GX tonnage that can still be promised at the full GX level."""
        return queries.availability(app.state.book, delivery)

    @app.post("/api/quotes", response_model=Quote, responses=errors(404))
    def quote(body: QuoteBody, user: Annotated[User, Depends(allow(*PLANNING))]) -> Quote:
        """How many tonnes of GX steel can still be promised, the pools it would draw, and why not more."""
        return app.state.book.current().quote(_request(body))

    @app.post("/api/holds", response_model=HoldOut, status_code=201, responses=errors(404, 409, 503))
    def place_hold(body: HoldBody, user: Annotated[User, Depends(allow(*PLANNING))]) -> HoldOut:
        """Reserve a quote's REPs, decided inside the ledger's write transaction against every other hold."""
        req = _request(body)
        with writer(engine, f"hold by {user.name}") as conn:
            holds.lapse(conn)
            q = app.state.book.current(conn).quote(req)
            want = q.gx_tonnage_t if body.tonnage is None else body.tonnage
            if q.gx_tonnage_t <= 0 or want > q.gx_tonnage_t * (1 + 1e-9):
                raise HTTPException(409, {"reason": f"only {q.gx_tonnage_t:,.3f} t of {body.product} can be promised "
                                                    f"now, {want:,.3f} t were asked for", "available_t": q.gx_tonnage_t,
                                          "binding": q.binding})
            hold_id = holds.place(conn, q, req, body.days, organization_code(app.state.book.scenario.model.meta),
                                  body.tonnage, created_by=user.name)
            actions.record(conn, user.name, "hold", hold_id, body.model_dump(mode="json"))
            return queries.hold_out(conn, hold_id)

    @app.get("/api/holds", response_model=list[HoldOut], responses=errors())
    def list_holds(user: Annotated[User, Depends(allow(*PLANNING))]) -> list[HoldOut]:
        """Active holds: a planner's own, or everyone's for an operator."""
        mine = () if user.role == "operator" else (holds_t.c.created_by == user.name,)
        with engine.connect() as conn:
            return queries.holds_out(conn, holds_t.c.status == "active", *mine)

    @app.delete("/api/holds/{hold_id}", response_model=HoldOut, responses=errors(404, 409, 503))
    def release_hold(hold_id: str, user: Annotated[User, Depends(allow(*PLANNING))]) -> HoldOut:
        """Give a hold's REPs back: a planner their own holds, an operator anyone's."""
        with writer(engine, f"release {hold_id} by {user.name}") as conn:
            row = conn.execute(sa.select(holds_t).where(holds_t.c.hold_id == hold_id)).first()
            if row is None:
                raise HTTPException(404, f"unknown hold {hold_id}")
            if user.role != "operator" and row.created_by != user.name:
                raise HTTPException(403, f"hold {hold_id} is not yours; an operator can release it")
            if row.status != "active":
                raise HTTPException(409, f"hold {hold_id} is {row.status}, not active")
            holds.release(conn, hold_id)
            actions.record(conn, user.name, "release hold", hold_id, {})
            return queries.hold_out(conn, hold_id)

    @app.post("/api/orders", status_code=201, responses=errors(404, 409, 503))
    def book_order(body: OrderBody, user: Annotated[User, Depends(allow(*PLANNING))]) -> dict[str, Any]:
        """Book an order from a hold (a planner's own; any for an operator): the next batch issues its certificate
        from exactly the held REPs, up to the order's cap."""
        with writer(engine, f"book {body.order_id} by {user.name}") as conn:
            h = conn.execute(sa.select(holds_t).where(holds_t.c.hold_id == body.hold_id)).first()
            if h is None:
                raise HTTPException(404, f"unknown hold {body.hold_id}")
            if user.role != "operator" and h.created_by != user.name:
                raise HTTPException(403, f"hold {body.hold_id} is not yours")
            if body.order_id in set(app.state.book.scenario.orders["order_id"]):
                raise HTTPException(409, f"order {body.order_id} exists in the scenario's orders already")
            row = holds.book(conn, body.hold_id, body.order_id, body.premium, body.tonnage, body.delivery,
                             body.customer, user.name)
            actions.record(conn, user.name, "book order", body.order_id, body.model_dump(mode="json"))
        return row | {"delivery_date": str(row["delivery_date"])}

    @app.get("/api/certificates", response_model=list[CertificateOut], responses=errors())
    def list_certificates(user: Annotated[User, Depends(allow(*READING))],
                          status: Annotated[Literal["issued", "void"] | None, Query()] = None,
                          ) -> list[CertificateOut]:
        """Every certificate in the ledger (or only issued / void ones), by id."""
        return queries.certificates(engine, status)

    @app.get("/api/certificates/{certificate_id}.pdf", response_class=Response, responses={
        200: {"content": {"application/pdf": {}}, "description": "the certificate as gxopt report prints it"},
        **errors(404)})
    def certificate_pdf(certificate_id: str, user: Annotated[User, Depends(allow(*READING))]) -> Response:
        """The certificate's PDF, the same document as ``gxopt report`` writes (issued or void, with the numbers as
        issued)."""
        pdf = documents.pdf(certificate_id)
        if pdf is None:
            raise HTTPException(404, f"unknown certificate {certificate_id}")
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{certificate_id}.pdf"'})

    @app.get("/api/certificates/{certificate_id}", response_model=CertificateOut, responses=errors(404))
    def one_certificate(certificate_id: str, user: Annotated[User, Depends(allow(*READING))]) -> CertificateOut:
        """One certificate with its pool lines (gas, period, evidence of the physical connection)."""
        with engine.connect() as conn:
            r = conn.execute(sa.select(certs_t).where(certs_t.c.certificate_id == certificate_id)).mappings().first()
            if r is None:
                raise HTTPException(404, f"unknown certificate {certificate_id}")
            lines = [dict(x) | {"reps_t": x["reps_g"] / G_PER_T} for x in conn.execute(
                sa.select(lines_t).where(lines_t.c.certificate_id == certificate_id).order_by(lines_t.c.line_no)
            ).mappings()]
        for ln in lines:
            ln.pop("certificate_id")
            ln["period_end"] = str(ln["period_end"])
        return queries.certificate_out(r, lines)

    @app.post("/api/certificates/{certificate_id}/void", response_model=CertificateOut, responses=errors(404, 409, 503))
    def void_certificate(certificate_id: str, body: VoidBody, user: Annotated[User, Depends(allow("operator"))],
                         ) -> CertificateOut:
        """Void an issued certificate: its REPs return to their pools by reverse journal entries; the order is open
        again and the next batch may issue it anew."""
        from gxopt.ledger.certificates import void

        with writer(engine, f"void {certificate_id} by {user.name}") as conn:
            r = conn.execute(sa.select(certs_t.c.status).where(certs_t.c.certificate_id == certificate_id)).first()
            if r is None:
                raise HTTPException(404, f"unknown certificate {certificate_id}")
            grams = void(conn, certificate_id, body.reason)  # LedgerError (409): already void, passed on, ...
            actions.record(conn, user.name, "void", certificate_id, {"reason": body.reason, "reps_g": grams})
            row = conn.execute(sa.select(certs_t).where(certs_t.c.certificate_id == certificate_id)).mappings().one()
            return queries.certificate_out(row)

    @app.post("/api/batches", responses=errors(409, 503))
    def run_batch(user: Annotated[User, Depends(allow("operator"))]) -> dict[str, Any]:
        """The nightly batch now: credit, expire, allocate every open order, issue (one transaction)."""
        from gxopt.ledger.batch import batch

        summary = batch(scenario, db)
        with writer(engine, f"log batch by {user.name}") as conn:
            actions.record(conn, user.name, "batch", summary["batch_id"], {
                k: summary[k] for k in ("certificates_issued", "reps_issued_t", "open_orders")})
        return summary

    @app.get("/api/ledger/verify", response_model=VerifyOut, responses=errors())
    def verify_ledger(user: Annotated[User, Depends(allow(*READING))]) -> VerifyOut:
        """Re-check the hash chain, every balance against the journal and every certificate against its entries."""
        return queries.ledger_check(engine)

    app.include_router(pact_router)
    pages.register(app)
    admin.register(app)
    return app


def from_environment() -> FastAPI:
    """The application of one worker of ``gxopt serve --workers N`` (scenario and ledger from the environment)."""
    import os

    return create_app(os.environ[ENV_SCENARIO], os.environ[ENV_DB], warm_pact=os.environ.get(ENV_WARM) == "1")


def is_page(route: Any) -> bool:
    """Whether a route is a web page (no session: sent to the login page rather than a 401)."""
    dependant = getattr(route, "dependant", None)
    return any(getattr(d.call, "page", False) for d in (dependant.dependencies if dependant is not None else []))


def roles_of(route: Any) -> tuple[str, ...] | None:
    """The roles a route serves (None: open to anyone, like the health check and the login page)."""
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant is not None else []:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
    return None
