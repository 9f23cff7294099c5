"""AI insights: effectiveness charts (server-drawn SVG) by team and category, hand-off reasons,
knowledge gaps, and a lead approving a proposed article that `autocrm ask` then answers from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from autocrm.ingest.job import ingest
from autocrm.pipeline.gaps import find_gaps
from autocrm.pipeline.proposals import propose_articles
from tests.api.conftest import KENJI
from tests.api.web.test_signin import sign_in
from tests.builders import make_message
from tests.feedback.builders import make_response

ADMIN_EMAIL = "maya.okafor@flowdesk.io"
BILLING = "33333333-0000-4000-8000-000000000001"
INTEGRATIONS = "33333333-0000-4000-8000-000000000003"
FEEDBACK = """
INSERT INTO ai_feedback (ai_response_id, source, action, signal, rating, final_text,
                         similarity_score, reason)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
PIN_TICKETS = [
    ("Pin a project to the sidebar", "How can I pin our main project to the top of the sidebar?"),
    ("Pinning projects in the sidebar?", "Is there a way to keep a project pinned in the sidebar?"),
    ("Keep a project pinned at the top", "We want one project always pinned in the left sidebar."),
]
PIN_REPLY = (
    "Hi Ethan,\n\nTo pin a project, open it, click the pin icon next to the project name and "
    "choose Pin to sidebar. Pinned projects stay at the top of the sidebar until you unpin them."
    "\n\nBest,\nKenji"
)


@pytest.fixture
def browser(api):
    with httpx.Client(base_url=api.base_url, timeout=60, follow_redirects=False) as client:
        yield client


def test_agents_get_the_404_page_on_insights(browser):
    sign_in(browser, KENJI)
    for path in ("/app/insights", "/app/evals"):
        page = browser.get(path)
        assert page.status_code == 404, path
        assert "Not found" in page.text and "AI insights" not in page.text.split("<main")[1]


def seed_effectiveness(db) -> None:
    """A week of AI responses on two teams and categories: accepted, edited, rejected, rated,
    deflected, and hand-offs for three reasons."""
    now = datetime.now(UTC)
    plan = [  # days ago, team, category, decision, action, csat, deflected, hand-off reason
        (6, BILLING, "billing", "sent", None, 5, True, None),
        (6, INTEGRATIONS, "api", "drafted", "accepted", None, False, None),
        (5, BILLING, "billing", "drafted", "edited", None, False, None),
        (4, INTEGRATIONS, "api", "sent", None, 3, False, None),
        (3, BILLING, "billing", "escalated", None, None, False, "missing_knowledge"),
        (3, INTEGRATIONS, "api", "escalated", None, None, False, "human_requested"),
        (2, BILLING, "billing", "sent", None, 4, True, None),
        (1, INTEGRATIONS, "api", "drafted", "rejected", None, False, None),
        (1, INTEGRATIONS, "api", "escalated", None, None, False, "missing_knowledge"),
        (0, BILLING, "billing", "escalated", None, None, False, "policy_restriction"),
    ]
    for days, team, category, decision, action, csat, deflected, reason in plan:
        r = make_response(
            db, at=now - timedelta(days=days, hours=1), decision=decision, team_id=team,
            category=category, handoff_reason=reason, confidence=0.9 if reason is None else 0.3,
            subject=f"Insights seed {category} {days}",
        )  # fmt: skip
        if action:
            edited = action == "edited"
            db.execute(FEEDBACK, (r["id"], "agent", action, None, None,
                                  "Edited reply." if edited else None, 0.6 if edited else (
                                      1.0 if action == "accepted" else None),
                                  "incomplete" if action == "rejected" else None))  # fmt: skip
        if csat:
            db.execute(FEEDBACK, (r["id"], "customer", None, "csat", csat, None, None, None))
        if deflected:
            db.execute(FEEDBACK, (r["id"], "system", None, "deflected", None, None, None, None))


def plant_pin_gap(db) -> list[dict]:
    """Three tickets the AI handed off for missing knowledge, each solved by an agent's reply."""
    at = datetime.now(UTC) - timedelta(hours=3)
    out = []
    for n, (subject, description) in enumerate(PIN_TICKETS):
        r = make_response(db, at=at + timedelta(minutes=n), subject=subject,
                          description=description, decision="escalated",
                          handoff_reason="missing_knowledge", confidence=0.2)  # fmt: skip
        make_message(db, ticket_id=r["ticket_id"], author_id=KENJI, message_type="agent",
                     body=PIN_REPLY, created_at=at + timedelta(hours=1))  # fmt: skip
        db.execute("UPDATE tickets SET status = 'solved' WHERE id = %s", (r["ticket_id"],))
        out.append(r)
    return out


