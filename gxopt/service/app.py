"""The routes of ``gxopt serve``; each declares the roles it serves (read by the role-matrix test)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gxopt import __version__
from gxopt.errors import InputError
from gxopt.ledger import actions, holds
from gxopt.ledger.db import LedgerBusy, LedgerError, connect, writer
from gxopt.ledger.journal import verify_chain
from gxopt.ledger.tables import G_PER_T
from gxopt.ledger.tables import certificate_lines as lines_t
from gxopt.ledger.tables import certificates as certs_t
from gxopt.ledger.tables import holds as holds_t
from gxopt.ledger.users import User
from gxopt.quote import QuoteRequest
from gxopt.service.auth import TokenCache, allow
from gxopt.service.book import Book
from gxopt.settings import organization_code

PLANNING = ("planner", "operator")
READING = ("operator", "auditor")


class ErrorOut(BaseModel):
    """Why a request was refused: a sentence, or (422) the fields and rules that failed."""

    detail: Any


WHY = {401: "no valid API token", 403: "the user's role may not do this", 404: "an id in the request is unknown",
       409: "the ledger's rules refuse it now (the reason is given)", 503: "the ledger is busy; try again"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented refusals of a route: 401 and 403 always, and ``codes``."""
    return {c: {"model": ErrorOut, "description": WHY[c]} for c in (401, 403, *codes)}


class QuoteBody(BaseModel):
    """The fields of ``gxopt quote``: at most one of reps_per_t, alpha, target_cfp (none: full GX level)."""

    model_config = ConfigDict(extra="forbid")
    product: str = Field(min_length=1, max_length=200)
    delivery: dt.date
    method: Literal["mass_balance", "allocation"]
    customer: str | None = Field(None, max_length=200)
    reps_per_t: float | None = Field(None, gt=0, description="REPs per tonne (mass balance; or allocation)")
    alpha: float | None = Field(None, gt=0, le=1, description="GX value alpha (allocation)")
    target_cfp: float | None = Field(None, ge=0, description="Allocated CFP wanted, t-CO2e/t (allocation)")
    gas: Literal["CO2", "GHG"] | None = None
    keep: bool = Field(False, description="booked orders keep their exact pool lines")


class QuoteOut(BaseModel):
    """The answer, as ``gxopt quote --json`` prints it."""

    product_id: str
    method: str
    mode: str
    gx_tonnage_t: float
    reps_t: float
    reps_per_t: float
    alpha: float | None
    allocated_cfp: float | None
    pools: list[dict[str, Any]]
    binding: list[str]
    shadow_prices: dict[str, float]
    warnings: list[str]


class Availability(BaseModel):
    """Promisable GX tonnage at the full GX level, per product and method, and why not more."""

    product_id: str
    method: str
    gx_tonnage_t: float
    reps_t: float
    reps_per_t: float
    binding: list[str]


class HoldBody(QuoteBody):
    """A quote to hold: all of its promisable tonnage, or ``tonnage`` of it, for ``days`` days."""

    tonnage: float | None = Field(None, gt=0, description="tonnes to hold (default: all that can be promised)")
    days: int = Field(gt=0, le=365, description="days the REPs stay reserved")


class HoldOut(BaseModel):
    """A hold: REPs reserved for one quoted order until it is booked, released or lapses."""

    hold_id: str
    product_id: str
    method: str
    customer: str | None
    tonnage_t: float
    reps_t: float
    expires: dt.date
    status: str
    created_by: str | None


class OrderBody(BaseModel):
    """An order booked from one of your holds; it enters the open book and takes the hold at the next batch."""

    model_config = ConfigDict(extra="forbid")
    hold_id: str = Field(min_length=1, max_length=100)
    order_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    premium: float = Field(ge=0, description="premium per t-CO2e")
    tonnage: float | None = Field(None, gt=0, description="tonnes ordered (default: the held tonnage)")
    delivery: dt.date | None = None
    customer: str | None = Field(None, max_length=200)


class CertificateOut(BaseModel):
    """A certificate as the ledger holds it (lines only on the one-certificate route)."""

    certificate_id: str
    order_id: str
    method: str
    customer: str | None
    product_id: str
    tonnage_t: float
    reps_t: float
    general_cfp: float
    basis_cfp: float | None
    claimed_cfp: float | None
    allocated_cfp: float | None
    gx_tonnage_t: float
    status: str
    issued_at: str
    lines: list[dict[str, Any]] | None = None


class VerifyOut(BaseModel):
    """``gxopt ledger verify`` as JSON: hash chain, balances, certificates."""

    ok: bool
    problems: list[str]
    journal_entries: int
    journal_head: str


class Health(BaseModel):
    """The service is up, on this scenario and ledger."""

    status: str
    version: str
    scenario: str
    as_of: dt.date
    book_solves: int


