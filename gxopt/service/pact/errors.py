"""Every error the PACT endpoints answer, in one place: the codes and HTTP statuses of each version (v2.3 Tech
Spec §6.9 "Error Codes": NoSuchFootprint 404, NotImplemented 400; v3.0 `Error` schema: NotFound 404,
NotImplemented 501) and the OAuth2 token endpoint's RFC 6749 §5.2 error bodies."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

# one vocabulary in the code (v3's names); v2 renames NotFound and answers NotImplemented with 400
STATUS = {
    "3": {"BadRequest": 400, "AccessDenied": 403, "TokenExpired": 401, "NotFound": 404, "InternalError": 500,
          "NotImplemented": 501},
    "2": {"BadRequest": 400, "AccessDenied": 403, "TokenExpired": 401, "NotFound": 404, "InternalError": 500,
          "NotImplemented": 400},
}
V2_NAMES = {"NotFound": "NoSuchFootprint"}


class PactError(Exception):
    """An error answered with the PACT ``Error`` body ``{"code", "message"}`` of the request's version."""

    def __init__(self, code: str, message: str) -> None:
        if code not in STATUS["3"]:
            raise ValueError(f"not a PACT error code: {code}")
        super().__init__(message)
        self.code, self.message = code, message


def error_response(exc: PactError, version: str) -> JSONResponse:
    """The response of ``exc`` for API ``version`` ("2" or "3")."""
    code = V2_NAMES.get(exc.code, exc.code) if version == "2" else exc.code
    status = STATUS[version][exc.code]
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return JSONResponse(status_code=status, content={"code": code, "message": exc.message}, headers=headers)


class OAuthError(Exception):
    """An RFC 6749 §5.2 error of ``POST /auth/token``: ``{"error", "error_description"}``; 401 with a
    ``WWW-Authenticate: Basic`` challenge for ``invalid_client`` (the client authenticated by HTTP Basic), else 400."""

    CODES = ("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
             "invalid_scope")

    def __init__(self, error: str, description: str) -> None:
        if error not in self.CODES:
            raise ValueError(f"not an RFC 6749 error: {error}")
        super().__init__(description)
        self.error, self.description = error, description


def oauth_response(exc: OAuthError) -> JSONResponse:
    """The token endpoint's error response (never cached, RFC 6749 §5.1)."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    status = 400
    if exc.error == "invalid_client":
        status, headers["WWW-Authenticate"] = 401, 'Basic realm="gxopt PACT", charset="UTF-8"'
    return JSONResponse(status_code=status, content={"error": exc.error, "error_description": exc.description},
                        headers=headers)


class ErrorBody(BaseModel):
    """A PACT error (v2.3 and v3.0 ``Error``): its code and a sentence."""

    code: str
    message: str


class OAuthErrorBody(BaseModel):
    """An RFC 6749 §5.2 error of the token endpoint."""

    error: str
    error_description: str


WHY = {400: "BadRequest (also: not over HTTPS, no or an invalid token); v2.3: also NotImplemented",
       401: "TokenExpired", 403: "AccessDenied: another customer's footprint, or a role that does not read them",
       404: "NotFound (v2.3: NoSuchFootprint)", 501: "NotImplemented (v3.0)"}


def documented(*statuses: int, oauth: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a PACT route: its error statuses with their bodies."""
    if oauth:
        return {400: {"model": OAuthErrorBody, "description": "invalid_request, unsupported_grant_type (RFC 6749)"},
                401: {"model": OAuthErrorBody, "description": "invalid_client (RFC 6749)"}}
    return {s: {"model": ErrorBody, "description": WHY[s]} for s in statuses}