def test_a_lead_sees_charts_and_approves_a_proposal_that_ask_then_cites(
    web, db, api, api_db, real_embedder, monkeypatch
):
    seed_effectiveness(db)
    planted = plant_pin_gap(db)
    since = datetime.now(UTC) - timedelta(hours=4)
    ours = {str(r["ticket_id"]) for r in planted}
    clusters = [
        c
        for c in find_gaps(db, embedder=real_embedder, since=since)
        if {t.id for t in c.tickets} & ours
    ]
    assert len(clusters) == 1 and {t.id for t in clusters[0].tickets} >= ours
    (proposal,) = propose_articles(db, clusters=clusters, embedder=real_embedder)
    assert proposal.outcome == "created", proposal
    article = db.execute(
        "SELECT id, title, status::text AS status FROM kb_articles WHERE id = %s",
        (proposal.article_id,),
    ).fetchone()
    assert article["status"] == "draft"

    web.sign_in(ADMIN_EMAIL, next="/app/insights")
    web.wait_for("h1", text="AI insights")
    web.find("#refresh-views").click()  # the materialized views, refreshed now
    web.wait_for(".flash", text="refreshed")
    charts = web.find_all("#effectiveness-charts figure.chart svg")
    assert len(charts) == 5  # auto-resolution, acceptance, edit similarity, CSAT, hand-offs
    assert web.find_all("#effectiveness-charts svg circle")  # points were drawn
    legend = web.find(".legend").text
    assert "Billing & Accounts" in legend and "Integrations & API" in legend
    handoffs = web.find("#handoff-table").text.lower()
    assert "missing knowledge" in handoffs and "human requested" in handoffs
    assert "policy restriction" in handoffs
    assert "Pin" in web.find("#gap-table").text
    web.screenshot("insights")

    web.open("/app/insights?by=category")
    assert "billing" in web.wait_for(".legend").text and "api" in web.find(".legend").text
    assert "missing knowledge" in web.find("#handoff-table").text.lower()

    db.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'autocrm:reembed_articles'")
    card = web.find(f'article.proposal[data-id="{article["id"]}"]')
    assert article["title"] in card.text
    card.find_element("css selector", "button.approve").click()
    web.wait_for(".flash", text="Approved")
    assert not web.find_all(f'article.proposal[data-id="{article["id"]}"]')
    row = db.execute(
        "SELECT status::text AS status, visibility::text AS visibility, "
        "metadata #>> '{review,decision}' AS decision FROM kb_articles WHERE id = %s",
        (article["id"],),
    ).fetchone()
    assert row == {"status": "published", "visibility": "public", "decision": "approved"}
    queued = db.execute(
        "SELECT count(*) AS n FROM procrastinate_jobs "
        "WHERE task_name = 'autocrm:reembed_articles' AND status = 'todo'"
    ).fetchone()["n"]
    assert queued == 1

    # What the queued job does (api/tasks.py reembed_articles), then `autocrm ask` on this database.
    ingest(
        db, source_path=None, from_db=True, embedder=real_embedder, chunking=api.settings.chunking
    )
    db.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'autocrm:reembed_articles'")
    from autocrm.cli.main import app
    from autocrm.pipeline import embedder as embedder_module

    monkeypatch.setenv("AUTOCRM_DATABASE_URL", api_db)
    monkeypatch.setenv("AUTOCRM_LLM_BASE_URL", "")
    monkeypatch.setenv("AUTOCRM_LLM_MODEL", "")
    monkeypatch.setattr(embedder_module, "build_embedder", lambda settings: real_embedder)
    result = CliRunner().invoke(app, ["ask", "How do I pin a project to the sidebar?"])
    assert result.exit_code == 0, result.output
    sources = result.output.split("Sources:")[1]
    assert f"[1] {article['title']}" in sources, result.output
    assert "pin icon" in result.output


def test_a_rejected_proposal_is_archived_and_cannot_be_reviewed_again(browser, db):
    from tests.api.conftest import MAYA
    from tests.api.web.test_signin import csrf_of

    article = db.execute(
        "INSERT INTO kb_articles (source, external_id, title, body, status, visibility, tags) "
        "VALUES ('proposals', %s, 'Rename a label', 'Open **Labels**.', 'draft', 'internal', "
        "'{proposed}') RETURNING id",
        (f"gap-test-{datetime.now(UTC).timestamp()}",),
    ).fetchone()["id"]
    sign_in(browser, MAYA)
    page = browser.get("/app/insights")
    assert page.status_code == 200 and f'data-id="{article}"' in page.text
    assert "<strong>Labels</strong>" in page.text  # the proposal, rendered
    token = csrf_of(page)
    path = f"/app/insights/proposals/{article}/reject"
    done = browser.post(path, data={"csrf_token": token, "note": "covered elsewhere"})
    assert done.status_code == 303 and done.headers["location"].startswith("/app/insights?done=")
    row = db.execute(
        "SELECT status::text AS status, metadata #>> '{review,note}' AS note FROM kb_articles "
        "WHERE id = %s",
        (article,),
    ).fetchone()
    assert row == {"status": "archived", "note": "covered elsewhere"}
    assert browser.post(path, data={"csrf_token": token}).status_code == 404
    approve = f"/app/insights/proposals/{article}/approve"
    assert browser.post(approve, data={"csrf_token": token}).status_code == 404
