"""Hardening (issue 14) on the session's API, over real HTTP against the real database: crafted
cursors, source URLs on write, admin ingestion roots, customers' priority/category as hints,
feedback and reopens that one actor cannot inflate, security headers, client disconnects."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import (
    ETHAN,
    T14,
    TEAM_INTEGRATIONS,
    assert_problem,
    make_ai_response,
    row_counts,
)
from tests.builders import make_ticket


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def raw_cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


LIST_PATHS = (
    ("/kb/articles", "anon"),
    ("/tickets", "agent"),
    ("/admin/ingestions", "admin"),
    (f"/tickets/{T14}/messages", "agent"),
)
A_UUID = "99999999-0000-4000-8000-000000000014"
HOSTILE_CURSORS = {
    "id is a number": "WyIyMDI2LTAxLTAxIiwxXQ",  # ["2026-01-01",1]: a 500 before
    "object": cursor_of({"at": "2026-01-01", "id": A_UUID}),
    "string": cursor_of("2026-01-01"),
    "number": cursor_of(12345),
    "null": cursor_of(None),
    "true": cursor_of(True),
    "empty list": cursor_of([]),
    "one item": cursor_of(["2026-01-01"]),
    "three items": cursor_of(["2026-01-01", A_UUID, 3]),
    "numbers": cursor_of([1, 2]),
    "nulls": cursor_of([None, None]),
    "null id": cursor_of(["2026-01-01", None]),
    "nested": cursor_of([{"a": 1}, ["b"]]),
    "nested lists": cursor_of([["2026-01-01"], [A_UUID]]),
    "bad date": cursor_of(["not a date", A_UUID]),
    "bad uuid": cursor_of(["2026-01-01", "not-a-uuid"]),
    "long string": cursor_of(["x" * 120, A_UUID]),
    "deep": raw_cursor(b"[" * 140 + b"]" * 140),
    "not utf-8": raw_cursor(b"\xff\xfe\xfd"),
    "not json": raw_cursor(b"hello"),
    "not base64": "!!!",
    "non-ascii": "é",
    "too long": "A" * 500,
}


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS.values(), ids=HOSTILE_CURSORS.keys())
def test_crafted_cursors_are_422(api, cursor):
    for path, who in LIST_PATHS:
        body = assert_problem(api.get(path, as_=who, params={"cursor": cursor}), 422)
        assert "cursor" in body["detail"], body


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@given(value=JSON_VALUES | st.tuples(st.text(max_size=40), st.text(max_size=40)).map(list))
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_any_decoded_cursor_is_a_page_or_a_422(api, value):
    response = api.get("/kb/articles", params={"cursor": cursor_of(value)})
    assert response.status_code in (200, 422), (value, response.text)


def test_a_real_cursor_still_pages(api):
    first = api.get("/kb/articles", params={"limit": 2}).json()
    second = api.get("/kb/articles", params={"limit": 2, "cursor": first["next_cursor"]})
    assert second.status_code == 200 and second.json()["items"]
    assert {a["id"] for a in first["items"]}.isdisjoint(a["id"] for a in second.json()["items"])


# --- G: source URLs are checked on write -----------------------------------------------------------

BAD_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/b",
    "evil.example/b",
    "ftp://files.example.com/a",
    "mailto:a@b.c",
    "https://trusted.example@evil.example/",
    "https://",
    "https://exa mple.com/",
    'https://example.com/"onmouseover="alert(1)',
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_articles_with_a_bad_source_url_are_refused(api, db, url):
    before = row_counts(db)
    body = {"title": "Sources", "body": "Text.", "source_url": url}
    refused = assert_problem(api.post("/kb/articles", as_="agent", json=body), 422)
    assert "source_url" in refused["detail"]
    assert row_counts(db) == before


def test_a_good_source_url_is_stored_and_a_bad_edit_refused(api, db):
    good = "https://docs.example.com/guide?page=2#steps"
    created = api.post(
        "/kb/articles", as_="agent", json={"title": "Guide", "body": "Text.", "source_url": good}
    )
    assert created.status_code == 201 and created.json()["source_url"] == good
    path = f"/kb/articles/{created.json()['id']}"
    assert_problem(api.patch(path, as_="agent", json={"source_url": BAD_URLS[0]}), 422)
    stored = db.execute("SELECT source_url FROM kb_articles WHERE id = %s", (created.json()["id"],))
    assert stored.fetchone()["source_url"] == good
    assert api.patch(path, as_="agent", json={"source_url": None}).json()["source_url"] is None


def test_ingestion_drops_a_bad_front_matter_url_with_a_warning(api, db, tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    marker = uuid.uuid4().hex[:8]
    (kb / "bad.md").write_text(
        f"---\nid: bad-{marker}\nurl: javascript:alert(document.cookie)\n---\n# Bad {marker}\n\nText.\n"
    )
    (kb / "good.md").write_text(
        f"---\nid: good-{marker}\nurl: https://help.example.com/good\n---\n# Good {marker}\n\nText.\n"
    )
    started = api.post("/admin/ingestions", as_="admin", json={"source": str(kb)})
    assert started.status_code == 202, started.text
    run = wait_for_run(api, started.json()["run_id"])
    assert (run["status"], run["items_new"], run["items_failed"]) == ("finished", 2, 0)
    rows = {
        r["external_id"]: r
        for r in db.execute(
            "SELECT external_id, source_url, metadata FROM kb_articles WHERE external_id LIKE %s",
            (f"%-{marker}",),
        )
    }
    assert rows[f"good-{marker}"]["source_url"] == "https://help.example.com/good"
    assert rows[f"bad-{marker}"]["source_url"] is None
    assert "url dropped" in rows[f"bad-{marker}"]["metadata"]["warnings"][0]


def wait_for_run(api, run_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = next(
            r
            for r in api.get("/admin/ingestions", as_="admin").json()["items"]
            if r["id"] == run_id
        )
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("ingestion did not finish")


# --- B: admin ingestion only from the configured roots -----------------------------------------


def test_ingestion_outside_the_roots_is_refused(api, tmp_path):
    # The session's server may read pytest's temporary directories only (tests/api/conftest.py).
    outside = ["/etc", "/tmp", "/", str(tmp_path / ".." / ".." / ".." / ".." / "etc")]
    link = tmp_path / "link-to-etc"
    link.symlink_to("/etc")
    for source in [*outside, str(link), str(link / "hostname")]:
        refused = api.post("/admin/ingestions", as_="admin", json={"source": source})
        body = assert_problem(refused, 403)
        assert (
            body["type"].endswith("outside-ingest-roots")
            and "AUTOCRM_INGEST_ROOTS" in body["detail"]
        )
        assert "does not exist" not in body["detail"]  # nothing said about paths outside
    assert_problem(api.post("/admin/ingestions", as_="admin", json={"source": "kb/notes"}), 422)
    assert_problem(api.post("/admin/ingestions", as_="admin", json={"source": "~/kb"}), 422)


# --- D: customers' priority and category are hints; feedback and reopens per actor ---------------


def test_a_customers_priority_and_category_are_hints_for_triage(api, db):
    stated = {"subject": "Please help", "priority": "urgent", "category": "billing"}
    created = api.post("/tickets", as_="customer", json=stated)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert (ticket["priority"], ticket["category"]) == ("normal", None)
    metadata = db.execute("SELECT metadata FROM tickets WHERE id = %s", (ticket["id"],))
    assert metadata.fetchone()["metadata"] == {
        "customer_hints": {"priority": "urgent", "category": "billing"}
    }
    plain = api.post("/tickets", as_="customer", json={"subject": "No hints"}).json()
    assert db.execute("SELECT metadata FROM tickets WHERE id = %s", (plain["id"],)).fetchone() == {
        "metadata": {}
    }
    # Staff decide: their values are applied.
    staff = api.post("/tickets", as_="admin", json=stated | {"customer_id": ETHAN}).json()
    assert (staff["priority"], staff["category"]) == ("urgent", "billing")


def test_a_customer_rating_a_reply_25_times_leaves_one_rating(api, db):
    ticket = make_ticket(db, customer_id=ETHAN, team_id=TEAM_INTEGRATIONS)
    sent = make_ai_response(db, ticket_id=str(ticket["id"]), public=True, kind="auto_reply")
    path = f"/ai-responses/{sent}/feedback"
    answers = [api.post(path, as_="customer", json={"rating": 1 + i % 5}) for i in range(25)]
    assert [a.status_code for a in answers] == [201] + [200] * 24
    assert {tuple(a.json()["feedback_ids"]) for a in answers} == {
        tuple(answers[0].json()["feedback_ids"])
    }
    rows = db.execute(
        "SELECT signal, rating FROM ai_feedback WHERE ai_response_id = %s", (sent,)
    ).fetchall()
    assert rows == [{"signal": "csat", "rating": 1}]  # the first rating is the one kept
    # A different signal is another event; repeating it is not.
    for _ in range(3):
        api.post(path, as_="customer", json={"signal": "helped"})
    signals = db.execute(
        "SELECT signal FROM ai_feedback WHERE ai_response_id = %s ORDER BY signal", (sent,)
    )
    assert [r["signal"] for r in signals] == ["csat", "helped"]


def reopened_count(db, ticket_id) -> int:
    row = db.execute("SELECT reopened_count FROM tickets WHERE id = %s", (ticket_id,)).fetchone()
    return row["reopened_count"]


def test_solve_reopen_toggles_count_one_reopen_per_answer(api, db):
    ticket = make_ticket(db, customer_id=ETHAN, team_id=TEAM_INTEGRATIONS)
    path = f"/tickets/{ticket['id']}"
    for _ in range(20):
        assert api.patch(path, as_="customer", json={"status": "solved"}).status_code == 200
        assert api.patch(path, as_="customer", json={"status": "open"}).status_code == 200
    assert reopened_count(db, ticket["id"]) == 1
    # An agent answers; the customer is still not helped: that is a second reopen.
    reply = api.post(f"{path}/messages", as_="agent", json={"body": "Try this instead."})
    assert reply.status_code == 201, reply.text
    api.patch(path, as_="customer", json={"status": "solved"})
    api.patch(path, as_="customer", json={"status": "open"})
    assert reopened_count(db, ticket["id"]) == 2
    # A customer's message on the solved ticket reopens it: counted only after a new answer too.
    api.patch(path, as_="customer", json={"status": "solved"})
    api.post(f"{path}/messages", as_="customer", json={"body": "Still broken."})
    assert api.get(path, as_="customer").json()["status"] == "open"
    assert reopened_count(db, ticket["id"]) == 2
    # Internal notes are not answers.
    api.post(f"{path}/messages", as_="agent", json={"body": "Looking.", "internal": True})
    api.patch(path, as_="customer", json={"status": "solved"})
    api.patch(path, as_="customer", json={"status": "open"})
    assert reopened_count(db, ticket["id"]) == 2


# --- E: security headers on every response; disconnects are not server errors -------------------

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_secure_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name, response.headers)
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp


def test_every_response_carries_the_security_headers(api, monkeypatch):
    from autocrm.api.routes import kb

    assert_secure_headers(api.get("/healthz"))
    assert_secure_headers(api.get("/kb/search", params={"q": "password"}))
    assert_secure_headers(api.get("/nope"))  # 404
    assert_secure_headers(api.get("/kb/search"))  # 422
    assert_secure_headers(api.get("/tickets"))  # 401
    assert_secure_headers(api.post("/tickets", as_="customer", content=b"x" * 2_000_000))  # 413
    assert_secure_headers(api.get("/openapi.json"))
    docs = api.get("/docs")
    assert_secure_headers(docs)
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]  # Swagger UI

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(kb, "retrieve", boom)
    # On its own connection: the server closes a connection after an unhandled error, and the
    # shared client must not reuse that one for the next test's request.
    failed = httpx.get(f"{api.base_url}/kb/search", params={"q": "anything"}, timeout=60)
    assert failed.status_code == 500
    assert_secure_headers(failed)


def metric_count(api, route: str, status: str, method: str = "POST") -> float:
    prefix = f'autocrm_http_requests_total{{method="{method}",route="{route}",status="{status}"}} '
    text = api.get("/metrics").text
    return next(
        (float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), 0.0
    )


def test_a_client_that_disconnects_mid_request_is_not_a_server_error(api):
    errors_before = metric_count(api, "/tickets", "500")
    closed_before = metric_count(api, "/tickets", "499")
    address = urlsplit(api.base_url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(
            b"POST /tickets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"subject": "half a bo'
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while metric_count(api, "/tickets", "499") == closed_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric_count(api, "/tickets", "499") == closed_before + 1
    assert metric_count(api, "/tickets", "500") == errors_before
