"""Action Events (v2.3 §6.8, v3.0 "Action Events"): CloudEvents in structured mode, validated here (a 400
BadRequest naming the field otherwise). PublishedEvent and the answers to requests are accepted; a
RequestCreatedEvent is accepted with 200 and answered later by :class:`Outbox`, a background thread that POSTs a
RequestFulfilledEvent (the requester's matching footprints) or a RequestRejectedEvent (none match, or the
request names ``urn:pact:null``) to the requester's events endpoint, retrying with exponential back-off and
giving up after 72 hours, as the spec says."""

from __future__ import annotations

import base64
import datetime as dt
import heapq
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from gxopt.service.pact.errors import PactError

log = logging.getLogger("gxopt.pact.events")
TYPES = {
    "2": {"created": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
          "fulfilled": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
          "rejected": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
          "published": "org.wbcsd.pathfinder.ProductFootprint.Published.v1"},
    "3": {"created": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
          "fulfilled": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3",
          "rejected": "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3",
          "published": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"},
}
NULL_PRODUCT = "urn:pact:null"
GIVE_UP_SECONDS = 72 * 3600
CALLBACK_CLIENT = "GXOPT_PACT_CALLBACK_CLIENT"  # "id:secret" for the requesters' /auth/token, if they ask for one


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class Event(_Loose):
    """The CloudEvents envelope both versions share."""

    type: str
    specversion: str = Field(min_length=1)
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    time: AwareDatetime
    data: dict[str, Any]


class Published(_Loose):
    pfIds: list[uuid.UUID] = Field(min_length=1)


class CreatedV3(_Loose):
    productId: list[str] | None = None
    companyId: list[str] | None = None
    geography: list[str] | None = None
    classification: list[str] | None = None
    validOn: AwareDatetime | None = None
    validAfter: AwareDatetime | None = None
    validBefore: AwareDatetime | None = None
    status: list[str] | None = None
    comment: str | None = None


class CreatedV2(_Loose):
    pf: dict[str, Any]
    comment: str | None = None


class Answer(_Loose):
    requestEventId: str = Field(min_length=1)


DATA = {"published": Published, "fulfilled": Answer, "rejected": Answer}


def parse(body: bytes, version: str) -> tuple[str, Event, BaseModel]:
    """(kind, envelope, data) of an event body; PactError BadRequest naming what is wrong."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PactError("BadRequest", f"the event is not JSON: {exc}") from None
    try:
        ev = Event.model_validate(raw)
        kind = next((k for k, t in TYPES[version].items() if t == ev.type), None)
        if kind is None:
            raise PactError("BadRequest", f"type {ev.type!r} is not an event of PACT v{version}: "
                                          + ", ".join(TYPES[version].values()))
        model = (CreatedV3 if version == "3" else CreatedV2) if kind == "created" else DATA[kind]
        return kind, ev, model.model_validate(ev.data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise PactError("BadRequest", f"invalid event: {where}") from None


def callback_url(source: str, version: str) -> str | None:
    """Where the answer to a request from ``source`` goes: ``source`` itself when it is an events endpoint,
    else ``source``/{version}/events; None when ``source`` is no http(s) URL ("//host/..." means https)."""
    url = "https:" + source if source.startswith("//") else source
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url if parts.path.rstrip("/").endswith("/events") else f"{url.rstrip('/')}/{version}/events"


def answer(version: str, request_id: str, docs: list[dict[str, Any]], reject: str | None, source: str) -> dict[str, Any]:
    """The RequestFulfilledEvent with ``docs``, or the RequestRejectedEvent when ``reject`` says why."""
    kind = "rejected" if reject or not docs else "fulfilled"
    data: dict[str, Any] = {"requestEventId": request_id}
    if kind == "fulfilled":
        data["pfs"] = docs
    else:
        code = "NoSuchFootprint" if version == "2" else "NotFound"
        data["error"] = {"code": code, "message": reject or "no footprint matches the request"}
    return {"type": TYPES[version][kind], "specversion": "1.0", "id": str(uuid.uuid4()), "source": source,
            "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}


@dataclass(order=True)
class Delivery:
    """One event on its way to ``url``."""

    due: float
    url: str = field(compare=False)
    make: Callable[[], dict[str, Any]] = field(compare=False)  # the event, built in the worker on first attempt
    event: dict[str, Any] | None = field(default=None, compare=False)
    attempt: int = field(default=0, compare=False)
    first: float = field(default_factory=time.time, compare=False)


Post = Callable[[str, dict[str, Any]], None]


def post(url: str, event: dict[str, Any]) -> None:
    """POST ``event`` to ``url`` (a bearer token from the receiver's /auth/token when CALLBACK_CLIENT is set);
    raises on anything but 2xx."""
    headers = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}
    cred = os.environ.get(CALLBACK_CLIENT)
    if cred:
        p = urlsplit(url)
        req = urllib.request.Request(f"{p.scheme}://{p.netloc}/auth/token", data=b"grant_type=client_credentials",
                                     headers={"Authorization": "Basic " + base64.b64encode(cred.encode()).decode(),
                                              "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10) as r:
            headers["Authorization"] = "Bearer " + json.loads(r.read())["access_token"]
    req = urllib.request.Request(url, data=json.dumps(event).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise RuntimeError(f"{url} answered {exc.code}") from None


class Outbox:
    """Events to send, in a daemon thread: attempt n+1 waits ``first_delay`` * 2**n seconds (at most an hour);
    an event is dropped after :data:`GIVE_UP_SECONDS`. ``sent`` and ``failed`` count outcomes (for tests, health)."""

    def __init__(self, send: Post = post, first_delay: float = 2.0) -> None:
        self._send, self._delay = send, first_delay
        self._queue: list[Delivery] = []
        self._cv = threading.Condition()
        self.sent: list[Delivery] = []
        self.failed: list[tuple[Delivery, str]] = []
        threading.Thread(target=self._run, name="pact-outbox", daemon=True).start()

    def submit(self, url: str, make: Callable[[], dict[str, Any]]) -> None:
        """Queue the event ``make()`` builds (in the worker, not in the request) for ``url``."""
        with self._cv:
            heapq.heappush(self._queue, Delivery(time.time(), url, make))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue or self._queue[0].due > time.time():
                    self._cv.wait(None if not self._queue else max(0.0, self._queue[0].due - time.time()))
                d = heapq.heappop(self._queue)
            try:
                if d.event is None:
                    d.event = d.make()
                self._send(d.url, d.event)
            except Exception as exc:  # noqa: BLE001 - any failure of the receiver means: try again later
                self.failed.append((d, str(exc)))
                d.attempt += 1
                d.due = time.time() + min(3600.0, self._delay * 2 ** (d.attempt - 1))
                if d.due - d.first <= GIVE_UP_SECONDS:
                    with self._cv:
                        heapq.heappush(self._queue, d)
                else:
                    log.warning("gave up sending an event to %s after %d attempts", d.url, d.attempt)
                continue
            self.sent.append(d)
