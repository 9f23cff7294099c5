"""Sign-in, sessions and CSRF for the web pages, over real HTTP (no browser needed here)."""

from __future__ import annotations

import re

import httpx
import pytest

from autocrm.api.auth import mint_token
from tests.api.conftest import JWT_SECRET, KENJI, OLIVIA

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@pytest.fixture
def browser(api) -> httpx.Client:
    """A cookie-keeping client, like a browser (no Authorization header)."""
    with httpx.Client(base_url=api.base_url, timeout=60, follow_redirects=False) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def sign_in(browser: httpx.Client, user_id: str, *, next: str = "/") -> httpx.Response:
    token = csrf_of(browser.get("/signin"))
    return browser.post("/signin/dev", data={"csrf_token": token, "user_id": user_id, "next": next})


def test_anonymous_visitor_is_sent_to_sign_in_and_back(browser):
    response = browser.get("/app/inbox?status=open")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/app/inbox%3Fstatus%3Dopen"
    assert browser.get("/").headers["location"] == "/signin"


def test_dev_sign_in_lists_demo_users_by_role_with_a_strict_page_policy(browser):
    page = browser.get("/signin")
    assert page.status_code == 200
    assert "Maya Okafor" in page.text and "Olivia Chen" in page.text
    roles = re.findall(r'<tr data-role="(\w+)">', page.text)
    assert roles[0] == "admin" and "agent" in roles and roles[-1] == "customer"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "form-action 'self'" in csp
    assert "autocrm_csrf=" in page.headers["set-cookie"]
    assert "httponly" in page.headers["set-cookie"].lower()


def test_sign_in_sets_an_httponly_samesite_session_and_lands_on_the_role_home(browser):
    response = sign_in(browser, KENJI, next="/app/inbox")
    assert response.status_code == 303 and response.headers["location"] == "/app/inbox"
    cookie = response.headers["set-cookie"].lower()
    assert "autocrm_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert browser.get("/").headers["location"] == "/app/inbox"

    with httpx.Client(base_url=str(browser.base_url)) as customer:
        sign_in(customer, OLIVIA)
        assert customer.get("/").headers["location"] == "/portal"


def test_forms_without_the_csrf_token_are_refused(browser):
    browser.get("/signin")  # the browser has its CSRF cookie, but the form omits the token
    response = browser.post("/signin/dev", data={"user_id": KENJI})
    assert response.status_code == 403
    assert "CSRF" in response.text and "autocrm_session" not in response.headers.get(
        "set-cookie", ""
    )
    forged = browser.post("/signin/dev", data={"user_id": KENJI, "csrf_token": "0" * 64})
    assert forged.status_code == 403


def test_the_api_takes_the_session_cookie_and_needs_the_token_for_writes(browser, api):
    sign_in(browser, OLIVIA)
    listed = browser.get("/tickets")
    assert listed.status_code == 200, listed.text
    assert all(t["customer_id"] == OLIVIA for t in listed.json()["items"])

    body = {"subject": "Cookie-made ticket", "description": "Made from the portal."}
    refused = browser.post("/tickets", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    token = csrf_of(browser.get("/signin"))
    made = browser.post("/tickets", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text


def test_a_host_issued_token_signs_in_and_a_bad_one_says_why(browser):
    token = csrf_of(browser.get("/signin"))
    bad = browser.post("/signin", data={"csrf_token": token, "token": "not-a-jwt"})
    assert bad.status_code == 401 and "invalid token" in bad.text
    good = mint_token(secret=JWT_SECRET, user_id=KENJI, ttl_s=600)
    response = browser.post("/signin", data={"csrf_token": token, "token": good})
    assert response.status_code == 303
    assert "max-age=" in response.headers["set-cookie"].lower()


def test_sign_out_clears_the_session(browser):
    sign_in(browser, KENJI)
    token = csrf_of(browser.get("/signin"))
    response = browser.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert browser.get("/").headers["location"] == "/signin"


def test_unknown_pages_are_a_404_page_not_json(browser):
    sign_in(browser, KENJI)
    response = browser.get("/app/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text and "Traceback" not in response.text
