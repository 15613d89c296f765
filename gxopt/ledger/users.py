"""People and systems with a role: planner, operator, auditor or admin (issue #12).

A user has an API token (``gxt_<id>_<secret>``, shown once when the user is made) and, for the login page,
optionally a password. Both are stored only as salted argon2 hashes (argon2-cffi); the token's id lets the
service find the one row to verify, so a request never tries every user's hash.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gxopt.ledger.db import LedgerError, now
from gxopt.ledger.tables import ROLES, users

HASHER = PasswordHasher()
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
TOKEN = re.compile(r"^gxt_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
NAME_RULE = "1 to 100 letters, digits or . _ @ -, starting with a letter or digit"
MIN_PASSWORD = 12


def name_ok(name: str | None) -> bool:
    """Whether ``name`` is a valid user name (:data:`NAME_RULE`)."""
    return bool(NAME.fullmatch(name or ""))


@dataclass(frozen=True)
class User:
    """Who is asking, as the service sees them."""

    name: str
    role: str
    disabled: bool
    created_at: str


def add(conn: sa.Connection, name: str, role: str, password: str | None = None) -> tuple[User, str]:
    """Create user ``name`` with ``role``; return the user and their API token (the only time it is shown)."""
    problems = [] if name_ok(name) else [f"user name {name!r}: {NAME_RULE}"]
    if role not in ROLES:
        problems.append(f"role {role!r}: must be one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        problems.append(f"the password must have at least {MIN_PASSWORD} characters")
    if not problems and conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
        problems.append(f"user {name} exists already")
    if problems:
        raise LedgerError("; ".join(problems))
    token_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    created = now()
    conn.execute(sa.insert(users).values(
        name=name, role=role, password_hash=None if password is None else HASHER.hash(password),
        token_id=token_id, token_hash=HASHER.hash(secret), disabled=False, created_at=created))
    return User(name, role, False, created), f"gxt_{token_id}_{secret}"


def listing(conn: sa.Connection) -> list[User]:
    """Every user, by name."""
    return [User(r.name, r.role, bool(r.disabled), r.created_at)
            for r in conn.execute(sa.select(users).order_by(users.c.name))]


def get(conn: sa.Connection, name: str) -> User | None:
    """User ``name`` (enabled or not), or None."""
    r = conn.execute(sa.select(users).where(users.c.name == name)).first()
    return None if r is None else User(r.name, r.role, bool(r.disabled), r.created_at)


def disable(conn: sa.Connection, name: str) -> None:
    """Disable ``name``: their token and password stop working at once."""
    if conn.execute(sa.update(users).where(users.c.name == name).values(disabled=True)).rowcount != 1:
        msg = f"no user {name}"
        raise LedgerError(msg)


def verified(stored: str | None, secret: str) -> bool:
    """Whether ``secret`` matches the salted argon2 hash ``stored`` (False for no hash or a malformed one)."""
    if stored is None:
        return False
    try:
        return HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False


def by_token(conn: sa.Connection, token: str) -> User | None:
    """The enabled user holding API token ``token``, else None."""
    m = TOKEN.match(token or "")
    if not m:
        return None
    r = conn.execute(sa.select(users).where(users.c.token_id == m.group(1))).first()
    if r is None or r.disabled or not verified(r.token_hash, m.group(2)):
        return None
    return User(r.name, r.role, False, r.created_at)


_NOBODY: list[str] = []  # a hash to verify against when the name is unknown, so both answers take as long


def verify_unknown(secret: str) -> None:
    """Spend one argon2 verification on ``secret`` for an unknown name, so "unknown" takes as long as "wrong"."""
    _NOBODY[:] = _NOBODY or [HASHER.hash(secrets.token_urlsafe(16))]
    verified(_NOBODY[0], secret)


def by_password(conn: sa.Connection, name: str, password: str) -> User | None:
    """The enabled user ``name`` if ``password`` is theirs, else None."""
    r = conn.execute(sa.select(users).where(users.c.name == name)).first()
    if r is None:
        verify_unknown(password)
        return None
    if r.disabled or not verified(r.password_hash, password):
        return None
    return User(r.name, r.role, False, r.created_at)
