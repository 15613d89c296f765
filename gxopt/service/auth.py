"""Who is asking and what their role allows: ``Authorization: Bearer TOKEN`` for systems, the session cookie of the
login page for people (401 without either, 403 for a role the route does not serve; a state-changing request
made with the cookie must carry the session's CSRF token). A token is verified against its salted hash once per
process; the user's role and state are read on every request, so disabling a user takes effect at once."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gxopt.ledger import users
from gxopt.service.sessions import check_csrf

SAFE = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """A page was asked for without a session: the browser is sent to the login page."""


def _by_name(conn: sa.Connection, name: str) -> users.User | None:
    found = users.get(conn, name)
    return None if found is None or found.disabled else found


class TokenCache:
    """SHA-256 of tokens already verified (in memory only) -> user name."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    def user(self, conn: sa.Connection, token: str) -> users.User | None:
        """The enabled user of ``token``, verifying its argon2 hash only the first time."""
        key = hashlib.sha256(token.encode()).hexdigest()
        name = self._names.get(key)
        if name is None:
            found = users.by_token(conn, token)
            if found is None:
                return None
            with self._lock:
                self._names[key] = found.name
            return found
        return _by_name(conn, name)


BEARER = HTTPBearer(auto_error=False, description="the API token printed by gxopt users add")


def principal(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> users.User:
    """The user making ``request``, or 401."""
    user = None
    if credentials is not None and credentials.credentials:
        with request.app.state.engine.connect() as conn:
            user = request.app.state.tokens.user(conn, credentials.credentials.strip())
    elif "session" in request.scope and request.session.get("user"):
        with request.app.state.engine.connect() as conn:
            user = _by_name(conn, str(request.session["user"]))
        if user is not None and request.method not in SAFE:
            check_csrf(request, request.headers.get("x-csrf-token"))
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid API token (Authorization: Bearer ...) or a login session is needed",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def allow(*roles: str, page: bool = False) -> Callable[..., users.User]:
    """A dependency letting only ``roles`` through (403 for any other role); ``page``: without a session the
    browser is sent to the login page instead of a 401."""
    def check(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> users.User:
        try:
            user = principal(request, credentials)
        except HTTPException as exc:
            if page and exc.status_code == status.HTTP_401_UNAUTHORIZED:
                raise LoginRequired from None
            raise
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the {user.role} role may not do this; it is for: {', '.join(roles)}")
        return user

    check.roles = roles  # type: ignore[attr-defined]  (read by the role matrix)
    check.page = page  # type: ignore[attr-defined]
    return check
