"""The planners' service (issue #12, first routes): health, availability and quotes over the ledger, with roles
checked at every route (the matrix is generated from the route table, so a new route cannot be forgotten)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from gxopt.cli import app as cli
from gxopt.ledger import users
from gxopt.ledger.batch import batch
from gxopt.ledger.db import connect, writer
from gxopt.ledger.tables import ROLES
from gxopt.service.app import create_app, roles_of
from tests.conftest import REPO

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


# What each role may do, from the words (planner: availability, quotes, own holds, bookings; operator:
# everything a planner can plus batches, voids, anyone's holds; auditor: read-only ledger; admin: users).
# Every route of the app must be listed here, so a new route cannot be forgotten.
RIGHTS = {
    ("GET", "/api/health"): None,  # open: is the service up
    ("GET", "/api/availability"): {"planner", "operator"},
    ("POST", "/api/quotes"): {"planner", "operator"},
}


def _call(client: TestClient, route: APIRoute, token: str | None):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = sorted(route.methods)[0]
    body = {"product": "HG-HRC-B1", "delivery": "2026-10-01", "method": "mass_balance"} if method == "POST" else None
    return client.request(method, route.path, headers=headers, json=body)


def test_every_route_serves_exactly_its_roles(service) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = service
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]
    assert {(m, r.path) for r in routes for m in r.methods} == set(RIGHTS)
    for route in routes:
        allowed = roles_of(route)
        expected = RIGHTS[(sorted(route.methods)[0], route.path)]
        assert (set(allowed) if allowed is not None else None) == expected, route.path
        if allowed is None:
            assert route.path == "/api/health", f"{route.path} declares no roles"
            assert _call(client, route, None).status_code == 200
            continue
        assert _call(client, route, None).status_code == 401, route.path
        assert _call(client, route, "gxt_" + "0" * 32 + "_" + "A" * 43).status_code == 401, route.path
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
    with writer(connect(url), "test") as c:
        users.disable(c, "planner-1")
    again = client.get("/api/availability", headers={"Authorization": f"Bearer {tokens['planner']}"})
    assert again.status_code == 401  # disabled: at once, although the token was verified before
    assert client.get("/openapi.json").status_code == 200


def test_gxopt_serve_answers_over_http(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real command: uvicorn on a free loopback port, health and a 401 over the wire, then stopped."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"sqlite:///{tmp_path / 'gx.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "gxopt", "serve", str(SCEN), "--db", url, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.3)
        assert health.status_code == 200 and health.json()["scenario"].startswith("Kaigan Steel")
        assert httpx.get(f"http://127.0.0.1:{port}/api/availability", timeout=5).status_code == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
