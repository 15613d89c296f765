"""The PACT endpoints (v2.3 and v3.0 Tech Specs): ``POST /auth/token``, ``GET /.well-known/openid-configuration``,
``GET /{2,3}/footprints``, ``GET /{2,3}/footprints/{id}``, ``POST /{2,3}/events``.

HTTPS only (v2.3 §6.2, v3.0 "Security"): a request that reached the service over plain HTTP (``gxopt serve``
without ``--tls-cert``/``--tls-key``, and no trusted proxy saying ``X-Forwarded-Proto: https``) is refused with
400 ``BadRequest`` naming HTTPS (``invalid_request`` at the token endpoint) before any credential is looked at.

Who sees what: a client's access token (subject: the client, acting for one customer) sees that customer's
footprints only (another customer's is 403 ``AccessDenied``); a gxopt operator or auditor API token
(``Bearer gxt_...``) sees all. Answers to a client's RequestCreatedEvent go only to the origin of the PACT host
registered for it (``gxopt clients add --callback-url``; 403 ``AccessDenied`` otherwise), so a client cannot make
the service call an address of its choosing. A missing or invalid token is 400 ``BadRequest``, an expired one 401
``TokenExpired``, as both versions' conformance tests expect."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from gxopt.ledger import clients
from gxopt.service.footprints import Footprint, FootprintStore
from gxopt.service.pact import events, filters
from gxopt.service.pact.errors import OAuthError, PactError, documented, error_response, oauth_response
from gxopt.service.pact.openapi import (EVENT_BODY, LIMIT, TOKEN_FORM, V2_FILTER, V3_FILTERS, FootprintList,
                                        FootprintOne, TokenBody)
from gxopt.service.pact.paging import Pager
from gxopt.service.pact.tokens import TOKEN_SECONDS, Signer
from gxopt.service.sessions import service_key

log = logging.getLogger("gxopt.pact")
READERS = ("operator", "auditor")  # gxopt roles whose API token reads every footprint
SCOPE = "footprint:list footprint:read"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class PactRoute(APIRoute):
    """A route answering PactError / OAuthError with the error body of its PACT version."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        version = "2" if self.path.startswith("/2/") else "3"

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except PactError as exc:
                return error_response(exc, version)
            except OAuthError as exc:
                return oauth_response(exc)
        return answer


router = APIRouter(route_class=PactRoute, tags=["PACT"])


class Host:
    """The PACT state of one service process: token signer, pager, footprints, and the app's outbox."""

    def __init__(self, app: Any) -> None:
        state = app.state
        self.engine, self.user_tokens = state.engine, state.tokens
        self.signer = Signer(self.engine)
        self.pager = Pager(service_key(self.engine, "pact-page"))
        self.store = FootprintStore(state.book, self.engine, documents=state.documents)
        self.outbox: events.Outbox = state.outbox


_lock = threading.Lock()


def host(request: Request) -> Host:
    """This app's :class:`Host`, made on first use."""
    return _host_of(request.app)


def _host_of(app: Any) -> Host:
    state = app.state
    if getattr(state, "pact", None) is None:
        with _lock:
            if getattr(state, "pact", None) is None:
                state.pact = Host(app)
    return state.pact  # type: ignore[no-any-return]


def warm(app: Any) -> None:
    """Build the app's footprints now (in a thread as the app starts): the first buyer's call then finds them."""
    try:
        _host_of(app).store.all()
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first call builds them
        log.exception("PACT footprints could not be built in advance; the first call builds them")


def https(request: Request) -> None:
    """BadRequest unless the request came over HTTPS (the spec's transport requirement)."""
    if request.url.scheme != "https":
        raise PactError("BadRequest", "PACT requires HTTPS: this request came over plain HTTP (start gxopt serve "
                                      "with --tls-cert FILE --tls-key FILE, or put it behind a TLS proxy)")


@dataclass(frozen=True)
class Caller:
    """Who is asking: a client acting for ``customer``, or a gxopt operator/auditor (``customer`` None: all)."""

    name: str
    customer: str | None
    callback_url: str | None = None  # a client's registered PACT host (answers to its requests go there only)


