"""The bodies and answers of the service's JSON API (each documented in /openapi.json)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gxopt.ledger import users
from gxopt.ledger.tables import ROLES


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
    booked_order: str | None = Field(None, description="the order booked from this hold; the next batch issues it")


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


class UserBody(BaseModel):
    """A person or system to add: a role, and optionally a password for the login page."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description=users.NAME_RULE, json_schema_extra={"pattern": users.NAME.pattern})  # checked below,
    # in words a person understands
    role: Literal[ROLES]  # type: ignore[valid-type]
    password: str | None = Field(None, min_length=users.MIN_PASSWORD, max_length=1000,
                                 description=f"for the login page ({users.MIN_PASSWORD}+ characters)")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not users.name_ok(v):
            raise ValueError(f"a user name has {users.NAME_RULE}")
        return v


class UserOut(BaseModel):
    """A user as the admin sees them (never a secret)."""

    name: str
    role: str
    disabled: bool
    created_at: str


class NewUser(UserOut):
    """A user just made, with their API token: shown this once, stored only as a salted hash."""

    token: str


class ActionOut(BaseModel):
    """Who did what through the service or the users command."""

    seq: int
    at: str
    user_name: str
    action: str
    target: str | None
    detail: str


class BatchOut(BaseModel):
    """One batch run of the ledger and its summary."""

    batch_id: str
    scenario: str
    as_of: dt.date
    input_sha256: str
    started_at: str
    finished_at: str
    summary: dict[str, Any]


class VoidBody(BaseModel):
    """Why a certificate is voided (kept in the ledger and shown on the certificate)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="why the certificate is voided")
