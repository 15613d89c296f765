"""The PACT outbox on the ledger (``gxopt/service/pact/events.py::Outbox``, table ``pact_outbox``): an accepted
answer survives a restart, two processes' outboxes send each answer exactly once, a claimed row whose process died
is sent by another when the claim ends, the back-off schedule and giving up after 72 hours, and the thread
outliving database errors. On SQLite and (GXOPT_TEST_PG_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gxopt.ledger.db import connect, writer
from gxopt.ledger.tables import pact_outbox
from gxopt.service.app import create_app
from gxopt.service.pact import events
from gxopt.service.pact.events import GIVE_UP_SECONDS, Outbox
from tests.conftest import REPO
from tests.ledger_support import db_url  # noqa: F401  (fixture)

SCEN = REPO / "scenarios" / "jp-steel-fy2026"
T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


def _event() -> dict[str, Any]:
    return events.answer("3", f"req-{uuid.uuid4()}", [], None, "https://steel.example/3/events")


class _Receiver:
    """A local events endpoint recording the id of every POST it gets (after ``delay`` seconds)."""

    def __init__(self, port: int = 0, delay: float = 0.0) -> None:
        got: list[str] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                with lock:
                    got.append(body["id"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.got = got
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/3/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _until(done: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.time() + seconds
    while not done():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_accepted_answer_survives_a_restart(db_url: str) -> None:  # noqa: F811
    port = _free_port()  # nothing listens there yet: the receiver is down
    first = Outbox(connect(db_url), first_delay=0.05, poll=0.1)
    first.start()
    eid = first.submit("client-1", f"http://127.0.0.1:{port}/3/events", _event())
    _until(lambda: first.status(eid)["attempts"] >= 2)
    first.stop()  # the process ends with the answer undelivered
    row = first.status(eid)
    assert row["status"] == "pending" and row["last_error"] and row["sent_at"] is None
    receiver = _Receiver(port)
    try:
        app = create_app(SCEN, db_url)  # a new process on the same ledger: its startup starts the thread
        with TestClient(app):
            _until(lambda: app.state.outbox.status(eid)["status"] == "sent")
        assert app.state.outbox._thread is None  # stopped with the app
        assert receiver.got == [eid]
        assert app.state.outbox.status(eid)["attempts"] == row["attempts"] + 1
    finally:
        receiver.close()


def test_two_outboxes_on_one_ledger_send_each_answer_exactly_once(db_url: str) -> None:  # noqa: F811
    receiver = _Receiver(delay=0.01)  # a slow receiver widens the window in which both could pick one row
    # two engines with their own connection pools, as two gxopt serve workers have
    a = Outbox(connect(db_url), first_delay=0.05, poll=0.05)
    b = Outbox(connect(db_url, wait=59.0), first_delay=0.05, poll=0.05)
    try:
        a.start()
        b.start()
        ids = [(a if i % 2 else b).submit(f"client-{i % 3}", receiver.url, _event()) for i in range(40)]
        engine = connect(db_url)

        def sent() -> int:
            with engine.connect() as c:
                return int(c.execute(sa.select(sa.func.count()).select_from(pact_outbox)
                                     .where(pact_outbox.c.status == "sent")).scalar_one())
        _until(lambda: sent() == len(ids))
    finally:
        a.stop()
        b.stop()
        receiver.close()
    assert sorted(receiver.got) == sorted(ids)  # every answer, none twice


def test_a_claim_whose_process_died_is_sent_by_another_when_it_ends(db_url: str) -> None:  # noqa: F811
    engine = connect(db_url)

    def dies(url: str, event: dict[str, Any]) -> None:
        raise KeyboardInterrupt  # the process is gone mid-attempt: nothing after the claim is recorded

    first = Outbox(engine, send=dies, clock=lambda: T0)
    eid = first.submit("client-1", "http://127.0.0.1:1/3/events", _event())
    with pytest.raises(KeyboardInterrupt):
        first.run_due()
    sent: list[str] = []
    during = Outbox(engine, send=lambda url, ev: sent.append(ev["id"]), clock=lambda: T0 + dt.timedelta(seconds=60))
    assert during.run_due() == 0 and sent == []  # the claim holds for its lease
    after = Outbox(engine, send=lambda url, ev: sent.append(ev["id"]),
                   clock=lambda: T0 + dt.timedelta(seconds=events.LEASE_SECONDS + 1))
    assert after.run_due() == 1 and sent == [eid]
    assert after.status(eid)["status"] == "sent"


def test_back_off_doubles_to_an_hour_and_gives_up_after_72_hours(db_url: str, caplog) -> None:  # noqa: F811
    now = [T0]
    tries: list[dt.datetime] = []

    def down(url: str, event: dict[str, Any]) -> None:
        tries.append(now[0])
        raise ConnectionRefusedError("connection refused")

    box = Outbox(connect(db_url), send=down, first_delay=2.0, clock=lambda: now[0])
    eid = box.submit("client-1", "http://127.0.0.1:1/3/events", _event())
    with caplog.at_level(logging.WARNING, logger="gxopt.pact.events"):
        while (row := box.status(eid))["status"] == "pending":
            now[0] = dt.datetime.fromisoformat(row["due_at"])
            assert box.run_due() == 1
    waits = [(b - a).total_seconds() for a, b in zip(tries, tries[1:], strict=False)]
    assert waits[:12] == [2.0 * 2 ** k for k in range(11)] + [3600.0]  # 2 s, 4 s, ... 2048 s, then hourly
    assert set(waits[12:]) == {3600.0}
    assert (tries[-1] - T0).total_seconds() <= GIVE_UP_SECONDS < (tries[-1] - T0).total_seconds() + 3600
    assert row["status"] == "gave_up" and row["attempts"] == len(tries) and row["last_error"] == "connection refused"
    assert any("gave up" in r.getMessage() and eid in r.getMessage() for r in caplog.records)
    now[0] = T0 + dt.timedelta(days=30)
    assert box.run_due() == 0 and len(tries) == row["attempts"]  # never sent again


def test_the_thread_outlives_database_errors(db_url: str, caplog) -> None:  # noqa: F811
    engine = connect(db_url)
    receiver = _Receiver()
    box = Outbox(engine, first_delay=0.05, poll=0.05)
    try:
        with caplog.at_level(logging.ERROR, logger="gxopt.pact.events"):
            with writer(engine, "test") as c:
                c.exec_driver_sql("ALTER TABLE pact_outbox RENAME TO pact_outbox_away")
            box.start()
            _until(lambda: any("cannot reach the ledger" in r.getMessage() for r in caplog.records))
            with writer(engine, "test") as c:
                c.exec_driver_sql("ALTER TABLE pact_outbox_away RENAME TO pact_outbox")
        eid = box.submit("client-1", receiver.url, _event())
        _until(lambda: box.status(eid)["status"] == "sent")
        assert receiver.got == [eid]
    finally:
        box.stop()
        receiver.close()


def _server(handle: Callable[[BaseHTTPRequestHandler], None]) -> tuple[ThreadingHTTPServer, str, list[tuple[str, str, str | None]]]:
    """A local server calling ``handle`` for every request; (server, base URL, (method, path, Authorization) seen)."""
    seen: list[tuple[str, str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            seen.append((self.command, self.path, self.headers.get("Authorization")))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            handle(self)

        do_GET = do_POST = _any  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}", seen


def test_an_answer_never_follows_a_redirect_nor_sends_credentials_over_http(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A receiver's 302 is a failed attempt, not a delivery, and gxopt calls nothing else; the callback client's
    credentials are sent only over https."""
    def ok(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()
    inner, inner_url, inner_seen = _server(ok)

    def moved(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", f"{inner_url}/internal/admin")
        h.send_header("Content-Length", "0")
        h.end_headers()
    outer, outer_url, outer_seen = _server(moved)
    monkeypatch.setenv(events.CALLBACK_CLIENT, "gxopt:a-secret")
    try:
        with pytest.raises(RuntimeError, match="answered 302"):
            events.post(f"{outer_url}/3/events", _event())
        assert inner_seen == []  # the redirect was not followed
        assert [(m, p) for m, p, _ in outer_seen] == [("POST", "/3/events")]  # no /auth/token over plain http
        assert outer_seen[0][2] is None
    finally:
        for s in (inner, outer):
            s.shutdown()
            s.server_close()


def test_a_receiver_that_drips_its_answer_is_cut_off_and_the_attempt_counts(db_url: str) -> None:  # noqa: F811
    """An attempt ends by its deadline however slowly the receiver answers, inside the claim, so two outboxes never
    send the row at once and the attempt is counted toward giving up."""
    def drip(h: BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":  # each byte well within the socket
            try:                                                          # timeout, the whole far beyond the deadline
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.25)
        h.close_connection = True
    srv, base, seen = _server(drip)
    engine = connect(db_url)
    send = lambda url, ev: events.post(url, ev, deadline=1.0)  # noqa: E731
    a = Outbox(engine, send=send, first_delay=3600.0, lease=3.0)
    b = Outbox(connect(db_url, wait=59.0), send=send, first_delay=3600.0, lease=3.0)
    try:
        eid = a.submit("c1", f"{base}/3/events", _event())
        runs = [threading.Thread(target=box.run_due) for box in (a, b)]
        for t in runs:
            t.start()
        for t in runs:
            t.join(30)
        row = a.status(eid)
        assert row is not None and row["status"] == "pending" and row["attempts"] == 1
        assert "ran out of time" in (row["last_error"] or "")  # cut off at its 1 s deadline, not sent after 10 s
        assert len(seen) == 1  # one POST: the other outbox found nothing due
    finally:
        srv.shutdown()
        srv.server_close()
