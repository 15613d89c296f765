"""The service's web pages (issue #12): log in with a password, a session cookie (HttpOnly, SameSite=Strict), CSRF
on every state-changing request made with it; and in a real browser (Playwright driving Debian's Chromium): a
planner quotes, holds, sees the hold and releases it; an auditor finds no hold button and is refused by the API."""

from __future__ import annotations

import os
import re
import shutil

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from gxopt.ledger import users
from gxopt.ledger.batch import batch
from gxopt.ledger.db import connect, writer
from gxopt.service.app import create_app
from tests.test_service import SCEN, served

PASSWORD = "a long planner password"
CHROMIUM = os.environ.get("GXOPT_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'gx.db'}"
    batch(SCEN, url)
    with writer(connect(url), "page users") as c:
        for name, role in (("plan", "planner"), ("audit", "auditor"), ("op", "operator")):
            users.add(c, name, role, PASSWORD)
    return url


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_login_session_and_csrf(ledger: str) -> None:
    client = TestClient(create_app(SCEN, ledger))
    assert client.get("/planner", follow_redirects=False).headers["location"] == "/login"
    bad = client.post("/login", data={"username": "plan", "password": "wrong password here"})
    assert bad.status_code == 401 and "do not match" in bad.text
    ok = client.post("/login", data={"username": "plan", "password": PASSWORD}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/planner"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/planner")
    assert page.status_code == 200 and "What can still be promised" in page.text
    body = {"product": "HG-HRC-B1", "delivery": "2026-10-01", "method": "mass_balance"}
    assert client.post("/api/quotes", json=body).status_code == 403  # the cookie alone is not enough: CSRF
    assert client.post("/api/quotes", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/quotes", json=body, headers={"X-CSRF-Token": _csrf(page.text)}).status_code == 200
    assert client.get("/auditor").status_code == 403  # a planner's session is not an auditor's
    out = client.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and client.get("/planner", follow_redirects=False).status_code == 303


def test_auditor_page_lists_certificates_and_the_ledger_check(ledger: str) -> None:
    client = TestClient(create_app(SCEN, ledger))
    client.post("/login", data={"username": "audit", "password": PASSWORD})
    page = client.get("/auditor")
    assert page.status_code == 200 and "intact" in page.text and "GX-KSC-2026-" in page.text
    assert "Hold" not in page.text


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_in_a_browser_a_planner_quotes_holds_and_releases_an_auditor_cannot(ledger: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with served(ledger) as (base,), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/planner")
            expect(page).to_have_url(f"{base}/login")
            page.fill("#username", "plan")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/planner")
            # quote a product that still has REPs, at half the full level
            rows = page.locator("#availability tbody tr").all_inner_texts()
            product = next(r.split("\t")[0] for r in rows if "mass_balance" in r and not r.split("\t")[2].startswith("0.0"))
            page.select_option("#q-product", product)
            page.fill("#q-reps_per_t", "abc")
            page.click("#quote-button")
            expect(page.locator("#q-err-reps_per_t")).not_to_be_empty()  # the error is shown next to the field
            page.fill("#q-reps_per_t", "0.5")
            page.click("#quote-button")
            expect(page.locator("#answer")).to_be_visible()
            expect(page.locator("#answer-head")).to_contain_text("can be promised")
            page.fill("#h-days", "3")
            page.click("#hold-button")
            expect(page.locator("#h-err-form")).to_contain_text("held as HOLD-")
            hold_id = page.locator("#h-err-form").inner_text().split("held as ")[1].strip()
            row = page.locator(f"[id='hold-{hold_id}']")
            expect(row).to_contain_text(product)
            page.screenshot(path=str(os.environ.get("GXOPT_SCREENSHOT", "/tmp/gxopt-planner.png")), full_page=True)
            row.get_by_role("button", name="Release").click()
            expect(row).to_have_count(0)
            # hold again and book the order from the hold, in the row's own form
            page.click("#hold-button")
            expect(page.locator("#h-err-form")).to_contain_text("held as HOLD-")
            hold_id = page.locator("#h-err-form").inner_text().split("held as ")[1].strip()
            row = page.locator(f"[id='hold-{hold_id}']")
            row.get_by_role("button", name="Book order").click()
            row.locator("input[name=order_id]").fill("WEB-ORDER-1")
            row.get_by_role("button", name="Book", exact=True).click()
            expect(page.locator("#holds-error")).to_contain_text("booked as WEB-ORDER-1")
            expect(row).to_contain_text("booked as WEB-ORDER-1: issued at the next batch")
            assert row.get_by_role("button").count() == 0  # a booked hold can be neither released nor booked again
            # GX Allocation: the GX value's field appears, and the service's rule is shown next to it
            expect(page.locator("#q-alpha")).to_be_hidden()
            page.select_option("#q-method", "allocation")
            page.fill("#q-reps_per_t", "")
            page.fill("#q-alpha", "1.5")
            page.click("#quote-button")
            expect(page.locator("#q-err-alpha")).to_contain_text("less than or equal to 1")

            auditor = browser.new_context().new_page()
            auditor.goto(f"{base}/login")
            auditor.fill("#username", "audit")
            auditor.fill("#password", PASSWORD)
            auditor.click("button[type=submit]")
            expect(auditor).to_have_url(f"{base}/auditor")
            expect(auditor.locator("#certificates")).to_be_visible()
            assert auditor.get_by_role("button", name="Hold").count() == 0
            token = auditor.locator("meta[name=csrf-token]").get_attribute("content")
            refused = auditor.request.post(f"{base}/api/holds", headers={"X-CSRF-Token": token or ""}, data={
                "product": product, "delivery": "2026-10-01", "method": "mass_balance", "days": 1})
            assert refused.status == 403
        finally:
            browser.close()
    assert httpx  # served() polls with httpx