def caller(request: Request) -> Caller:
    """The caller of a footprint or event request (see the module's rules)."""
    https(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise PactError("BadRequest", "an access token is needed: Authorization: Bearer TOKEN (POST /auth/token)")
    h = host(request)
    if token.startswith("gxt_"):
        with h.engine.connect() as conn:
            user = h.user_tokens.user(conn, token)
        if user is None:
            raise PactError("BadRequest", "invalid or disabled gxopt API token")
        if user.role not in READERS:
            raise PactError("AccessDenied", f"the {user.role} role does not read PACT footprints; "
                                            f"{' and '.join(READERS)} do")
        return Caller(user.name, None)
    grant = h.signer.check(token)
    with h.engine.connect() as conn:
        found = clients.get(conn, grant.client_id)
    if found is None or found.disabled:
        raise PactError("AccessDenied", f"client {grant.client_id} has been disabled")
    return Caller(found.client_id, found.customer, found.callback_url)


def _doc(f: Footprint, version: str) -> dict[str, Any]:
    return f.v3 if version == "3" else f.v2


def visible(h: Host, who: Caller) -> list[Footprint]:
    """The footprints ``who`` may see, in the store's stable order."""
    return h.store.all() if who.customer is None else h.store.of_customer(who.customer)


def _basic(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "authenticate the client with HTTP Basic (client id and secret)")
    try:
        cid, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials are not base64 of id:secret") from None
    if not sep or not cid:
        raise OAuthError("invalid_client", "the Basic credentials are not base64 of id:secret")
    return cid, secret


@router.post("/auth/token", summary="OAuth2 client credentials (RFC 6749 §4.4, HTTP Basic client authentication)",
             responses={200: {"model": TokenBody}, **documented(oauth=True)}, openapi_extra=TOKEN_FORM)
async def token(request: Request) -> Response:
    """An access token for the client of the Basic credentials (form body ``grant_type=client_credentials``)."""
    if request.url.scheme != "https":
        raise OAuthError("invalid_request", "PACT requires HTTPS: this request came over plain HTTP")
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a body the form parser cannot read is the client's error
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded") from None
    grant = form.get("grant_type")
    if not isinstance(grant, str) or not grant:
        raise OAuthError("invalid_request", "grant_type is missing; it must be client_credentials")
    if grant != "client_credentials":
        raise OAuthError("unsupported_grant_type", f"grant_type {grant!r}: only client_credentials is supported")
    cid, secret = _basic(request)
    h = host(request)

    def check() -> clients.Client | None:
        with h.engine.connect() as conn:
            return clients.authenticate(conn, cid, secret)
    client = await run_in_threadpool(check)
    if client is None:
        raise OAuthError("invalid_client", "unknown client, wrong secret or disabled client")
    return JSONResponse({"access_token": h.signer.issue(client.client_id, client.customer), "token_type": "bearer",
                         "expires_in": TOKEN_SECONDS, "scope": SCOPE}, headers=NO_STORE)


@router.get("/.well-known/openid-configuration", summary="Where the token endpoint is (OpenID Connect Discovery)",
            responses={200: {"model": dict[str, Any]}, **documented(400)})
def openid_configuration(request: Request) -> JSONResponse:
    """The authorization server metadata of this host: its token endpoint and the grant it supports."""
    https(request)
    base = str(request.base_url).rstrip("/")
    return JSONResponse({"issuer": base, "token_endpoint": f"{base}/auth/token",
                         "grant_types_supported": ["client_credentials"],
                         "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                         "response_types_supported": ["token"], "scopes_supported": SCOPE.split()})


def _list(request: Request, version: str) -> JSONResponse:
    who = caller(request)
    h = host(request)
    if version == "3":
        match = filters.v3_match(filters.v3_criteria(request.query_params.multi_items()))
    else:
        unknown = sorted({k for k in request.query_params if k not in ("limit", "cursor", "$filter")})
        if unknown:
            raise PactError("BadRequest", f"unknown query parameter(s) {', '.join(unknown)}; v2 takes limit and $filter")
        match = filters.v2_match(request.query_params.get("$filter"))
    docs = [d for d in (_doc(f, version) for f in visible(h, who)) if match(d)]
    page, headers = h.pager.page(request, docs)
    return JSONResponse({"data": page}, headers=headers)


def _get(request: Request, pf_id: str, version: str) -> JSONResponse:
    who = caller(request)
    store = host(request).store
    found = store.get(pf_id)  # the store's id; a v2 document may carry an id of its own (gxopt.report.pact.pf_id)
    if found is None or _doc(found, version)["id"] != pf_id:
        found = next((f for f in store.all() if _doc(f, version)["id"] == pf_id), None)
    if found is None:
        raise PactError("NotFound", f"no footprint {pf_id}")
    if who.customer is not None and found.customer != who.customer:
        raise PactError("AccessDenied", f"footprint {pf_id} is not one of {who.customer}'s")
    return JSONResponse({"data": _doc(found, version)})


def _request_answer(h: Host, who: Caller, version: str, ev: events.Event, data: Any, base: str) -> dict[str, Any]:
    """The answer to a RequestCreatedEvent (built when it arrives, stored in the outbox as it will be sent)."""
    if version == "3":  # the declared filter fields only (validated); other keys of the event's data are ignored
        given = {k: getattr(data, k) for k in filters.V3_NAMES.values() if getattr(data, k, None) is not None}
        crit = {k.lower(): (v if isinstance(v, list) else [v.isoformat()]) for k, v in given.items()}
        products = crit.get("productid", [])
        match = filters.v3_match(crit)
    else:
        products, companies = data.pf.productIds or [], data.pf.companyIds or []
        match = filters.v3_match({k: v for k, v in (("productid", products), ("companyid", companies)) if v})
    if events.NULL_PRODUCT in products:
        return events.answer(version, ev.id, [], f"{events.NULL_PRODUCT} names no product", base)
    docs = [_doc(f, version) for f in visible(h, who) if match(f.v3)]
    return events.answer(version, ev.id, docs, None, base)


async def _events(request: Request, version: str) -> Response:
    who = await run_in_threadpool(caller, request)
    h = host(request)
    kind, ev, data = events.parse(await request.body(), version)
    if kind == "created":
        url = events.callback_url(ev.source, version)
        if url is None:
            raise PactError("BadRequest", f"source {ev.source!r}: no http(s) URL to send the answer to")
        if who.customer is None:
            raise PactError("AccessDenied", "footprint requests come from buyers' PACT clients, not gxopt users")
        if who.callback_url is None or clients.origin(url) != clients.origin(who.callback_url):
            raise PactError("AccessDenied", f"source {ev.source!r}: answers go only to the PACT host registered for "
                                            f"client {who.name} ({who.callback_url or 'none registered'}); the "
                                            "operator registers it with gxopt clients add --callback-url")
        base = f"{str(request.base_url).rstrip('/')}/{version}/events"
        answer = await run_in_threadpool(_request_answer, h, who, version, ev, data, base)
        await run_in_threadpool(h.outbox.submit, who.name, url, answer)  # committed before the 200
    return Response(status_code=200)


@router.get("/3/footprints", summary="ListFootprints (v3.0), with the v3 filters and pagination",
            responses={200: {"model": FootprintList}, **documented(400, 401, 403, 501)},
            openapi_extra={"parameters": [LIMIT, *V3_FILTERS]})
def list_v3(request: Request) -> JSONResponse:
    """The caller's footprints matching the filters, a page at a time (``Link: <...>; rel="next"``)."""
    return _list(request, "3")


@router.get("/3/footprints/{pf_id}", summary="GetFootprint (v3.0)",
            responses={200: {"model": FootprintOne}, **documented(400, 401, 403, 404)})
def get_v3(request: Request, pf_id: str) -> JSONResponse:
    """One footprint (404 NotFound if none, 403 AccessDenied if another customer's)."""
    return _get(request, pf_id, "3")


@router.post("/3/events", summary="Action Events (v3.0)", responses={200: {"description": "accepted"},
             **documented(400, 401, 403)}, openapi_extra=EVENT_BODY)
async def events_v3(request: Request) -> Response:
    """Accept a CloudEvent; a RequestCreatedEvent is answered later to its source."""
    return await _events(request, "3")


@router.get("/2/footprints", summary="ListFootprints (v2.3), with the $filter subset and pagination",
            responses={200: {"model": FootprintList}, **documented(400, 401, 403)},
            openapi_extra={"parameters": [LIMIT, V2_FILTER]})
def list_v2(request: Request) -> JSONResponse:
    """The caller's footprints matching ``$filter``, a page at a time (``Link: <...>; rel="next"``)."""
    return _list(request, "2")


@router.get("/2/footprints/{pf_id}", summary="GetFootprint (v2.3)",
            responses={200: {"model": FootprintOne}, **documented(400, 401, 403, 404)})
def get_v2(request: Request, pf_id: str) -> JSONResponse:
    """One footprint (404 NoSuchFootprint if none, 403 AccessDenied if another customer's)."""
    return _get(request, pf_id, "2")


@router.post("/2/events", summary="Action Events (v2.3)", responses={200: {"description": "accepted"},
             **documented(400, 401, 403)}, openapi_extra=EVENT_BODY)
async def events_v2(request: Request) -> Response:
    """Accept a CloudEvent; a ProductFootprintRequest.Created is answered later to its source."""
    return await _events(request, "2")
