"""Suggested replies (JSON and server-sent events) and feedback on AI responses, over HTTP."""

from __future__ import annotations

import json
import time

import pytest

from tests.api.conftest import (
    ETHAN,
    KENJI,
    T14,
    TEAM_INTEGRATIONS,
    assert_problem,
    make_ai_response,
    make_settings,
)
from tests.builders import make_ticket
from tests.llm_server import Reply


def test_suggestion_is_grounded_and_stored_as_an_internal_draft(api, db):
    response = api.post(f"/tickets/{T14}/suggestions", as_="agent")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket_id"] == T14 and body["decision"] in ("drafted", "escalated")
    assert 0 <= body["confidence"] <= 1 and body["latency_ms"]["total"] > 0
    assert body["held_back"] is None  # an agent's own suggestion is never held back
    webhooks = db.execute(
        "SELECT id::text FROM kb_articles WHERE external_id = 'api/webhooks'"
    ).fetchone()["id"]
    if body["decision"] == "drafted":
        assert webhooks in {c["article_id"] for c in body["citations"]}
        assert [c["index"] for c in body["citations"]] == sorted(
            c["index"] for c in body["citations"]
        )
    stored = db.execute(
        "SELECT r.kind::text AS kind, r.draft, m.is_internal, m.message_type::text AS type "
        "FROM ai_responses r JOIN conversations m ON m.id = r.message_id WHERE r.id = %s",
        (body["ai_response_id"],),
    ).fetchone()
    assert stored == {
        "kind": "suggestion",
        "draft": body["draft"],
        "is_internal": True,
        "type": "ai",
    }
    # The customer's view of the thread does not show it.
    customer_view = api.get(f"/tickets/{T14}/messages", as_="customer", params={"limit": 100})
    assert body["draft"] not in {m["body"] for m in customer_view.json()["items"]}


def test_a_suggestion_nothing_in_the_kb_answers_carries_no_passages(api, db):
    ticket = make_ticket(
        db,
        customer_id=ETHAN,
        subject="Printer smells of smoke",
        description="Our office printer makes a burning smell when it prints in colour.",
        team_id=TEAM_INTEGRATIONS,
    )
    body = api.post(f"/tickets/{ticket['id']}/suggestions", as_="agent").json()
    assert body["decision"] == "escalated" and body["handoff_reason"] == "missing_knowledge"
    assert body["draft"] == "" and body["citations"] == []
    stored = db.execute(
        "SELECT m.body FROM ai_responses r JOIN conversations m ON m.id = r.message_id "
        "WHERE r.id = %s",
        (body["ai_response_id"],),
    ).fetchone()
    assert "no published article answers this" in stored["body"]


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = "".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((name, json.loads(data)))
    return events


def test_suggestion_streams_tokens_then_the_result(api):
    with api.http.stream(
        "POST",
        f"/tickets/{T14}/suggestions",
        params={"stream": "true"},
        headers=auth("agent"),
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.read().decode())
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"} and len(names) > 2
    done = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == done["draft"]
    assert done["ai_response_id"] and done["ticket_id"] == T14


def auth(who: str) -> dict:
    from tests.api.conftest import auth_headers

    return auth_headers(who)


def test_metrics_count_ai_decisions(api):
    api.post(f"/tickets/{T14}/suggestions", as_="admin")
    metrics = api.get("/metrics").text
    lines = [line for line in metrics.splitlines() if line.startswith("autocrm_ai_decisions_total")]
    assert any('kind="suggestion"' in line for line in lines), lines


