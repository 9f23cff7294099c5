"""Who may do what: every endpoint × every kind of caller, against the real database and its RLS.

Callers: anon (no token), customer (Ethan, owns ticket 14), other_customer (Olivia), agent (Kenji,
Integrations & API, ticket 14's team and assignee), outsider (Priya, an agent on another team),
admin (Maya), service (the service key).

401 = a user is needed; 403 = this role may not do it; 404 = a row this caller cannot see (never
403, which would confirm that it exists).
"""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import (
    ETHAN,
    INTERNAL_ARTICLE,
    PUBLIC_ARTICLE,
    ROLES,
    T14,
    TEAM_INTEGRATIONS,
    make_ai_response,
)

NEW_TICKET = {"subject": "Matrix ticket", "customer_id": ETHAN}
NEW_TEAM_TICKET = NEW_TICKET | {"team_id": TEAM_INTEGRATIONS}
# fmt: off
MATRIX = [
    # method   path                               body                             anon cust other agent out  admin svc
    ("GET",    "/healthz",                         None,                           (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/tickets",                         None,                           (401, 200, 200, 200, 200, 200, 200)),
    # Agents may only create tickets they can see (RLS: their team's, or assigned to them).
    ("POST",   "/tickets",                         NEW_TICKET,                     (401, 201, 403, 403, 403, 201, 201)),
    ("POST",   "/tickets",                         NEW_TEAM_TICKET,                (401, 403, 403, 201, 403, 201, 201)),
    ("GET",    "/tickets/{T14}",                   None,                           (401, 200, 404, 200, 404, 200, 200)),
    ("PATCH",  "/tickets/{T14}",                   {"priority": "high"},           (401, 403, 404, 200, 404, 200, 200)),
    ("PATCH",  "/tickets/{T14}",                   {"status": "solved"},           (401, 200, 404, 200, 404, 200, 200)),
    ("GET",    "/tickets/{T14}/messages",          None,                           (401, 200, 404, 200, 404, 200, 200)),
    ("POST",   "/tickets/{T14}/messages",          {"body": "Any news?"},          (401, 201, 404, 201, 404, 201, 201)),
    ("POST",   "/tickets/{T14}/messages",          {"body": "n", "internal": True},  (401, 403, 404, 201, 404, 201, 201)),
    ("POST",   "/tickets/{T14}/suggestions",       None,                           (401, 403, 403, 200, 404, 200, 200)),
    ("POST",   "/ai-responses/{DRAFT}/feedback",   {"action": "accepted"},         (401, 403, 403, 201, 404, 201, 201)),
    ("POST",   "/ai-responses/{SENT}/feedback",    {"rating": 5},                  (401, 201, 404, 403, 403, 403, 403)),
    ("GET",    "/kb/search?q=reset+password",      None,                           (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/kb/articles",                     None,                           (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    f"/kb/articles/{PUBLIC_ARTICLE}",   None,                           (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    f"/kb/articles/{INTERNAL_ARTICLE}", None,                           (404, 404, 404, 200, 200, 200, 200)),
    ("POST",   "/kb/articles",                     {"title": "Matrix article"},    (401, 403, 403, 201, 201, 201, 201)),
    ("PATCH",  "/kb/articles/{ARTICLE}",           {"summary": "Edited"},          (401, 403, 403, 200, 200, 200, 200)),
    ("POST",   "/kb/articles/{ARTICLE}/publish",   None,                           (401, 403, 403, 200, 200, 200, 200)),
    ("DELETE", "/kb/articles/{ARTICLE}",           None,                           (401, 403, 403, 403, 403, 204, 204)),
    ("POST",   "/admin/ingestions",                {"source": "{SOURCE}"},         (401, 403, 403, 403, 403, 202, 202)),
    ("GET",    "/admin/ingestions",                None,                           (401, 403, 403, 200, 200, 200, 200)),
    ("GET",    "/admin/ai-effectiveness",          None,                           (401, 403, 403, 200, 200, 200, 200)),
]
# fmt: on
CASES = [
    pytest.param(method, path, body, who, expected[i], id=f"{method} {path} {body or ''} as {who}")
    for method, path, body, expected in MATRIX
    for i, who in enumerate(ROLES)
]


@pytest.fixture(scope="module")
def responses(api_db):
    """Two AI responses on ticket 14: an internal draft (agents act on it) and a public reply that
    was sent to Ethan (he rates it)."""
    from autocrm.db.connect import connect

    with connect(api_db, autocommit=True) as conn:
        return {
            "DRAFT": make_ai_response(conn, ticket_id=T14, public=False),
            "SENT": make_ai_response(conn, ticket_id=T14, public=True, kind="auto_reply"),
        }


def fill(template, values: dict[str, str]):
    if isinstance(template, str):
        for key, value in values.items():
            template = template.replace("{" + key + "}", value)
        return template
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


@pytest.mark.parametrize(("method", "path", "body", "who", "expected"), CASES)
def test_access(api, db, responses, tmp_path, method, path, body, who, expected):
    article = db.execute(
        "INSERT INTO kb_articles (source, title, body, status) "
        "VALUES ('app', 'Matrix draft', '# Draft', 'draft') RETURNING id"
    ).fetchone()["id"]
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "matrix.md").write_text("# Matrix\n\nIngested by the access matrix test.\n")
    values = responses | {"T14": T14, "ARTICLE": str(article), "SOURCE": str(tmp_path / "kb")}
    response = api.request(method, fill(path, values), as_=who, json=fill(body, values))
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    if method == "POST" and path == "/admin/ingestions" and expected == 202:
        wait_for_ingestion(db, response.json()["run_id"])


def wait_for_ingestion(db, run_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = db.execute("SELECT * FROM ingest_runs WHERE id = %s", (run_id,)).fetchone()
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError(f"ingestion {run_id} still running after {timeout_s}s")
