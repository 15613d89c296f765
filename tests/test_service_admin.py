"""The admin's and the operator's writes over the API (issue #12): users with roles and tokens, voids, the batch
history and the log of who did what; each write is recorded with the user who made it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gxopt.ledger import users
from gxopt.ledger.batch import batch
from gxopt.ledger.db import connect, writer
from gxopt.service.app import create_app
from tests.test_service import SCEN

PASSWORD = "an admin's long password"


@pytest.fixture
def svc(tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gx.db'}"
    batch(SCEN, url)
    with writer(connect(url), "test users") as c:
        tokens = {role: users.add(c, f"{role}-1", role, PASSWORD)[1] for role in ("admin", "operator", "auditor")}
    return TestClient(create_app(SCEN, url)), {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}


def test_an_admin_adds_and_disables_users_and_the_log_names_who(svc) -> None:  # type: ignore[no-untyped-def]
    client, auth = svc
    made = client.post("/api/users", json={"name": "pat", "role": "planner"}, headers=auth["admin"])
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "planner" and made.json()["token"].startswith("gxt_")
    pat = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/availability", headers=pat).status_code == 200  # the new token works at once
    assert client.post("/api/users", json={"name": "pat", "role": "auditor"}, headers=auth["admin"]).status_code == 409
    listed = client.get("/api/users", headers=auth["admin"]).json()
    assert {"name": "pat", "role": "planner", "disabled": False}.items() <= next(u for u in listed if u["name"] == "pat").items()
    assert all("token" not in u and "password" not in str(u) for u in listed)  # no secret is ever listed

    assert client.post("/api/users/admin-1/disable", headers=auth["admin"]).status_code == 409  # never yourself
    assert client.post("/api/users/nobody/disable", headers=auth["admin"]).status_code == 404
    off = client.post("/api/users/pat/disable", headers=auth["admin"])
    assert off.status_code == 200 and off.json()["disabled"] is True
    assert client.get("/api/availability", headers=pat).status_code == 401  # at once

    log = client.get("/api/actions", headers=auth["auditor"]).json()
    assert [(a["user_name"], a["action"], a["target"]) for a in log[:2]] == [
        ("admin-1", "disable user", "pat"), ("admin-1", "add user", "pat")]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": "two words", "role": "planner"}, "name", "letters, digits"),
    ({"name": "x\n", "role": "planner"}, "name", "letters, digits"),
    ({"name": "sam", "role": "boss"}, "role", "planner"),
    ({"name": "sam", "role": "planner", "password": "short"}, "password", "12 characters"),
])
def test_a_bad_user_is_a_422_naming_the_field(svc, body, field: str, words: str) -> None:  # type: ignore[no-untyped-def]
    client, auth = svc
    got = client.post("/api/users", json=body, headers=auth["admin"])
    assert got.status_code == 422
    d = next(d for d in got.json()["detail"] if d["loc"][-1] == field)
    assert words in d["msg"]


def test_an_operator_voids_a_certificate_and_the_ledger_stays_intact(svc) -> None:  # type: ignore[no-untyped-def]
    client, auth = svc
    cert = client.get("/api/certificates", params={"status": "issued"}, headers=auth["operator"]).json()[0]
    cid = cert["certificate_id"]
    empty = client.post(f"/api/certificates/{cid}/void", json={"reason": "  "}, headers=auth["operator"])
    assert empty.status_code == 422
    assert client.post("/api/certificates/GX-NONE/void", json={"reason": "typo"}, headers=auth["operator"]).status_code == 404
    done = client.post(f"/api/certificates/{cid}/void", json={"reason": "wrong customer"}, headers=auth["operator"])
    assert done.status_code == 200 and done.json()["status"] == "void"
    again = client.post(f"/api/certificates/{cid}/void", json={"reason": "twice"}, headers=auth["operator"])
    assert again.status_code == 409 and "already void" in again.text
    check = client.get("/api/ledger/verify", headers=auth["auditor"]).json()
    assert check["ok"], check["problems"]
    log = client.get("/api/actions", headers=auth["admin"]).json()
    assert (log[0]["user_name"], log[0]["action"], log[0]["target"]) == ("operator-1", "void", cid)
    assert "wrong customer" in log[0]["detail"]


def test_batch_history_and_the_pages_of_admin_operator_auditor(svc) -> None:  # type: ignore[no-untyped-def]
    client, auth = svc
    runs = client.get("/api/batches", headers=auth["auditor"]).json()
    assert len(runs) == 1 and runs[0]["summary"]["certificates_issued"] > 0
    for name, home, text in (("admin-1", "/admin", "Add a user"), ("operator-1", "/operator", "Batch runs"),
                             ("auditor-1", "/auditor", "Who did what")):
        browser = TestClient(client.app)
        landed = browser.post("/login", data={"username": name, "password": PASSWORD})
        assert landed.status_code == 200 and str(landed.url).endswith(home) and text in landed.text, name
        assert runs[0]["batch_id"] in landed.text or home == "/admin"


def test_a_certificate_pdf_is_the_reports_document_and_shows_a_void(svc, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """GET /api/certificates/{id}.pdf: the same PDF writer as gxopt report, on the ledger's numbers as issued."""
    import io

    import pypdf

    client, auth = svc
    certs = client.get("/api/certificates", headers=auth["auditor"]).json()
    alloc = next(c for c in certs if c["method"] == "allocation")
    got = client.get(f"/api/certificates/{alloc['certificate_id']}.pdf", headers=auth["auditor"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(got.content)).pages)
    text = " ".join(text.split())
    assert alloc["certificate_id"] in text and alloc["customer"] in text and "ISSUED" in text
    assert f"{alloc['allocated_cfp']:.4f} t-CO2e/t" in text  # the Allocated CFP as issued (fmt.cfp: four places)
    assert client.get("/api/certificates/GX-NONE.pdf", headers=auth["auditor"]).status_code == 404
    mb = next(c for c in certs if c["method"] == "mass_balance")
    client.post(f"/api/certificates/{mb['certificate_id']}/void", json={"reason": "wrong product"},
                headers=auth["operator"])
    void = client.get(f"/api/certificates/{mb['certificate_id']}.pdf", headers=auth["operator"])
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(void.content)).pages).split())
    assert "VOID" in text and "wrong product" in text
