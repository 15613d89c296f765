"""PACT access tokens (OAuth2 client credentials grant, RFC 6749 §4.4): JWTs signed with HS256 (PyJWT) by a key
kept in the ledger's ``service_keys`` (so every worker on the ledger accepts them), expiring after
:data:`TOKEN_SECONDS`; an expired token is ``TokenExpired`` (401), any other bad token ``BadRequest`` (400), as
both PACT versions ask."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
import sqlalchemy as sa

from gxopt.service.pact.errors import PactError
from gxopt.service.sessions import service_key

TOKEN_SECONDS = 3600
ISSUER = "gxopt-pact"
KEY_NAME = "pact-token"


@dataclass(frozen=True)
class Grant:
    """Who a valid token was issued to."""

    client_id: str
    customer: str


class Signer:
    """Issues and checks the access tokens of one ledger."""

    def __init__(self, engine: sa.Engine) -> None:
        self._key = service_key(engine, KEY_NAME)

    def issue(self, client_id: str, customer: str, seconds: int = TOKEN_SECONDS) -> str:
        """A token for ``client_id`` (acting for ``customer``) valid ``seconds``."""
        t = int(time.time())
        return jwt.encode({"iss": ISSUER, "sub": client_id, "cst": customer, "iat": t, "exp": t + seconds},
                          self._key, algorithm="HS256")

    def check(self, token: str) -> Grant:
        """The grant of ``token``; PactError TokenExpired or BadRequest otherwise."""
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise PactError("TokenExpired", "the access token has expired; get a new one from /auth/token") from None
        except jwt.InvalidTokenError:
            raise PactError("BadRequest", "invalid access token; get one from /auth/token") from None
        if not isinstance(claims.get("cst"), str):
            raise PactError("BadRequest", "invalid access token; get one from /auth/token")
        return Grant(str(claims["sub"]), claims["cst"])
