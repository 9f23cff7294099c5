"""The score-v1 formula on hand-computed examples, and scores stored as signals arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autocrm.core.settings import Settings
from autocrm.pipeline.answer import answer_ticket
from autocrm.pipeline.feedback import record_agent_action, record_customer_signal
from autocrm.pipeline.scoring import SCORE_VERSION, compute_score, edit_similarity, score_responses
from tests.builders import make_ticket
from tests.fakes import FakeEmbedder
from tests.feedback.builders import DANIEL, ETHAN, make_response

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def row(action=None, signal=None, rating=None, sim=None, cos=None) -> dict:
    return {"action": action, "signal": signal, "rating": rating, "similarity_score": sim,
            "semantic_similarity": cos}  # fmt: skip


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        # agent 0.5*0.85 (edit 0.8, cosine 0.9), customer 0.3*mean(0.75, 1.0), outcome 0.2*1.0
        (
            [
                row("edited", sim=0.8, cos=0.9),
                row(signal="csat", rating=4),
                row(signal="helped"),
                row(signal="deflected"),
            ],
            0.8875,
        ),
        # accepted, then reopened: (0.5*1 + 0.2*0) / 0.7
        ([row("accepted", sim=1.0), row(signal="reopened")], 0.5 / 0.7),
        # deflected but the customer came back: the outcome is 0
        ([row(signal="deflected"), row(signal="replied_again")], 0.0),
        # edited without a known cosine: the edit similarity alone
        ([row("edited", sim=0.6)], 0.6),
        # negative cosine counts as 0: 0.5*0.6 + 0.5*0
        ([row("edited", sim=0.6, cos=-0.2)], 0.3),
        # the latest agent action wins: rejected after accepted
        ([row("accepted", sim=1.0), row("rejected")], 0.0),
        # needs_human and csat 1: customer 0 over weight 0.3
        ([row(signal="needs_human"), row(signal="csat", rating=1)], 0.0),
        ([row(signal="csat", rating=3)], 0.5),
        # no reaction at all: no score (first_response is a timing, not a judgement)
        ([row(signal="first_response")], None),
        ([], None),
    ],
)
def test_score_formula(signals, expected):
    score = compute_score(signals)
    assert score == (None if expected is None else pytest.approx(expected))


def test_edit_similarity_ignores_the_sources_footer_and_spacing():
    draft = "Open Settings   then Billing [1].\n\nSources:\n[1] Invoices — /kb/billing/invoices"
    assert edit_similarity(draft, "Open Settings then Billing [1].") == 1.0


def test_stored_score_follows_the_signals(conn):
    response = make_response(conn, at=AT)
    score = lambda: conn.execute(  # noqa: E731
        "SELECT score, score_version FROM ai_responses WHERE id = %s", (response["id"],)
    ).fetchone()
    assert score()["score"] is None
    record_customer_signal(conn, response_id=response["id"], customer_id=ETHAN, csat=4)
    assert score() == {"score": pytest.approx(0.75), "score_version": SCORE_VERSION}
    record_customer_signal(
        conn, response_id=response["id"], customer_id=ETHAN, signal="needs_human"
    )
    assert score()["score"] == pytest.approx(0.375)


def test_scoring_job_fills_in_embedding_similarity_and_rescores(conn):
    response = make_response(
        conn, at=AT, decision="drafted", draft="reset your password in settings"
    )
    record_agent_action(
        conn, response_id=response["id"], agent_id=DANIEL, action="edited",
        final_text="reset your password in account settings",
    )  # fmt: skip
    before = conn.execute(
        "SELECT score FROM ai_responses WHERE id = %s", (response["id"],)
    ).fetchone()
    edit = edit_similarity(
        "reset your password in settings", "reset your password in account settings"
    )
    assert before["score"] == pytest.approx(edit)
    embedder = FakeEmbedder()
    assert score_responses(conn, since=AT - timedelta(days=3650), embedder=embedder) >= 1
    fb = conn.execute(
        "SELECT semantic_similarity FROM ai_feedback WHERE ai_response_id = %s", (response["id"],)
    ).fetchone()
    vectors = embedder.embed(
        ["reset your password in settings", "reset your password in account settings"]
    )
    cosine = float(vectors[0] @ vectors[1])
    assert fb["semantic_similarity"] == pytest.approx(cosine, abs=1e-5)
    after = conn.execute(
        "SELECT score FROM ai_responses WHERE id = %s", (response["id"],)
    ).fetchone()
    assert after["score"] == pytest.approx(0.5 * edit + 0.5 * cosine, abs=1e-5)


def test_feedback_on_a_real_suggestion(kb_conn, real_embedder):
    ticket = make_ticket(kb_conn, customer_id=ETHAN, subject="How do I reset my password?",
                         description="I forgot my password and cannot log in.")  # fmt: skip
    result = answer_ticket(
        kb_conn, ticket_id=ticket["id"], kind="suggestion", embedder=real_embedder,
        chat_model=None, settings=Settings(),
    )  # fmt: skip
    final = result.text.split("\n\nSources:")[0] + "\n\nLet me know if that works!"
    recorded = record_agent_action(
        kb_conn, response_id=result.response_id, agent_id=DANIEL, action="edited",
        final_text=final, embedder=real_embedder, event_key="api:real-1",
    )  # fmt: skip
    fb = kb_conn.execute("SELECT * FROM ai_feedback WHERE id = %s", (recorded.id,)).fetchone()
    assert 0.7 < fb["similarity_score"] < 1.0 and fb["semantic_similarity"] > 0.8
    stored = kb_conn.execute(
        "SELECT score FROM ai_responses WHERE id = %s", (result.response_id,)
    ).fetchone()
    expected = 0.5 * fb["similarity_score"] + 0.5 * fb["semantic_similarity"]
    assert stored["score"] == pytest.approx(expected, abs=1e-5)
