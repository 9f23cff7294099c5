"""Knowledge gaps cluster a planted topic together (real embeddings); article proposals are drafts,
not duplicated on a re-run, skipped when the KB already covers them, and never overwrite review."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from autocrm.pipeline.chat import build_chat_model
from autocrm.pipeline.feedback import record_agent_action
from autocrm.pipeline.gaps import agglomerate, clean_title, find_gaps
from autocrm.pipeline.proposals import clean_reply, propose_articles
from tests.builders import make_message
from tests.feedback.builders import DANIEL, make_response

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
YEN = [
    (
        "Invoice in Japanese yen?",
        "Can you issue our invoices in Japanese yen (JPY) instead of USD?",
    ),
    ("Billing currency JPY", "Our finance team in Tokyo needs the invoice amounts in yen."),
    ("Change invoice currency to yen", "Is it possible to get invoices denominated in JPY?"),
    ("Re: invoices in yen", "We are a Japanese company and need yen invoices for accounting."),
]
OTHER = [
    ("Dark mode", "Is there a dark theme for the desktop app?"),
    ("Slack notifications stopped", "Since yesterday no Slack messages arrive for new tasks."),
    ("Delete my workspace", "How can I permanently delete our workspace and all data?"),
    ("API returns 429", "We hit rate limits on the REST API when syncing projects."),
    ("Two-factor lost phone", "I lost my phone and cannot pass two-factor authentication."),
]
YEN_REPLY = (
    "Hi Kenji,\n\nInvoices can be issued in JPY: go to Settings → Billing → Currency, choose JPY, "
    "and the next invoice uses yen. Past invoices stay in USD.\n\nBest,\nDaniel"
)


def plant(conn, topics, *, how: str) -> list[dict]:
    """One AI response per ticket showing a gap: low confidence, a missing-knowledge hand-off, or
    a rejected draft."""
    out = []
    for n, (subject, description) in enumerate(topics):
        kind = ("low", "handoff", "rejected")[n % 3] if how == "mixed" else how
        r = make_response(
            conn, at=AT + timedelta(minutes=n), subject=subject, description=description,
            decision="escalated" if kind == "handoff" else "drafted",
            confidence=0.2 if kind == "low" else 0.6,
        )  # fmt: skip
        if kind == "rejected":
            record_agent_action(conn, response_id=r["id"], agent_id=DANIEL, action="rejected",
                                reason="irrelevant")  # fmt: skip
        out.append(r)
    return out


def solve_by_agent(conn, response, body):
    make_message(conn, ticket_id=response["ticket_id"], author_id=DANIEL, message_type="agent",
                 body=body, created_at=AT + timedelta(hours=1))  # fmt: skip
    conn.execute("UPDATE tickets SET status = 'solved' WHERE id = %s", (response["ticket_id"],))


def test_planted_topic_clusters_together(conn, real_embedder):
    yen = plant(conn, YEN, how="mixed")
    plant(conn, OTHER, how="mixed")
    fine = make_response(conn, at=AT, subject="Invoice in yen please", confidence=0.95)
    clusters = find_gaps(conn, embedder=real_embedder, since=AT - timedelta(days=1))
    top = clusters[0]
    assert {t.id for t in top.tickets} == {str(r["ticket_id"]) for r in yen}
    assert all(c.size == 1 for c in clusters[1:]) and len(clusters) == 1 + len(OTHER)
    assert str(fine["ticket_id"]) not in {t.id for c in clusters for t in c.tickets}
    assert "yen" in top.title.lower() or "jpy" in top.title.lower()
    assert top.reasons == {"low_confidence": 2, "missing_knowledge": 1, "rejected": 1}
    assert top.key == f"gap-{min(r['ticket']['number'] for r in yen)}"
    assert (
        len(find_gaps(conn, embedder=real_embedder, since=AT - timedelta(days=1), min_size=2)) == 1
    )


def test_agglomerate_and_titles():
    import numpy as np

    v = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99]], dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert sorted(sorted(g) for g in agglomerate(v, similarity=0.9)) == [[0, 1], [2, 3]]
    assert len(agglomerate(v, similarity=0.0)) == 1
    assert clean_title("Re: [Billing] URGENT: invoice in yen??") == "Invoice in yen"
    assert clean_reply(YEN_REPLY).startswith("Invoices can be issued in JPY")
    assert "Daniel" not in clean_reply(YEN_REPLY) and "Kenji" not in clean_reply(YEN_REPLY)


def test_proposals_are_drafts_deduplicated_and_stable(kb_conn, real_embedder):
    yen = plant(kb_conn, YEN[:3], how="low")
    for r in yen[:2]:
        solve_by_agent(kb_conn, r, YEN_REPLY)
    reset = plant(kb_conn, [("Forgot my password", "How do I reset my password? I cannot log in."),
                            ("Password reset", "I need to reset the password of my account.")],
                  how="handoff")  # fmt: skip
    kb_text = kb_conn.execute(
        "SELECT c.content FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id "
        "WHERE a.title ILIKE '%%password%%' ORDER BY c.position LIMIT 1"
    ).fetchone()["content"]
    solve_by_agent(kb_conn, reset[0], kb_text)  # the agent pasted the existing article
    unsolved = plant(kb_conn, OTHER[:2], how="low")  # noqa: F841  (gap, but nobody solved it)

    def run():
        clusters = find_gaps(kb_conn, embedder=real_embedder, since=AT - timedelta(days=1))
        return {
            p.key: p for p in propose_articles(kb_conn, clusters=clusters, embedder=real_embedder)
        }

    first = run()
    by_outcome = sorted(p.outcome for p in first.values())
    assert by_outcome == ["created", "duplicate", "no_solution", "no_solution"], first
    created = next(p for p in first.values() if p.outcome == "created")
    assert created.solved == 2 and created.drafted_by == "extractive-v1"
    article = kb_conn.execute(
        "SELECT * FROM kb_articles WHERE id = %s", (created.article_id,)
    ).fetchone()
    assert (article["source"], article["status"], article["external_id"]) == (
        "proposals",
        "draft",
        created.key,
    )
    assert "Settings → Billing → Currency" in article["body"] and "Kenji" not in article["body"]
    duplicate = next(p for p in first.values() if p.outcome == "duplicate")
    assert duplicate.similarity >= 0.85 and "password" in duplicate.similar_title.lower()

    assert run()[created.key].outcome == "updated"  # same draft, not a second one
    kb_conn.execute("UPDATE kb_articles SET body = body || '\nReviewed.' WHERE id = %s",
                    (created.article_id,))  # fmt: skip
    assert run()[created.key].outcome == "kept"  # a reviewer's edit is never overwritten
    n = kb_conn.execute(
        "SELECT count(*) AS n FROM kb_articles WHERE source = 'proposals'"
    ).fetchone()
    assert n["n"] == 1


def test_proposal_drafted_by_the_chat_model(kb_conn, real_embedder, llm_server):
    yen = plant(kb_conn, YEN[:2], how="low")
    for r in yen:
        solve_by_agent(kb_conn, r, YEN_REPLY)
    body = "Invoices can be issued in Japanese yen.\n\n## Steps\n\n1. Open Settings → Billing."
    llm_server.script(json.dumps({"title": "Get invoices in Japanese yen", "body": body}))
    clusters = find_gaps(kb_conn, embedder=real_embedder, since=AT - timedelta(days=1))
    [proposal] = propose_articles(
        kb_conn, clusters=clusters, embedder=real_embedder,
        chat_model=build_chat_model(llm_server.settings()),
    )  # fmt: skip
    assert proposal.outcome == "created" and proposal.drafted_by == "test-model"
    stored = kb_conn.execute("SELECT title, body, metadata FROM kb_articles WHERE id = %s",
                             (proposal.article_id,)).fetchone()  # fmt: skip
    assert (stored["title"], stored["body"]) == ("Get invoices in Japanese yen", body)
    assert stored["metadata"]["proposal"]["drafted_by"] == "test-model"
    prompt = llm_server.requests[0].messages[-1]["content"]
    assert "Settings → Billing → Currency" in prompt


@pytest.mark.parametrize("since", [AT + timedelta(days=1)])
def test_nothing_before_since(conn, real_embedder, since):
    plant(conn, YEN, how="low")
    assert find_gaps(conn, embedder=real_embedder, since=since) == []
