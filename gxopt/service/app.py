"""The routes of ``gxopt serve``; each declares the roles it serves (read by the role-matrix test)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gxopt import __version__
from gxopt.errors import InputError
from gxopt.ledger.db import connect
from gxopt.ledger.users import User
from gxopt.quote import QuoteRequest
from gxopt.service.auth import TokenCache, allow
from gxopt.service.book import Book

PLANNING = ("planner", "operator")


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

    @app.get("/api/availability", response_model=list[Availability])
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

    @app.post("/api/quotes", response_model=QuoteOut)
    def quote(body: QuoteBody, user: Annotated[User, Depends(allow(*PLANNING))]) -> QuoteOut:
        """How many tonnes of GX steel can still be promised, the pools it would draw, and why not more."""
        _product(body.product)
        req = QuoteRequest(body.product, body.method, body.delivery, body.customer, body.alpha, body.target_cfp,
                           body.reps_per_t, body.gas, body.keep)
        return QuoteOut(**app.state.book.current().quote(req).to_dict())

    return app


def roles_of(route: Any) -> tuple[str, ...] | None:
    """The roles a route serves (None: open to anyone, like the health check)."""
    dependant = getattr(route, "dependant", None)
    for dep in dependant.dependencies if dependant is not None else []:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return tuple(roles)
    return None
