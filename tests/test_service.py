"""The planners' service (issue #12, first routes): health, availability and quotes over the ledger, with roles
checked at every route (the matrix is generated from the route table, so a new route cannot be forgotten)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from gxopt.cli import app as cli
from gxopt.ledger import users
from gxopt.ledger.batch import batch
from gxopt.ledger.db import connect, writer
from gxopt.ledger.tables import ROLES
from gxopt.service.app import create_app, is_page, roles_of
from tests.conftest import REPO
from tests.ledger_support import BACKENDS, fresh_db

SCEN = REPO / "scenarios" / "jp-steel-fy2026"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path_factory.mktemp('svc') / 'gx.db'}"
    batch(SCEN, url)
    tokens = {}
    with writer(connect(url), "test users") as c:
        for role in ROLES:
            tokens[role] = users.add(c, f"{role}-1", role)[1]
    return TestClient(create_app(SCEN, url)), tokens, url


# What each role may do, from the issue's words (planner: availability, quotes, own holds, bookings; operator:
# everything a planner can plus batches, voids, anyone's holds; auditor: read-only ledger; admin: users).
# Every route of the app must be listed here, so a new route cannot be forgotten.
RIGHTS = {
    ("GET", "/api/health"): None,  # open: is the service up
    ("GET", "/api/availability"): {"planner", "operator"},
    ("POST", "/api/quotes"): {"planner", "operator"},
    ("POST", "/api/holds"): {"planner", "operator"},
    ("GET", "/api/holds"): {"planner", "operator"},
    ("DELETE", "/api/holds/{hold_id}"): {"planner", "operator"},
    ("POST", "/api/orders"): {"planner", "operator"},
    ("GET", "/api/certificates"): {"operator", "auditor"},
    ("GET", "/api/certificates/{certificate_id}"): {"operator", "auditor"},
    ("GET", "/api/certificates/{certificate_id}.pdf"): {"operator", "auditor"},
    ("POST", "/api/batches"): {"operator"},
    ("GET", "/api/batches"): {"operator", "auditor"},
    ("POST", "/api/certificates/{certificate_id}/void"): {"operator"},
    ("GET", "/api/users"): {"admin"},
    ("POST", "/api/users"): {"admin"},
    ("POST", "/api/users/{name}/disable"): {"admin"},
    ("GET", "/api/actions"): {"admin", "auditor", "operator"},
    ("GET", "/admin"): {"admin"},
    ("GET", "/api/ledger/verify"): {"operator", "auditor"},
    ("GET", "/login"): None, ("POST", "/login"): None, ("POST", "/logout"): None,  # open: logging in and out
    ("GET", "/"): {"planner", "operator", "auditor", "admin"},
    ("GET", "/planner"): {"planner", "operator"},
    ("GET", "/operator"): {"operator"},
    ("GET", "/auditor"): {"auditor", "operator"},
    # PACT host API (#13): no gxopt role gate; its own rules (HTTPS only, client credentials or an operator/auditor
    # token, a client sees its customer's footprints) are tested in tests/test_pact_host.py
    ("POST", "/auth/token"): None, ("GET", "/.well-known/openid-configuration"): None,
    ("GET", "/3/footprints"): None, ("GET", "/3/footprints/{pf_id}"): None, ("POST", "/3/events"): None,
    ("GET", "/2/footprints"): None, ("GET", "/2/footprints/{pf_id}"): None, ("POST", "/2/events"): None,
}
PACT_PATHS = {p for (_, p), roles in RIGHTS.items() if p.startswith(("/auth/", "/.well-known/", "/2/", "/3/"))}
OPEN_PAGES = {"/api/health", "/login", "/logout", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"} | PACT_PATHS


def _call(client: TestClient, route: APIRoute, token: str | None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = sorted(route.methods)[0]
    body = {"product": "NOPE", "delivery": "2026-10-01", "method": "mass_balance", "days": 1} if method == "POST" else None
    path = route.path.replace("{hold_id}", "HOLD-NONE").replace("{certificate_id}", "GX-NONE").replace("{name}", "nobody")
    if (method, route.path) == ("POST", "/api/batches"):
        body = None
    if (method, route.path) == ("POST", "/api/orders"):
        body = {"hold_id": "HOLD-NONE", "order_id": "X1", "premium": 1}
    return client.request(method, path, headers=headers, json=body, follow_redirects=False)


def _routes(app) -> list:  # type: ignore[no-untyped-def, type-arg]
    """Every route of ``app``, those of included routers (FastAPI keeps them as one entry) too."""
    out = []
    for r in app.routes:
        inner = getattr(r, "original_router", None)
        out += list(inner.routes) if inner is not None else [r]
    return out


def test_every_route_serves_exactly_its_roles(service) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = service
    routes = [r for r in _routes(client.app) if isinstance(r, APIRoute)]
    assert {(m, r.path) for r in routes for m in r.methods} == set(RIGHTS)
    assert {r.path for r in _routes(client.app) if roles_of(r) is None} <= OPEN_PAGES  # nothing else is open
    for route in routes:
        allowed = roles_of(route)
        expected = RIGHTS[(sorted(route.methods)[0], route.path)]
        assert (set(allowed) if allowed is not None else None) == expected, route.path
        if allowed is None:
            assert _call(client, route, None).status_code < 500, route.path
            continue
        nobody = 303 if is_page(route) else 401  # a page sends the browser to the login page
        assert _call(client, route, None).status_code == nobody, route.path
        assert _call(client, route, "gxt_" + "0" * 32 + "_" + "A" * 43).status_code == nobody, route.path
        for role, token in tokens.items():
            code = _call(client, route, token).status_code
            assert (code == 403) == (role not in allowed), (route.path, role, code)
            assert code < 500, (route.path, role, code)


def test_quote_over_http_is_the_cli_quote(service) -> None:  # type: ignore[no-untyped-def]
    client, tokens, url = service
    auth = {"Authorization": f"Bearer {tokens['planner']}"}
    rows = client.get("/api/availability", params={"delivery": "2026-10-01"}, headers=auth).json()
    product = next(r["product_id"] for r in rows if r["method"] == "mass_balance" and r["gx_tonnage_t"] > 0)
    body = {"product": product, "delivery": "2026-10-01", "method": "mass_balance", "reps_per_t": 0.5}
    got = client.post("/api/quotes", json=body, headers=auth)
    assert got.status_code == 200, got.text
    cli_out = CliRunner().invoke(cli, ["quote", str(SCEN), "--product", product, "--delivery", "2026-10-01",
                                       "--method", "mass_balance", "--reps-per-t", "0.5", "--db", url, "--json"])
    assert cli_out.exit_code == 0, cli_out.output
    assert got.json() == json.loads(cli_out.stdout)  # the same numbers to the last digit
    assert got.json()["gx_tonnage_t"] > 0


def test_bad_requests_are_4xx_naming_the_field(service) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = service
    auth = {"Authorization": f"Bearer {tokens['operator']}"}
    unknown = client.post("/api/quotes", json={"product": "NOPE", "delivery": "2026-10-01", "method": "allocation"},
                          headers=auth)
    assert unknown.status_code == 404 and "NOPE" in unknown.text
    bad = client.post("/api/quotes", json={"product": "HG-HRC-B1", "delivery": "2026-13-01", "method": "x"},
                      headers=auth)
    assert bad.status_code == 422 and {tuple(d["loc"])[-1] for d in bad.json()["detail"]} >= {"delivery", "method"}
    rule = client.post("/api/quotes", json={"product": "HG-HRC-B1", "delivery": "2026-10-01",
                                            "method": "mass_balance", "alpha": 0.5}, headers=auth)
    assert rule.status_code == 422 and "GX Allocation" in rule.text  # alpha is for GX Allocation (a quote rule)


def test_availability_and_a_disabled_token(service) -> None:  # type: ignore[no-untyped-def]
    client, tokens, url = service
    got = client.get("/api/availability", params={"delivery": "2026-10-01"},
                     headers={"Authorization": f"Bearer {tokens['planner']}"})
    assert got.status_code == 200
    rows = got.json()
    assert {r["method"] for r in rows} == {"mass_balance", "allocation"} and any(r["gx_tonnage_t"] > 0 for r in rows)
    # a pool the batch used up is said to have nothing left, not to be drained by "booked orders and this quote"
    dry = [b for r in rows if r["gx_tonnage_t"] == 0 for b in r["binding"] if "no REPs left to promise" in b]
    assert dry and not any("all 0.0 t-CO2e" in b for r in rows for b in r["binding"])
    with writer(connect(url), "test") as c:
        users.disable(c, "planner-1")
    again = client.get("/api/availability", headers={"Authorization": f"Bearer {tokens['planner']}"})
    assert again.status_code == 401  # disabled: at once, although the token was verified before
    assert client.get("/openapi.json").status_code == 200


@contextlib.contextmanager
def served(url: str, n: int = 1, workers: int = 1):  # type: ignore[no-untyped-def]
    """``n`` real ``gxopt serve`` processes (of ``workers`` workers each) on free loopback ports over one ledger;
    yields their base URLs."""
    procs, bases = [], []
    try:
        for _ in range(n):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gxopt", "serve", str(SCEN), "--db", url, "--port", str(port),
                 "--workers", str(workers)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 120
        for proc, base in zip(procs, bases):
            while True:
                try:
                    httpx.get(f"{base}/api/health", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
                    time.sleep(0.3)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=30)


@pytest.mark.parametrize("workers", [1, 2])
def test_gxopt_serve_answers_over_http(tmp_path, workers: int) -> None:  # type: ignore[no-untyped-def]
    """The real command: uvicorn on a free loopback port (one process, or two workers), health and a 401 over the
    wire, then stopped."""
    with served(f"sqlite:///{tmp_path / 'gx.db'}", workers=workers) as (base,):
        health = httpx.get(f"{base}/api/health", timeout=5)
        assert health.status_code == 200 and health.json()["scenario"].startswith("Kaigan Steel")
        assert httpx.get(f"{base}/api/availability", timeout=5).status_code == 401


@pytest.mark.parametrize("backend", BACKENDS)
def test_simultaneous_holds_never_oversubscribe(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """32 planners hold the same scarce REPs at the same instant (two service processes on PostgreSQL): what is
    held never exceeds what was available, every refusal says why, and the ledger audit stays clean."""
    gen = fresh_db(backend, tmp_path)
    url = next(gen)
    try:
        batch(SCEN, url)
        with writer(connect(url), "test users") as c:
            toks = [users.add(c, f"p{i}", "planner")[1] for i in range(32)]
        with served(url, 2 if backend == "postgresql" else 1) as bases:
            first = {"Authorization": f"Bearer {toks[0]}"}
            rows = httpx.get(f"{bases[0]}/api/availability", params={"delivery": "2026-10-01"}, headers=first,
                             timeout=120).json()
            scarce = next(r for r in rows if r["method"] == "mass_balance" and r["gx_tonnage_t"] > 0)
            each = scarce["gx_tonnage_t"] / 10  # 32 asks for 3.2 times what there is
            body = {"product": scarce["product_id"], "delivery": "2026-10-01", "method": "mass_balance",
                    "days": 2, "tonnage": each}
            start = threading.Barrier(32)

            def ask(i: int) -> httpx.Response:
                start.wait()
                return httpx.post(f"{bases[i % len(bases)]}/api/holds", json=body, timeout=300,
                                  headers={"Authorization": f"Bearer {toks[i]}"})

            with ThreadPoolExecutor(32) as pool:
                answers = list(pool.map(ask, range(32)))
        codes = sorted(a.status_code for a in answers)
        assert set(codes) <= {201, 409}, [a.text for a in answers if a.status_code not in (201, 409)]
        held = [a.json() for a in answers if a.status_code == 201]
        assert 1 <= len(held) <= 10 and sum(h["tonnage_t"] for h in held) <= scarce["gx_tonnage_t"] * (1 + 1e-9)
        assert all("can be promised" in a.json()["detail"]["reason"] for a in answers if a.status_code == 409)
        from gxopt.ledger.audit import audit

        with connect(url).connect() as c:
            assert audit(c) == []
    finally:
        next(gen, None)

def _scarce(client: TestClient, auth: dict[str, str]) -> tuple[str, float]:
    rows = client.get("/api/availability", params={"delivery": "2026-10-01"}, headers=auth).json()
    r = next(r for r in rows if r["method"] == "mass_balance" and r["gx_tonnage_t"] > 0)
    return r["product_id"], r["gx_tonnage_t"]


def test_holds_belong_to_their_planner_and_operators_see_all(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gx.db'}"
    batch(SCEN, url)
    with writer(connect(url), "test users") as c:
        tok = {n: users.add(c, n, r)[1] for n, r in (("p1", "planner"), ("p2", "planner"), ("op", "operator"))}
    client = TestClient(create_app(SCEN, url))
    auth = {n: {"Authorization": f"Bearer {t}"} for n, t in tok.items()}
    product, available = _scarce(client, auth["p1"])
    body = {"product": product, "delivery": "2026-10-01", "method": "mass_balance", "days": 3, "customer": "Acme"}
    too_much = client.post("/api/holds", json=body | {"tonnage": available * 1.01}, headers=auth["p1"])
    assert too_much.status_code == 409 and too_much.json()["detail"]["available_t"] == pytest.approx(available)
    held = client.post("/api/holds", json=body | {"tonnage": available / 2}, headers=auth["p1"])
    assert held.status_code == 201, held.text
    h = held.json()
    assert h["created_by"] == "p1" and h["tonnage_t"] == pytest.approx(available / 2) and h["status"] == "active"
    # the other half is all that is left, for anyone
    assert _scarce(client, auth["p2"]) == (product, pytest.approx(available / 2, rel=1e-6))
    assert [x["hold_id"] for x in client.get("/api/holds", headers=auth["p1"]).json()] == [h["hold_id"]]
    assert client.get("/api/holds", headers=auth["p2"]).json() == []
    assert [x["hold_id"] for x in client.get("/api/holds", headers=auth["op"]).json()] == [h["hold_id"]]
    assert client.delete(f"/api/holds/{h['hold_id']}", headers=auth["p2"]).status_code == 403
    gone = client.delete(f"/api/holds/{h['hold_id']}", headers=auth["op"])
    assert gone.status_code == 200 and gone.json()["status"] == "released"
    assert client.delete(f"/api/holds/{h['hold_id']}", headers=auth["op"]).status_code == 409
    assert _scarce(client, auth["p2"]) == (product, pytest.approx(available, rel=1e-6))
    from gxopt.ledger import actions

    with connect(url).connect() as c:
        done = [(a["user_name"], a["action"]) for a in actions.listing(c)]
    assert done[:2] == [("op", "release hold"), ("p1", "hold")]


def test_auditor_reads_certificates_and_verifies_the_ledger(service) -> None:  # type: ignore[no-untyped-def]
    client, tokens, url = service
    auth = {"Authorization": f"Bearer {tokens['auditor']}"}
    listed = client.get("/api/certificates", headers=auth)
    assert listed.status_code == 200 and len(listed.json()) > 10
    first = listed.json()[0]["certificate_id"]
    one = client.get(f"/api/certificates/{first}", headers=auth).json()
    assert one["lines"] and sum(ln["reps_t"] for ln in one["lines"]) == pytest.approx(one["reps_t"], abs=1e-6)
    assert all(ln["evidence"] for ln in one["lines"])
    assert client.get("/api/certificates/GX-NONE", headers=auth).status_code == 404
    verified = client.get("/api/ledger/verify", headers=auth).json()
    assert verified["ok"] and verified["problems"] == [] and verified["journal_entries"] > 0
    assert client.post("/api/batches", headers=auth).status_code == 403  # read-only


def test_operator_runs_the_batch_and_the_book_follows_the_ledger(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gx.db'}"
    with writer(connect(url), "test users") as c:
        op = {"Authorization": f"Bearer {users.add(c, 'op', 'operator')[1]}"}
    client = TestClient(create_app(SCEN, url))
    before = client.get("/api/availability", params={"delivery": "2026-10-01"}, headers=op).json()
    assert all(r["gx_tonnage_t"] == 0 for r in before)  # an empty ledger has credited nothing yet
    first = client.post("/api/batches", headers=op).json()
    assert first["certificates_issued"] > 0 and first["pools_credited"] > 0
    assert client.post("/api/batches", headers=op).json()["certificates_issued"] == 0  # a rerun issues nothing
    after = client.get("/api/availability", params={"delivery": "2026-10-01"}, headers=op).json()
    assert any(r["gx_tonnage_t"] > 0 for r in after)  # re-solved on the credited ledger
    assert client.get("/api/health").json()["book_solves"] >= 2


def test_an_order_booked_from_a_hold_gets_its_certificate_at_the_next_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gx.db'}"
    batch(SCEN, url)
    with writer(connect(url), "test users") as c:
        tok = {n: users.add(c, n, r)[1] for n, r in (("p1", "planner"), ("p2", "planner"), ("op", "operator"),
                                                    ("au", "auditor"))}
    client = TestClient(create_app(SCEN, url))
    auth = {n: {"Authorization": f"Bearer {t}"} for n, t in tok.items()}
    product, available = _scarce(client, auth["p1"])
    hold = client.post("/api/holds", json={"product": product, "delivery": "2026-10-01", "method": "mass_balance",
                                           "days": 3, "customer": "Acme", "tonnage": available / 4},
                       headers=auth["p1"]).json()
    order = {"hold_id": hold["hold_id"], "order_id": "WEB-0001", "premium": 12.5}
    assert client.post("/api/orders", json=order, headers=auth["p2"]).status_code == 403  # not p2's hold
    booked = client.post("/api/orders", json=order, headers=auth["p1"])
    assert booked.status_code == 201, booked.text
    assert client.post("/api/orders", json=order | {"order_id": "WEB-0002"}, headers=auth["p1"]).status_code == 409
    assert client.delete(f"/api/holds/{hold['hold_id']}", headers=auth["op"]).status_code == 409  # booked: stays
    assert _scarce(client, auth["p2"])[1] == pytest.approx(available * 3 / 4, rel=1e-6)  # not counted twice
    summary = client.post("/api/batches", headers=auth["op"]).json()
    assert summary["holds_converted"] == 1
    certs = {c["order_id"]: c for c in client.get("/api/certificates", headers=auth["au"]).json()}
    assert certs["WEB-0001"]["customer"] == "Acme"
    assert certs["WEB-0001"]["reps_t"] == pytest.approx(hold["reps_t"], abs=1e-3)
    assert client.get("/api/holds", headers=auth["op"]).json() == []  # converted
    assert client.get("/api/ledger/verify", headers=auth["au"]).json()["ok"]
