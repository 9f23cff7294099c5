"""Knowledge base (search, authoring, publishing) and the admin endpoints, over HTTP."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.api.conftest import (
    INTERNAL_ARTICLES,
    T14,
    assert_problem,
    collect,
    make_ai_response,
    queued_jobs,
)


@pytest.mark.parametrize("who", ["anon", "customer"])
def test_public_search_never_returns_internal_articles(api, who):
    # Words straight from the internal articles' titles: they would rank first if visible.
    for q in ("internal refund and credit approval policy", "escalation playbook sev1 incident"):
        body = api.get("/kb/search", as_=who, params={"q": q, "limit": 20}).json()
        assert body["results"], q
        assert not {r["article_id"] for r in body["results"]} & INTERNAL_ARTICLES
        assert {r["visibility"] for r in body["results"]} == {"public"}


def test_staff_search_includes_internal_articles(api):
    body = api.get("/kb/search", as_="agent", params={"q": "internal escalation playbook"}).json()
    assert body["results"][0]["article_id"] in INTERNAL_ARTICLES


def test_search_results_are_ranked_with_snippets(api):
    body = api.get("/kb/search", params={"q": "How do I reset my password?", "limit": 3}).json()
    top = body["results"][0]
    assert top["title"] == "Reset your password" and "password" in top["snippet"].lower()
    assert len(body["results"]) == 3 and len(top["snippet"]) <= 242
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert_problem(api.get("/kb/search", params={"q": ""}), 422)
    assert_problem(api.get("/kb/search"), 422)
    assert_problem(api.get("/kb/search", params={"q": "x", "limit": 51}), 422)


def test_article_lists_follow_rls(api, db):
    def ids(who):
        return {a["id"] for a in collect(api, "/kb/articles", as_=who, limit=100)}

    public = {
        str(r["id"])
        for r in db.execute(
            "SELECT id FROM kb_articles WHERE status = 'published' AND visibility = 'public'"
        )
    }
    assert ids("anon") == ids("customer") == public
    staff = ids("agent")
    assert staff > public and staff >= INTERNAL_ARTICLES


def test_author_publish_and_reembed(api, db):
    created = api.post(
        "/kb/articles",
        as_="agent",
        json={"title": "Archive a project", "body": "# Archive\n\nOpen the project menu."},
    )
    assert created.status_code == 201, created.text
    article = created.json()
    assert article["status"] == "draft" and article["source"] == "app" and article["author_id"]
    path = f"/kb/articles/{article['id']}"
    assert_problem(api.get(path), 404)  # drafts are hidden from the public
    assert_problem(api.patch(path, as_="agent", json={"status": "published"}), 422)
    assert_problem(api.patch(path, as_="agent", json={"title": None}), 422)
    edited = api.patch(path, as_="agent", json={"summary": "How to archive."}).json()
    assert edited["summary"] == "How to archive." and edited["title"] == "Archive a project"
    db.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'autocrm:reembed_articles'")
    published = api.post(f"{path}/publish", as_="agent").json()
    assert published["status"] == "published" and published["published_at"]
    assert [j["status"] for j in queued_jobs(db, "reembed_articles")] == ["todo"]
    assert api.get(path).json()["title"] == "Archive a project"
    # Editing the text of a published article queues re-embedding again (one waiting job).
    db.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'autocrm:reembed_articles'")
    api.patch(path, as_="agent", json={"body": "# Archive\n\nUse the project menu."})
    assert len(queued_jobs(db, "reembed_articles")) == 1
    assert_problem(api.delete(path, as_="agent"), 403)
    assert api.delete(path, as_="admin").status_code == 204
    assert_problem(api.get(path, as_="admin"), 404)
    assert_problem(api.delete(path, as_="admin"), 404)


def test_article_input_is_validated(api):
    for bad in ({}, {"title": ""}, {"title": "x", "status": "published"}, {"title": "x", "y": 1}):
        assert_problem(api.post("/kb/articles", as_="agent", json=bad), 422)


def test_admin_starts_an_ingestion(api, db, tmp_path):
    kb = tmp_path / "help"
    kb.mkdir()
    for name, title in (("gantt.md", "Gantt charts"), ("labels.md", "Task labels")):
        (kb / name).write_text(f"# {title}\n\nHow to use {title.lower()} in Flowdesk.\n")
    response = api.post("/admin/ingestions", as_="admin", json={"source": str(kb)})
    assert response.status_code == 202, response.text
    run_id = response.json()["run_id"]
    assert run_id and response.json()["source"].endswith(str(kb))
    run = wait_for_run(api, run_id)
    assert (run["status"], run["items_new"], run["chunks_embedded"] > 0) == ("finished", 2, True)
    found = api.get("/kb/search", params={"q": "gantt charts"}).json()["results"]
    assert found[0]["title"] == "Gantt charts"


def wait_for_run(api, run_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = api.get("/admin/ingestions", as_="admin").json()["items"]
        run = next(r for r in runs if r["id"] == run_id)
        if run["status"] != "running":
            return run
        time.sleep(0.1)
    raise AssertionError("ingestion did not finish")


def test_ingestion_errors(api, tmp_path):
    missing = api.post("/admin/ingestions", as_="admin", json={"source": str(tmp_path / "nope")})
    assert "does not exist" in assert_problem(missing, 422)["detail"]
    odd = tmp_path / "kb.exe"
    odd.write_text("x")
    assert_problem(api.post("/admin/ingestions", as_="admin", json={"source": str(odd)}), 422)
    assert_problem(api.post("/admin/ingestions", as_="admin", json={}), 422)


def test_ai_effectiveness_report(api, db):
    model = f"eff-{uuid.uuid4().hex[:8]}"
    draft = make_ai_response(db, ticket_id=T14, public=False, model=model)
    api.post(f"/ai-responses/{draft}/feedback", as_="agent", json={"action": "accepted"})
    db.execute("SELECT refresh_ai_views()")
    rows = api.get("/admin/ai-effectiveness", as_="agent", params={"since": "2020-01-01"}).json()
    mine = [r for r in rows if r["model"] == model]
    assert len(mine) == 1 and mine[0]["responses"] == 1 and mine[0]["acceptance_rate"] == 1.0
    assert (
        api.get("/admin/ai-effectiveness", as_="agent", params={"since": "2999-01-01"}).json() == []
    )
    assert_problem(api.get("/admin/ai-effectiveness", as_="agent", params={"since": "soon"}), 422)