def test_agent_feedback_is_validated_and_scored(api, db):
    draft = make_ai_response(db, ticket_id=T14, public=False)
    path = f"/ai-responses/{draft}/feedback"
    for bad in (
        {"action": "edited"},  # no final_text
        {"action": "rejected"},  # no reason
        {"action": "rejected", "reason": "boring"},
        {"action": "accepted", "reason": "incorrect"},
        {"action": "accepted", "rating": 5},
        {},
        {"action": "accepted", "extra": 1},
    ):
        assert_problem(api.post(path, as_="agent", json=bad), 422)
    edited = api.post(
        path, as_="agent", json={"action": "edited", "final_text": "Here is how to fix it!"}
    )
    rejected = api.post(
        path, as_="agent", json={"action": "rejected", "reason": "outdated", "comment": "Old UI"}
    )
    assert edited.status_code == rejected.status_code == 201
    rows = db.execute(
        "SELECT action::text AS action, source::text AS source, similarity_score, reason, "
        "semantic_similarity, time_to_decision_s, comment, created_by::text AS created_by "
        "FROM ai_feedback WHERE ai_response_id = %s "
        "ORDER BY created_at",
        (draft,),
    ).fetchall()
    assert [(r["action"], r["source"], r["created_by"]) for r in rows] == [
        ("edited", "agent", KENJI),
        ("rejected", "agent", KENJI),
    ]
    assert 0.9 < rows[0]["similarity_score"] < 1 and rows[0]["semantic_similarity"] > 0.9
    assert rows[0]["time_to_decision_s"] >= 0  # from the draft's creation, by the server clock
    assert (rows[1]["reason"], rows[1]["comment"]) == ("outdated", "Old UI")