def create_app(scenario: str | Path, db: str) -> FastAPI:
    """The application over ``scenario`` and the ledger at ``db`` (the book is solved here, once)."""
    engine = connect(db)
    app = FastAPI(title="gxopt", version=__version__,
                  description="GX value (REPs) for sales planners, operators and auditors: JISF GX Steel Guidelines v4.1.")
    app.state.engine = engine
    app.state.tokens = TokenCache()
    app.state.book = Book(scenario, engine)

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

    def _product(name: str) -> str:
        if name not in app.state.book.current().products.index:
            raise HTTPException(404, f"unknown product {name}")
        return name

    @app.get("/api/availability", response_model=list[Availability], responses=errors())
    def availability(user: Annotated[User, Depends(allow(*PLANNING))],
                     delivery: Annotated[dt.date | None, Query(description="delivery date (default: as of)")] = None,
                     ) -> list[Availability]:
        """Per product and method: the GX tonnage that can still be promised at the full GX level."""
        quoter = app.state.book.current()
        when = delivery or app.state.book.scenario.settings.as_of
        out = []
        for product in quoter.products.index:
            for method in ("mass_balance", "allocation"):
                q = quoter.quote(QuoteRequest(str(product), method, when))
                out.append(Availability(product_id=str(product), method=method, gx_tonnage_t=q.gx_tonnage_t,
                                        reps_t=q.reps_t, reps_per_t=q.reps_per_t, binding=q.binding))
        return out

    @app.post("/api/quotes", response_model=QuoteOut, responses=errors(404))
    def quote(body: QuoteBody, user: Annotated[User, Depends(allow(*PLANNING))]) -> QuoteOut:
        """How many tonnes of GX steel can still be promised, the pools it would draw, and why not more."""
        _product(body.product)
        req = QuoteRequest(body.product, body.method, body.delivery, body.customer, body.alpha, body.target_cfp,
                           body.reps_per_t, body.gas, body.keep)
        return QuoteOut(**app.state.book.current().quote(req).to_dict())

    @app.post("/api/holds", response_model=HoldOut, status_code=201, responses=errors(404, 409, 503))
    def place_hold(body: HoldBody, user: Annotated[User, Depends(allow(*PLANNING))]) -> HoldOut:
        """Reserve a quote's REPs, decided inside the ledger's write transaction against every other hold."""
        _product(body.product)
        req = QuoteRequest(body.product, body.method, body.delivery, body.customer, body.alpha, body.target_cfp,
                           body.reps_per_t, body.gas, body.keep)
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
            return _hold(conn, hold_id)

    @app.get("/api/holds", response_model=list[HoldOut], responses=errors())
    def list_holds(user: Annotated[User, Depends(allow(*PLANNING))]) -> list[HoldOut]:
        """Active holds: a planner's own, or everyone's for an operator."""
        with engine.connect() as conn:
            q = sa.select(holds_t.c.hold_id).where(holds_t.c.status == "active").order_by(holds_t.c.hold_id)
            if user.role != "operator":
                q = q.where(holds_t.c.created_by == user.name)
            return [_hold(conn, h) for h in conn.execute(q).scalars()]

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
            return _hold(conn, hold_id)

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
        with engine.connect() as conn:
            q = sa.select(certs_t).order_by(certs_t.c.certificate_id)
            if status:
                q = q.where(certs_t.c.status == status)
            return [_certificate(r) for r in conn.execute(q).mappings()]

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
        return _certificate(r, lines)

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
        from gxopt.ledger.audit import audit

        with engine.connect() as conn:
            problems = audit(conn)
            chain = verify_chain(conn)
        return VerifyOut(ok=not problems, problems=problems, journal_entries=chain.entries, journal_head=chain.head_hash)

    return app


def _certificate(r: Any, lines: list[dict[str, Any]] | None = None) -> CertificateOut:
    return CertificateOut(
        certificate_id=r["certificate_id"], order_id=r["order_id"], method=r["method"], customer=r["customer"],
        product_id=r["product_id"], tonnage_t=r["tonnage_t"], reps_t=r["reps_g"] / G_PER_T,
        general_cfp=r["general_cfp"], basis_cfp=r["basis_cfp"], claimed_cfp=r["claimed_cfp"],
        allocated_cfp=r["allocated_cfp"], gx_tonnage_t=r["gx_tonnage_t"], status=r["status"],
        issued_at=r["issued_at"], lines=lines)


def _hold(conn: sa.Connection, hold_id: str) -> HoldOut:
    r = conn.execute(sa.select(holds_t).where(holds_t.c.hold_id == hold_id)).one()
    return HoldOut(hold_id=r.hold_id, product_id=r.product_id, method=r.method, customer=r.customer,
                   tonnage_t=r.tonnage_t, reps_t=r.reps_g / G_PER_T, expires=r.expires_on, status=r.status,
                   created_by=r.created_by)


def roles_of(route: Any) -> tuple[str, ...] | None:
    """The roles a route serves (None: open to anyone, like the health check)."""
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant is not None else []:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
    return None
