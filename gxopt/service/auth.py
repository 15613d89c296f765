"""Who is asking and what their role allows: ``Authorization: Bearer TOKEN`` (401 without a valid one, 403 for a
role the route does not serve). A token is verified against its salted hash once per process; the user's role
and state are read on every request, so disabling a user takes effect at once."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gxopt.ledger import users
from gxopt.ledger.tables import users as users_table


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
        r = conn.execute(sa.select(users_table).where(users_table.c.name == name)).first()
        return None if r is None or r.disabled else users.User(r.name, r.role, False, r.created_at)


BEARER = HTTPBearer(auto_error=False, description="the API token printed by gxopt users add")


def principal(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> users.User:
    """The user making ``request``, or 401."""
    user = None
    if credentials is not None and credentials.credentials:
        with request.app.state.engine.connect() as conn:
            user = request.app.state.tokens.user(conn, credentials.credentials.strip())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid API token is needed (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def allow(*roles: str) -> Callable[..., users.User]:
    """A dependency letting only ``roles`` through (403 for any other role)."""
    def check(user: users.User = Depends(principal)) -> users.User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the {user.role} role may not do this; it is for: {', '.join(roles)}")
        return user

    check.roles = roles  # type: ignore[attr-defined]  (read by the role matrix)
    return check