def test_a_retried_request_with_an_idempotency_key_lands_once(api, db):
    draft = make_ai_response(db, ticket_id=T14, public=False)
    path = f"/ai-responses/{draft}/feedback"
    key = {"Idempotency-Key": "retry-me-42"}
    first = api.post(path, as_="agent", json={"action": "accepted"}, headers=key)
    again = api.post(path, as_="agent", json={"action": "accepted"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["duplicate"] is False and again.json() == {
        "ai_response_id": draft,
        "feedback_ids": first.json()["feedback_ids"],  # the row stored the first time
        "duplicate": True,
    }
    # The same key from another caller is another event.
    admin = api.post(path, as_="admin", json={"action": "accepted"}, headers=key)
    assert admin.status_code == 201
    count = db.execute("SELECT count(*) AS n FROM ai_feedback WHERE ai_response_id = %s", (draft,))
    assert count.fetchone()["n"] == 2
    bad_key = api.post(
        path, as_="agent", json={"action": "accepted"}, headers={"Idempotency-Key": "k" * 201}
    )
    assert_problem(bad_key, 422)


def test_customer_rates_the_ai_reply_on_their_own_ticket(api, db):
    ticket = make_ticket(db, customer_id=ETHAN, team_id=TEAM_INTEGRATIONS)
    sent = make_ai_response(db, ticket_id=str(ticket["id"]), public=True, kind="auto_reply")
    path = f"/ai-responses/{sent}/feedback"
    key = {"Idempotency-Key": "csat-1"}
    response = api.post(
        path, as_="customer", json={"rating": 4, "signal": "helped", "comment": "ok"}, headers=key
    )
    assert response.status_code == 201 and len(response.json()["feedback_ids"]) == 2
    assert api.post(
        path, as_="customer", json={"rating": 4, "signal": "helped"}, headers=key
    ).json()["duplicate"]
    rows = db.execute(
        "SELECT source::text AS source, signal, rating, comment, created_by::text AS by "
        "FROM ai_feedback WHERE ai_response_id = %s ORDER BY signal",
        (sent,),
    ).fetchall()
    assert rows == [
        {"source": "customer", "signal": "csat", "rating": 4, "comment": "ok", "by": ETHAN},
        {"source": "customer", "signal": "helped", "rating": None, "comment": None, "by": ETHAN},
    ]
    assert_problem(api.post(path, as_="customer", json={"rating": 6}), 422)
    assert_problem(api.post(path, as_="customer", json={"signal": "great"}), 422)


def test_customers_cannot_rate_internal_drafts_or_other_tickets(api, db):
    draft = make_ai_response(db, ticket_id=T14, public=False)
    assert_problem(
        api.post(f"/ai-responses/{draft}/feedback", as_="customer", json={"rating": 1}), 404
    )
    olivias = make_ticket(db, customer_id="22222222-0000-4000-8000-000000000001")
    theirs = make_ai_response(db, ticket_id=str(olivias["id"]), public=True, kind="auto_reply")
    assert_problem(
        api.post(f"/ai-responses/{theirs}/feedback", as_="customer", json={"rating": 1}), 404
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(
        api.post(f"/ai-responses/{missing}/feedback", as_="agent", json={"action": "accepted"}), 404
    )


@pytest.fixture
def llm_api(api, llm_server, use_chat_model):
    """The app drafting with the scripted fake OpenAI-compatible server."""
    from autocrm.pipeline.chat import build_chat_model

    settings = make_settings(
        api.settings.database_url,
        llm_base_url=llm_server.base_url,
        llm_model="test-model",
        llm_max_retries=0,
        llm_timeout_s=2,
    )
    use_chat_model(build_chat_model(settings))
    return api


def test_model_failure_is_503_and_stores_nothing(llm_api, llm_server, db):
    ticket = make_ticket(db, customer_id=ETHAN, team_id=TEAM_INTEGRATIONS, subject="Reset password")
    llm_server.script(503)
    before = db.execute("SELECT count(*) AS n FROM ai_responses").fetchone()["n"]
    body = assert_problem(llm_api.post(f"/tickets/{ticket['id']}/suggestions", as_="agent"), 503)
    assert body["type"].endswith("model-unavailable") and "test-model" not in body["detail"]
    assert db.execute("SELECT count(*) AS n FROM ai_responses").fetchone()["n"] == before
    llm_server.script(503)
    with llm_api.http.stream(
        "POST", f"/tickets/{ticket['id']}/suggestions?stream=true", headers=auth("agent")
    ) as response:
        events = parse_sse(response.read().decode())
    assert events[-1][0] == "error" and events[-1][1]["status"] == 503


@pytest.fixture
def reset_ticket(db) -> dict:
    """A customer's password question, in the integrations team's queue."""
    return make_ticket(
        db,
        customer_id=ETHAN,
        team_id=TEAM_INTEGRATIONS,
        subject="Reset password",
        description="How do I reset my password?",
    )


def test_model_reply_becomes_the_suggestion(llm_api, llm_server, reset_ticket):
    ticket = reset_ticket
    reply = {
        "answerable": True,
        "confidence": 0.9,
        "reply": "Hi Ethan, use Forgot password on the sign-in page [1].",
        "cited": [1],
    }
    llm_server.script(json.dumps(reply))
    body = llm_api.post(f"/tickets/{ticket['id']}/suggestions", as_="agent").json()
    assert (
        body["draft"].startswith("Hi Ethan, use Forgot password") and body["model"] == "test-model"
    )
    assert [c["index"] for c in body["citations"]] == [1]


def test_llm_suggestion_streams_the_reply_as_the_model_writes_it(llm_api, llm_server, reset_ticket):
    ticket = reset_ticket
    reply = (
        "Hi Ethan, use Forgot password on the sign-in page [1]. "
        "Ignore https://evil.example/phish and [this](https://evil.example) too."
    )
    answer = json.dumps({"answerable": True, "confidence": 0.9, "reply": reply, "cited": [1]})
    chunks = [answer[i : i + 12] for i in range(0, len(answer), 12)]
    llm_server.script(Reply(chunks=chunks, chunk_delay_s=0.03))
    arrivals: list[tuple[float, str]] = []
    with llm_api.http.stream(
        "POST", f"/tickets/{ticket['id']}/suggestions?stream=true", headers=auth("agent")
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                arrivals.append((time.monotonic(), line[7:]))
            elif line.startswith("data: "):
                arrivals[-1] = (*arrivals[-1][:2], json.loads(line[6:]))
    tokens = [a[2]["text"] for a in arrivals if a[1] == "token"]
    done = arrivals[-1][2]
    assert arrivals[-1][1] == "done" and len(tokens) > 5
    # Relayed while the model was still writing (it takes ~0.4 s), not cut from the finished text.
    first_token = next(a[0] for a in arrivals if a[1] == "token")
    assert arrivals[-1][0] - first_token > 0.2
    assert "".join(tokens) == done["draft"] and done["draft"].startswith("Hi Ethan, use Forgot")
    assert not any("evil" in t or "http" in t for t in tokens)  # no link, not even in part
    assert llm_server.requests[-1].body["stream"] is True
