"""The PACT host API (issue #13, protocol side): token flow and RFC 6749 errors, each version's error codes,
filters, pagination, customer isolation, events answered to a local receiver with a retry, HTTPS only."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient

from gxopt.ledger import clients, users
from gxopt.ledger.batch import batch
from gxopt.ledger.db import connect, writer
from gxopt.service.app import create_app
from gxopt.service.pact import events
from gxopt.service.pact.tokens import Signer
from tests.conftest import REPO

SCEN = REPO / "scenarios" / "jp-steel-fy2026"
A, B = "Tsubasa Motors", "Aozora Automobile Co."


@pytest.fixture(scope="module")
def pact(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path_factory.mktemp('pact') / 'gx.db'}"
    batch(SCEN, url)
    with writer(connect(url), "test") as c:
        creds = {who: clients.add(c, who) for who in (A, B)}
        op = users.add(c, "op-1", "operator")[1]
        planner = users.add(c, "pl-1", "planner")[1]
    with TestClient(create_app(SCEN, url), base_url="https://testserver") as client:  # runs the outbox thread
        yield client, creds, op, planner, url


def _token(client: TestClient, cred) -> str:  # type: ignore[no-untyped-def]
    got = client.post("/auth/token", auth=(cred[0].client_id, cred[1]), data={"grant_type": "client_credentials"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and got.headers["cache-control"] == "no-store"
    return str(body["access_token"])


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_endpoint_and_its_rfc6749_errors(pact) -> None:  # type: ignore[no-untyped-def]
    client, creds, *_ = pact
    cid = creds[A][0].client_id
    wrong = client.post("/auth/token", auth=(cid, "nope"), data={"grant_type": "client_credentials"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    none = client.post("/auth/token", data={"grant_type": "client_credentials"})
    assert none.status_code == 401 and none.json()["error"] == "invalid_client"
    grant = client.post("/auth/token", auth=(cid, creds[A][1]), data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    missing = client.post("/auth/token", auth=(cid, creds[A][1]))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    disc = client.get("/.well-known/openid-configuration").json()
    assert disc["token_endpoint"] == "https://testserver/auth/token"
    assert _token(client, creds[A])


def test_error_codes_per_version(pact, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, creds, _, planner, url = pact
    tok = _token(client, creds[A])
    for v, nf in (("3", "NotFound"), ("2", "NoSuchFootprint")):
        got = client.get(f"/{v}/footprints/00000000-0000-0000-0000-000000000000", headers=_h(tok))
        assert (got.status_code, got.json()["code"]) == (404, nf)
        bad = client.get(f"/{v}/footprints", headers=_h("very-invalid"))
        assert (bad.status_code, bad.json()["code"]) == (400, "BadRequest")
        assert client.get(f"/{v}/footprints").json()["code"] == "BadRequest"  # no token
        role = client.get(f"/{v}/footprints", headers=_h(planner))
        assert (role.status_code, role.json()["code"]) == (403, "AccessDenied")
    expired = Signer(connect(url)).issue(creds[A][0].client_id, A, seconds=-10)
    got = client.get("/3/footprints", headers=_h(expired))
    assert (got.status_code, got.json()["code"]) == (401, "TokenExpired")
    v2 = client.get("/2/footprints", params={"$filter": "pcf/declaredUnit eq 'kilogram'"}, headers=_h(tok))
    assert (v2.status_code, v2.json()["code"]) == (400, "NotImplemented")
    bad_date = client.get("/3/footprints", params={"validOn": "yesterday"}, headers=_h(tok))
    assert bad_date.status_code == 400 and "validOn" in bad_date.json()["message"]


def test_customer_isolation_and_the_operator_sees_all(pact) -> None:  # type: ignore[no-untyped-def]
    client, creds, op, *_ = pact
    ta, tb = _token(client, creds[A]), _token(client, creds[B])
    mine = client.get("/3/footprints", headers=_h(ta)).json()["data"]
    theirs = client.get("/3/footprints", headers=_h(tb)).json()["data"]
    every = client.get("/3/footprints", headers=_h(op)).json()["data"]
    assert mine and theirs and {d["id"] for d in mine}.isdisjoint({d["id"] for d in theirs})
    assert {d["id"] for d in mine} | {d["id"] for d in theirs} < {d["id"] for d in every}
    for v in ("3", "2"):
        other = client.get(f"/{v}/footprints", headers=_h(tb)).json()["data"][0]["id"]
        got = client.get(f"/{v}/footprints/{other}", headers=_h(ta))
        assert (got.status_code, got.json()["code"]) == (403, "AccessDenied")
        assert client.get(f"/{v}/footprints/{other}", headers=_h(op)).status_code == 200
        assert client.get(f"/{v}/footprints/{other}", headers=_h(tb)).json()["data"]["id"] == other


def test_pagination_walks_every_footprint_once(pact) -> None:  # type: ignore[no-untyped-def]
    client, creds, *_ = pact
    tok = _token(client, creds[A])
    for v in ("3", "2"):
        whole = [d["id"] for d in client.get(f"/{v}/footprints", headers=_h(tok)).json()["data"]]
        seen, url = [], f"/{v}/footprints?limit=4"
        while url:
            got = client.get(url, headers=_h(tok))
            assert got.status_code == 200 and len(got.json()["data"]) <= 4
            seen += [d["id"] for d in got.json()["data"]]
            link = got.headers.get("link")
            url = link[link.index("<") + 1:link.index(">")] if link else ""
            if url:
                assert url.startswith("https://testserver/") and link.endswith('rel="next"')
                assert client.get(url, headers=_h(tok)).json() == client.get(url, headers=_h(tok)).json()  # reusable
        assert seen == whole and len(whole) > 4
    forged = client.get("/3/footprints?limit=2&cursor=Mg.forged", headers=_h(tok))
    assert forged.status_code == 400 and forged.json()["code"] == "BadRequest"
    for bad in ("0", "-1", "²", "٣", "1.5", "x", "99999999999999999999"):  # "²".isdigit() is True, int("²") fails
        got = client.get("/3/footprints", params={"limit": bad}, headers=_h(tok))
        assert (got.status_code, got.json()["code"]) == (400, "BadRequest"), bad


def test_v3_filters_and_v2_filter(pact) -> None:  # type: ignore[no-untyped-def]
    client, creds, *_ = pact
    tok = _token(client, creds[A])
    docs = client.get("/3/footprints", headers=_h(tok)).json()["data"]
    first = docs[0]
    pid = first["productIds"][0]
    by_product = client.get("/3/footprints", params={"productid": pid.upper()}, headers=_h(tok)).json()["data"]
    assert by_product and all(pid in d["productIds"] for d in by_product)
    assert len(by_product) == sum(pid in d["productIds"] for d in docs)
    both = client.get("/3/footprints", params=[("productId", pid), ("productId", "urn:x:none"), ("status", "active")],
                      headers=_h(tok)).json()["data"]
    assert [d["id"] for d in both] == [d["id"] for d in by_product if d["status"] == "Active"]
    for name, value in (("geography", "XX"), ("validOn", "1900-01-01T00:00:00Z"), ("status", "Bogus"),
                        ("validAfter", "2099-01-01T00:00:00Z"), ("classification", "urn:x:none")):
        assert client.get("/3/footprints", params={name: value}, headers=_h(tok)).json()["data"] == [], name
    on = client.get("/3/footprints", params={"validOn": first["validityPeriodStart"]}, headers=_h(tok)).json()["data"]
    assert first["id"] in [d["id"] for d in on]
    v2 = client.get("/2/footprints", headers=_h(tok)).json()["data"]
    latest = max(d["created"] for d in v2)
    got = client.get("/2/footprints", params={"$filter": f"created ge '{latest}'"}, headers=_h(tok)).json()["data"]
    assert got and all(d["created"] >= latest for d in got) and len(got) <= len(v2)
    anyp = v2[0]["productIds"][0]
    got = client.get("/2/footprints", params={"$filter": f"productIds/any(p:(p eq '{anyp}'))"},
                     headers=_h(tok)).json()["data"]
    assert got and all(anyp in d["productIds"] for d in got)


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[str, dict]] = []  # type: ignore[type-arg]
    fail_first = True

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).fail_first:
            type(self).fail_first = False
            self.send_response(503)
        else:
            type(self).got.append((self.path, body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_request_created_events_are_answered_with_a_retry(pact) -> None:  # type: ignore[no-untyped-def]
    client, creds, op, _, url = pact
    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_port}"
        with writer(connect(url), "test") as c:  # A's system, with its PACT host registered for answers
            registered = clients.add(c, A, callback_url=base + "/")
        tok = _token(client, registered)
        outbox = client.app.state.outbox
        outbox.first_delay = 0.05  # the test's back-off; the first answer fails once
        pid = client.get("/3/footprints", headers=_h(tok)).json()["data"][0]["productIds"][0]
        ev = {"specversion": "1.0", "source": base, "time": "2026-12-04T00:00:00Z",
              "type": events.TYPES["3"]["created"]}
        # answers go to the registered host only: not to another address, not for a client without one
        for who, source in ((tok, "http://127.0.0.1:1"), (tok, "https://169.254.169.254"),
                            (_token(client, creds[B]), base), (op, base)):
            got = client.post("/3/events", json=ev | {"id": "x", "source": source, "data": {"productId": [pid]}},
                              headers=_h(who))
            assert (got.status_code, got.json()["code"]) == (403, "AccessDenied"), (source, got.text)
        for eid, products in (("req-1", [pid]), ("req-2", [events.NULL_PRODUCT])):
            got = client.post("/3/events", json=ev | {"id": eid, "data": {"productId": products}}, headers=_h(tok))
            assert got.status_code == 200 and got.content == b""
        deadline = time.time() + 30
        while len(_Receiver.got) < 2 and time.time() < deadline:
            time.sleep(0.05)
        answers = {b["data"]["requestEventId"]: (p, b) for p, b in _Receiver.got}
        assert answers["req-1"][0] == "/3/events" and answers["req-1"][1]["type"] == events.TYPES["3"]["fulfilled"]
        assert all(pid in d["productIds"] for d in answers["req-1"][1]["data"]["pfs"])
        assert answers["req-2"][1]["type"] == events.TYPES["3"]["rejected"]
        rows = [outbox.status(b["id"]) for _, b in _Receiver.got]
        while any(r["status"] != "sent" for r in rows) and time.time() < deadline:  # recorded just after the POST
            time.sleep(0.05)
            rows = [outbox.status(b["id"]) for _, b in _Receiver.got]
        assert [r["status"] for r in rows] == ["sent", "sent"] and all(r["url"] == base + "/3/events" for r in rows)
        assert sum(r["attempts"] for r in rows) == 3  # the 503 was retried
        assert [r["last_error"] for r in rows if r["attempts"] == 2] == [f"{base}/3/events answered 503"]
    finally:
        srv.shutdown()
        srv.server_close()


def test_events_are_validated(pact) -> None:  # type: ignore[no-untyped-def]
    client, creds, *_ = pact
    tok = _token(client, creds[A])
    for v in ("3", "2"):
        ev = {"specversion": "1.0", "id": "e1", "source": "https://example.invalid", "time": "2026-12-04T00:00:00Z",
              "type": events.TYPES[v]["published"]}
        ok = client.post(f"/{v}/events", json=ev | {"data": {"pfIds": ["3a6c14a7-4deb-498a-b5ea-16ce2535b576"]}},
                         headers=_h(tok))
        assert ok.status_code == 200
        for bad in (ev | {"data": {"pfIds": ["urn:gtin:4712345060507"]}}, ev | {"type": "x", "data": {}},
                    {"id": "only"}):
            got = client.post(f"/{v}/events", json=bad, headers=_h(tok))
            assert (got.status_code, got.json()["code"]) == (400, "BadRequest"), bad
        raw = client.post(f"/{v}/events", content=b"{not json", headers=_h(tok))
        assert raw.status_code == 400


def test_plain_http_is_refused_but_the_planners_api_works(pact) -> None:  # type: ignore[no-untyped-def]
    _, creds, op, _, url = pact
    plain = TestClient(create_app(SCEN, url))  # http://testserver
    got = plain.post("/auth/token", auth=(creds[A][0].client_id, creds[A][1]), data={"grant_type": "client_credentials"})
    assert got.status_code == 400 and "HTTPS" in got.json()["error_description"]
    for path in ("/3/footprints", "/2/footprints", "/.well-known/openid-configuration"):
        got = plain.get(path, headers=_h(op))
        assert got.status_code == 400 and "HTTPS" in got.json()["message"], path
    assert plain.get("/api/health").status_code == 200


def test_gxopt_serve_with_tls_builds_the_footprints_as_it_starts(pact) -> None:  # type: ignore[no-untyped-def]
    """warm_pact (gxopt serve with --tls-cert): the footprints are built before any buyer asks."""
    *_, url = pact
    app = create_app(SCEN, url, warm_pact=True)
    with TestClient(app, base_url="https://testserver"):
        deadline = time.time() + 60
        while getattr(getattr(app.state, "pact", None), "store", None) is None or app.state.pact.store._built is None:
            assert time.time() < deadline, "the footprints were not built in the background"
            time.sleep(0.05)
        assert app.state.pact.store._built.all  # built, with no PACT request made
    cold = create_app(SCEN, url)  # without TLS nothing is built in advance
    with TestClient(cold):
        time.sleep(0.2)
        assert getattr(cold.state, "pact", None) is None


def test_odd_request_events_are_a_400_or_ignored_never_a_500(pact) -> None:  # type: ignore[no-untyped-def]
    """Keys that only differ in case from a filter, ids that are not strings, nesting a parser cannot follow."""
    client, _, _, _, url = pact
    with writer(connect(url), "test") as c:
        registered = clients.add(c, A, callback_url="https://buyer-a.invalid")
    tok = _token(client, registered)
    outbox = client.app.state.outbox
    outbox.stop()  # nothing is sent in this test: the answers only have to be stored
    try:
        for v, data, code in (("3", {"productid": "x"}, 200), ("3", {"ProductId": [1]}, 200),
                              ("3", {"validon": "2026-01-01"}, 200), ("3", {"productId": [1]}, 400),
                              ("2", {"pf": {"productIds": 5}}, 400), ("2", {"pf": {"companyIds": [{}]}}, 400)):
            ev = {"specversion": "1.0", "id": f"odd-{v}-{len(str(data))}-{code}", "source": "https://buyer-a.invalid",
                  "time": "2026-12-04T00:00:00Z", "type": events.TYPES[v]["created"], "data": data}
            got = client.post(f"/{v}/events", json=ev, headers=_h(tok))
            assert got.status_code == code, (v, data, got.text)
        deep = client.post("/3/events", content=b"[" * 100_000, headers=_h(tok) | {"content-type": "application/json"})
        assert (deep.status_code, deep.json()["code"]) == (400, "BadRequest")
    finally:
        outbox.start()
