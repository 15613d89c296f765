"""PACT API clients (STAND-IN until branch pact-data lands): a customer's system authenticates with a client id
and secret (OAuth2 client credentials, PACT Tech Spec v2.3 §6.3 / v3.0 Authentication); the secret is stored
only as a salted argon2 hash and shown once. The table is created on first use from this module's own metadata
(the data branch brings it with migration 0005)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gxopt.ledger.db import LedgerError
from gxopt.ledger.users import now

HASHER = PasswordHasher()
_meta = sa.MetaData()
pact_clients = sa.Table(
    "pact_clients", _meta,
    sa.Column("client_id", sa.String(40), primary_key=True),
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(100)),
)


@dataclass(frozen=True)
class Client:
    """One PACT client: whose footprints it may fetch (``customer``)."""

    client_id: str
    customer: str
    disabled: bool
    created_at: str


def _table(conn: sa.Connection) -> sa.Table:
    pact_clients.create(conn, checkfirst=True)
    return pact_clients


def add(conn: sa.Connection, customer: str, created_by: str | None = None) -> tuple[Client, str]:
    """A new client for ``customer``; returns it and its secret (the only time the secret is shown)."""
    if not customer or not customer.strip():
        raise LedgerError("a PACT client needs the customer whose footprints it fetches")
    t = _table(conn)
    client_id, secret = "gxc_" + secrets.token_hex(12), secrets.token_urlsafe(32)
    created = now()
    conn.execute(sa.insert(t).values(client_id=client_id, customer=customer.strip(), secret_hash=HASHER.hash(secret),
                                     disabled=False, created_at=created, created_by=created_by))
    return Client(client_id, customer.strip(), False, created), secret


def authenticate(conn: sa.Connection, client_id: str, secret: str) -> Client | None:
    """The enabled client ``client_id`` if ``secret`` is its secret, else None."""
    r = conn.execute(sa.select(_table(conn)).where(pact_clients.c.client_id == client_id)).first()
    if r is None or r.disabled:
        return None
    try:
        HASHER.verify(r.secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return None
    return Client(r.client_id, r.customer, False, r.created_at)


def listing(conn: sa.Connection) -> list[Client]:
    """Every client, by id."""
    return [Client(r.client_id, r.customer, bool(r.disabled), r.created_at)
            for r in conn.execute(sa.select(_table(conn)).order_by(pact_clients.c.client_id))]


def disable(conn: sa.Connection, client_id: str) -> None:
    """Disable ``client_id``: its secret and its access tokens stop working at once."""
    if conn.execute(sa.update(_table(conn)).where(pact_clients.c.client_id == client_id)
                    .values(disabled=True)).rowcount != 1:
        raise LedgerError(f"no PACT client {client_id}")
