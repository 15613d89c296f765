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
from dataclasses import dataclass

import sqlalchemy as sa

from gxopt.ledger.db import LedgerError, now
from gxopt.ledger.tables import pact_clients
from gxopt.ledger.users import HASHER, verified, verify_unknown

CLIENT_ID = re.compile(r"^gxc_[0-9a-f]{32}$")
MAX_CUSTOMER = 200  # the width of certificates.customer
MAX_SECRET = 200  # longer is never one of ours: refused before hashing


@dataclass(frozen=True)
class Client:
    """A buyer's system as the PACT host sees it: which customer's footprints it may read."""

    client_id: str
    customer: str
    disabled: bool
    created_at: str


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


def add(conn: sa.Connection, customer: str, created_by: str | None = None) -> tuple[Client, str]:
    """Create PACT client credentials for ``customer``; return the client and its secret (the only time it is
    shown). Refuses (LedgerError) a name that cannot be a customer (:func:`customer_problems`)."""
    problems = customer_problems(customer)
    if problems:
        raise LedgerError("; ".join(problems))
    client_id, secret = f"gxc_{secrets.token_hex(16)}", secrets.token_urlsafe(32)
    created = now()
    conn.execute(sa.insert(pact_clients).values(client_id=client_id, customer=customer,
                                                secret_hash=HASHER.hash(secret), created_at=created,
                                                created_by=created_by, disabled=False))
    return Client(client_id, customer, False, created), secret


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
    return Client(r.client_id, r.customer, False, r.created_at)


def listing(conn: sa.Connection) -> list[Client]:
    """Every client, by customer then creation time (never a secret)."""
    q = sa.select(pact_clients).order_by(pact_clients.c.customer, pact_clients.c.created_at, pact_clients.c.client_id)
    return [Client(r.client_id, r.customer, bool(r.disabled), r.created_at) for r in conn.execute(q)]


def disable(conn: sa.Connection, client_id: str) -> None:
    """Disable ``client_id``: its secret stops working at once. LedgerError when there is no such client."""
    q = sa.update(pact_clients).where(pact_clients.c.client_id == client_id).values(disabled=True)
    if conn.execute(q).rowcount != 1:
        msg = f"no PACT client {client_id}"
        raise LedgerError(msg)
