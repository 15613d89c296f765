"""Action Events (v2.3 §6.8, v3.0 "Action Events"): CloudEvents in structured mode, validated here (a 400
BadRequest naming the field otherwise). PublishedEvent and the answers to requests are accepted; a
RequestCreatedEvent is answered by a RequestFulfilledEvent (the requester's matching footprints) or a
RequestRejectedEvent (none match, or the request names ``urn:pact:null``), POSTed to the requester's events
endpoint, retried with exponential back-off and given up after 72 hours, as the spec says.

The answer is built when the request arrives and stored in the ledger's ``pact_outbox`` before the 200 (so a
restart loses nothing accepted); :class:`Outbox`, a thread in each service process, claims due rows one at a time
(no two processes send one at once) and sends them. Delivery is at least once: an answer whose outcome could not
be recorded (the process died mid-attempt) is sent again with the same event id when its claim ends. An attempt
is cut off after :data:`ATTEMPT_SECONDS` (well inside its claim), never follows a redirect (the answer goes to the
host registered for the client and nowhere else) and sends the callback credentials over https only."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from gxopt.ledger.db import stamp, writer
from gxopt.ledger.tables import pact_outbox
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
ATTEMPT_SECONDS = 60.0  # a whole attempt (token, POST, answer) is cut off by then
LEASE_SECONDS = 120.0  # a claim outlasts the slowest attempt (ATTEMPT_SECONDS), so one process sends a row at a time
MAX_ANSWER = 65536  # bytes of a receiver's answer read (and ignored)
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


class RequestedPf(_Loose):
    """What a v2.3 request names of the footprints it wants (ids as strings; other fields are kept, unused)."""

    productIds: list[str] | None = None
    companyIds: list[str] | None = None


class CreatedV2(_Loose):
    pf: RequestedPf
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
    except RecursionError:
        raise PactError("BadRequest", "the event is nested too deeply to be an event") from None
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


Post = Callable[[str, dict[str, Any]], None]


def post(url: str, event: dict[str, Any], deadline: float = ATTEMPT_SECONDS) -> None:
    """POST ``event`` to ``url`` and read the answer, the whole attempt within ``deadline`` seconds (a receiver
    that drips its answer is cut off); raises on anything but 2xx. A redirect is never followed (a 3xx is a
    failure): the answer goes to the registered host and nowhere else. With CALLBACK_CLIENT set and an https
    ``url``, a bearer token from the receiver's /auth/token first; credentials never travel over plain http."""
    end = time.monotonic() + deadline
    parts = urlsplit(url)
    headers = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}
    cred = os.environ.get(CALLBACK_CLIENT)
    if cred and parts.scheme == "https":
        status, body = _exchange(parts, "/auth/token", b"grant_type=client_credentials", {
            "Authorization": "Basic " + base64.b64encode(cred.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"}, end)
        if not 200 <= status < 300:
            raise RuntimeError(f"{parts.scheme}://{parts.netloc}/auth/token answered {status}")
        try:
            headers["Authorization"] = "Bearer " + str(json.loads(body)["access_token"])
        except (ValueError, KeyError, TypeError):
            raise RuntimeError(f"{parts.scheme}://{parts.netloc}/auth/token gave no access_token") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    status, _ = _exchange(parts, path, json.dumps(event).encode(), headers, end)
    if not 200 <= status < 300:
        raise RuntimeError(f"{url} answered {status}")


def _exchange(parts: SplitResult, path: str, body: bytes, headers: dict[str, str], end: float) -> tuple[int, bytes]:
    """One POST on a connection of its own, cut off at ``end`` (time.monotonic) by closing its socket."""
    left = end - time.monotonic()
    if left <= 0:
        raise RuntimeError("no time left for the attempt")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname or "", parts.port, timeout=min(10.0, left))
    watchdog = threading.Timer(left, _cut, args=(conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read(MAX_ANSWER)
    except (OSError, http.client.HTTPException) as exc:
        late = " (cut off: the attempt ran out of time)" if time.monotonic() >= end else ""
        raise RuntimeError(f"{parts.scheme}://{parts.netloc}{path}: {exc or type(exc).__name__}{late}") from None
    finally:
        watchdog.cancel()
        conn.close()


def _cut(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class Outbox:
    """The ledger's ``pact_outbox`` and the thread that sends it, one per service process (started and stopped with
    the app). Attempt n+1 of an event waits ``first_delay`` * 2**(n-1) seconds (at most an hour); the event is
    given up when its next attempt would start more than :data:`GIVE_UP_SECONDS` after it was submitted. A row is
    claimed for ``lease`` seconds before it is sent, so no two processes send it at once; ``poll`` is how often
    the thread looks for rows other processes submitted or a restart left. ``clock`` is for tests."""

    def __init__(self, engine: sa.Engine, send: Post = post, first_delay: float = 2.0, poll: float = 5.0,
                 lease: float = LEASE_SECONDS, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                 ) -> None:
        self.engine, self.first_delay, self.poll, self.lease = engine, first_delay, poll, lease
        self._send, self._clock = send, clock
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, client_id: str, url: str, event: dict[str, Any]) -> str:
        """Store ``event`` for ``url`` (committed when this returns) and wake the thread; the event's id."""
        at = stamp(self._clock())
        with writer(self.engine, f"pact answer for {client_id}") as conn:
            conn.execute(sa.insert(pact_outbox).values(
                event_id=event["id"], client_id=client_id, url=url, event=json.dumps(event), created_at=at,
                due_at=at, attempts=0, status="pending"))
        self._wake.set()
        return str(event["id"])

    def status(self, event_id: str) -> dict[str, Any] | None:
        """The outbox row of ``event_id`` (status, attempts, last_error, ...), None if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(pact_outbox).where(pact_outbox.c.event_id == event_id)).mappings().first()
        return None if row is None else dict(row)

    def start(self) -> None:
        """Start the sending thread (once; again after :meth:`stop`)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="pact-outbox", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread after the attempt it is making (a row it had claimed is retried when its lease ends)."""
        self._stop.set()
        self._wake.set()
        with self._start_lock:
            if self._thread is not None:
                self._thread.join(timeout)
                self._thread = None

    def run_due(self) -> int:
        """Claim and send every row that is due now, one at a time; how many were attempted."""
        done = 0
        while not self._stop.is_set():
            claimed = self._claim()
            if claimed is None:
                return done
            self._attempt(*claimed)
            done += 1
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = self.poll
            try:
                self.run_due()
                wait = self._until_next()
            except Exception:  # noqa: BLE001 - the database may be away or busy; the rows are safe, try later
                log.exception("PACT outbox: cannot reach the ledger; trying again in %g s", self.poll)
            self._wake.wait(wait)

    def _until_next(self) -> float:
        """Seconds until the earliest pending row is due (at most ``poll``)."""
        with self.engine.connect() as conn:
            due = conn.execute(sa.select(sa.func.min(pact_outbox.c.due_at))
                               .where(pact_outbox.c.status == "pending")).scalar()
        if due is None:
            return self.poll
        return min(self.poll, max(0.0, (dt.datetime.fromisoformat(due) - self._clock()).total_seconds()))

    def _claim(self) -> tuple[dict[str, Any], str] | None:
        """A due row, leased to this process by a conditional update (so only one process wins it) that also
        counts the attempt (so an attempt whose result is lost still counts toward giving up), and the lease's end;
        None when nothing is due. A row whose 72 hours are over is given up here instead of sent."""
        while True:
            now = self._clock()
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(pact_outbox).where(pact_outbox.c.status == "pending",
                                                                pact_outbox.c.due_at <= stamp(now))
                                   .order_by(pact_outbox.c.due_at).limit(1)).mappings().first()
            if row is None:
                return None
            until = stamp(now + dt.timedelta(seconds=self.lease))
            expired = (now - dt.datetime.fromisoformat(row["created_at"])).total_seconds() > GIVE_UP_SECONDS
            values = {"status": "gave_up"} if expired else {"due_at": until, "attempts": row["attempts"] + 1}
            with writer(self.engine, "pact outbox claim") as conn:
                won = conn.execute(sa.update(pact_outbox).where(
                    pact_outbox.c.event_id == row["event_id"], pact_outbox.c.due_at == row["due_at"],
                    pact_outbox.c.status == "pending").values(**values)).rowcount == 1
            if won and expired:
                log.warning("PACT outbox: gave up sending event %s to %s after %d attempts over 72 hours",
                            row["event_id"], row["url"], row["attempts"])
            elif won:
                return dict(row), until

    def _attempt(self, row: dict[str, Any], until: str) -> None:
        """POST a claimed row (outside any transaction), then record the outcome if the lease is still ours."""
        error = None
        try:
            self._send(row["url"], json.loads(row["event"]))
        except Exception as exc:  # noqa: BLE001 - any failure of the receiver means: try again later
            error = str(exc) or type(exc).__name__
        now = self._clock()
        attempts = row["attempts"] + 1  # counted by the claim
        values: dict[str, Any] = {}
        if error is None:
            values |= {"status": "sent", "sent_at": stamp(now)}
        else:
            due = now + dt.timedelta(seconds=min(3600.0, self.first_delay * 2 ** (attempts - 1)))
            given_up = (due - dt.datetime.fromisoformat(row["created_at"])).total_seconds() > GIVE_UP_SECONDS
            values |= {"last_error": error[:2000], "due_at": stamp(due)} | ({"status": "gave_up"} if given_up else {})
            if given_up:
                log.warning("PACT outbox: gave up sending event %s to %s after %d attempts over 72 hours: %s",
                            row["event_id"], row["url"], attempts, error)
        with writer(self.engine, "pact outbox result") as conn:
            kept = conn.execute(sa.update(pact_outbox).where(
                pact_outbox.c.event_id == row["event_id"], pact_outbox.c.due_at == until,
                pact_outbox.c.status == "pending").values(**values)).rowcount == 1
        if not kept:
            log.warning("PACT outbox: the claim on event %s ended before its attempt did (another process may "
                        "send it again; the receiver deduplicates by event id)", row["event_id"])
