"""People in the browser: a login form, a signed session cookie (HttpOnly, SameSite=Strict) and a CSRF token that
every state-changing request made with the cookie must echo (form field ``csrf`` or header ``X-CSRF-Token``)."""

from __future__ import annotations

import hmac
import secrets

import sqlalchemy as sa
from fastapi import HTTPException, Request, status

from gxopt.ledger.db import writer
from gxopt.ledger.tables import service_keys

SESSION_COOKIE = "gxopt_session"
SESSION_HOURS = 8


def service_key(engine: sa.Engine, name: str) -> str:
    """The secret ``name`` in the ledger's ``service_keys``, shared by every service process on this ledger
    (made once, on first use)."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(service_keys.c.value).where(service_keys.c.name == name)).scalar()
    if found:
        return str(found)
    with writer(engine, f"{name} key") as conn:
        found = conn.execute(sa.select(service_keys.c.value).where(service_keys.c.name == name)).scalar()
        if not found:
            found = secrets.token_urlsafe(48)
            conn.execute(sa.insert(service_keys).values(name=name, value=found))
    return str(found)


def session_secret(engine: sa.Engine) -> str:
    """The key that signs session cookies."""
    return service_key(engine, "session")


def sign_in(request: Request, name: str) -> None:
    """Start a session for ``name`` with a fresh CSRF token."""
    request.session.clear()
    request.session.update({"user": name, "csrf": secrets.token_urlsafe(32)})


def csrf_token(request: Request) -> str:
    """The session's CSRF token ('' without a session)."""
    return str(request.session.get("csrf", "")) if "session" in request.scope else ""


def check_csrf(request: Request, sent: str | None) -> None:
    """403 unless ``sent`` is the session's CSRF token."""
    expected = csrf_token(request)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token: reload the page and try again")
