"""Buyers' systems on the PACT host API (issue #13): one set of OAuth2 client credentials per customer of the order
book, so a buyer fetches only the footprints of its own certificates.

The client secret is shown once when the client is made and stored only as a salted argon2 hash (argon2-cffi, the
same hasher as :mod:`gxopt.ledger.users`); the client id is the row to verify against, so a request never tries
every client's hash. Who made a client is kept in ``created_by``; the commands record adds and disables in the
actions log (:mod:`gxopt.ledger.actions`).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit
from dataclasses import dataclass

import sqlalchemy as sa

from gxopt.ledger.db import LedgerError, now
from gxopt.ledger.tables import pact_clients
from gxopt.ledger.users import HASHER, verified, verify_unknown

CLIENT_ID = re.compile(r"^gxc_[0-9a-f]{32}$")
MAX_CUSTOMER = 200  # the width of certificates.customer
MAX_SECRET = 200  # longer is never one of ours: refused before hashing
MAX_URL = 500  # the width of pact_clients.callback_url


@dataclass(frozen=True)
class Client:
    """A buyer's system as the PACT host sees it: which customer's footprints it may read."""

    client_id: str
    customer: str
    disabled: bool
    created_at: str
    callback_url: str | None = None  # the buyer's PACT host: answers to its requests go there and nowhere else


def customer_problems(customer: object) -> list[str]:
    """Why ``customer`` cannot name a customer of the order book (empty when it can): a non-empty name of at most
    200 characters, without surrounding blanks or control characters, as in orders.csv's ``customer`` column."""
    if not isinstance(customer, str) or not customer.strip():
        return ["customer name: give the customer as it appears in the order book (orders.csv 'customer')"]
    problems = []
    if customer != customer.strip():
        problems.append(f"customer name {customer!r}: no leading or trailing blanks")
    if len(customer) > MAX_CUSTOMER:
        problems.append(f"customer name: at most {MAX_CUSTOMER} characters (it has {len(customer)})")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in customer):
        problems.append(f"customer name {customer!r}: no control characters")
    return problems


def callback_problems(url: object) -> list[str]:
    """Why ``url`` cannot be a buyer's PACT host to answer requests at (empty when it can): an absolute http(s) URL
    with a host, no user name or password, no query or fragment, at most 500 characters."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        return [f"callback URL: a text of at most {MAX_URL} characters"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return [f"callback URL {url!r}: not a URL"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"callback URL {url!r}: give an absolute http(s) URL, e.g. https://pact.buyer.example"]
    if parts.username or parts.password or parts.query or parts.fragment:
        return [f"callback URL {url!r}: no user, password, query or fragment"]
    return []


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the default port made explicit: what a callback must share with the
    registered URL."""
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def add(conn: sa.Connection, customer: str, created_by: str | None = None,
        callback_url: str | None = None) -> tuple[Client, str]:
    """Create PACT client credentials for ``customer``; return the client and its secret (the only time it is
    shown). ``callback_url``: the buyer's PACT host, the only place answers to its requests are sent. Refuses
    (LedgerError) a name that cannot be a customer (:func:`customer_problems`) or a bad URL."""
    problems = customer_problems(customer) + ([] if callback_url is None else callback_problems(callback_url))
    if problems:
        raise LedgerError("; ".join(problems))
    client_id, secret = f"gxc_{secrets.token_hex(16)}", secrets.token_urlsafe(32)
    created = now()
    conn.execute(sa.insert(pact_clients).values(client_id=client_id, customer=customer,
                                                secret_hash=HASHER.hash(secret), created_at=created,
                                                created_by=created_by, disabled=False, callback_url=callback_url))
    return Client(client_id, customer, False, created, callback_url), secret


def authenticate(conn: sa.Connection, client_id: str, secret: str) -> Client | None:
    """The enabled client ``client_id`` if ``secret`` is its secret, else None (unknown, disabled, wrong or
    malformed input alike; an unknown id still costs one argon2 verification)."""
    if not isinstance(secret, str) or len(secret) > MAX_SECRET:
        return None
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        verify_unknown(secret)
        return None
    r = conn.execute(sa.select(pact_clients).where(pact_clients.c.client_id == client_id)).first()
    if r is None:
        verify_unknown(secret)
        return None
    if not verified(r.secret_hash, secret) or r.disabled:
        return None
    return _client(r)


def get(conn: sa.Connection, client_id: str) -> Client | None:
    """Client ``client_id`` (enabled or not), or None."""
    r = conn.execute(sa.select(pact_clients).where(pact_clients.c.client_id == client_id)).first()
    return None if r is None else _client(r)


def _client(r: sa.Row[object]) -> Client:
    return Client(r.client_id, r.customer, bool(r.disabled), r.created_at, r.callback_url)  # type: ignore[attr-defined]


def listing(conn: sa.Connection) -> list[Client]:
    """Every client, by customer then creation time (never a secret)."""
    q = sa.select(pact_clients).order_by(pact_clients.c.customer, pact_clients.c.created_at, pact_clients.c.client_id)
    return [_client(r) for r in conn.execute(q)]


def disable(conn: sa.Connection, client_id: str) -> None:
    """Disable ``client_id``: its secret stops working at once. LedgerError when there is no such client."""
    q = sa.update(pact_clients).where(pact_clients.c.client_id == client_id).values(disabled=True)
    if conn.execute(q).rowcount != 1:
        msg = f"no PACT client {client_id}"
        raise LedgerError(msg)
