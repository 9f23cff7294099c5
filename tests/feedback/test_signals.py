"""Explicit signals: each recorded once per event (event_key), linked to its AI response, with the
similarity and time to decision computed at record time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autocrm.core.errors import NotFound
from autocrm.pipeline.feedback import (
    IdempotencyConflict,
    InvalidFeedback,
    record_agent_action,
    record_article_feedback,
    record_customer_signal,
)
from tests.builders import make_article, make_user
from tests.feedback.builders import DANIEL, ETHAN, feedback_rows, make_response

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_duplicate_event_key_is_a_no_op_returning_the_first_row(conn):
    response = make_response(conn, at=AT, decision="drafted")
    first = record_agent_action(
        conn, response_id=response["id"], agent_id=DANIEL, action="edited",
        final_text="Go to Settings and click Export now.", event_key="api:req-1",
        now=AT + timedelta(minutes=3),
    )  # fmt: skip
    again = record_agent_action(
        conn, response_id=response["id"], agent_id=DANIEL, action="edited",
        final_text="something else entirely", event_key="api:req-1",
    )  # fmt: skip
    assert first.created and not again.created and again.id == first.id
    [row] = feedback_rows(conn, response["id"])
    assert row["action"] == "edited" and row["source"] == "agent"
    assert row["final_text"] == "Go to Settings and click Export now."
    assert row["time_to_decision_s"] == pytest.approx(180)
    # "Go to Settings and click Export." + " now" = 4 insertions over 36 characters
    assert row["similarity_score"] == pytest.approx(1 - 4 / 36, abs=1e-6)
    assert str(row["created_by"]) == DANIEL


def test_a_key_used_for_another_response_is_refused(conn):
    one, two = make_response(conn, at=AT), make_response(conn, at=AT)
    record_agent_action(
        conn, response_id=one["id"], agent_id=DANIEL, action="accepted", event_key="k"
    )
    with pytest.raises(IdempotencyConflict):
        record_agent_action(
            conn, response_id=two["id"], agent_id=DANIEL, action="accepted", event_key="k"
        )


def test_accept_and_reject(conn):
    accepted, rejected = make_response(conn, at=AT), make_response(conn, at=AT)
    record_agent_action(conn, response_id=accepted["id"], agent_id=DANIEL, action="accepted")
    record_agent_action(
        conn, response_id=rejected["id"], agent_id=DANIEL, action="rejected",
        reason="too_generic", comment="Says nothing about yen.",
    )  # fmt: skip
    [a] = feedback_rows(conn, accepted["id"])
    [r] = feedback_rows(conn, rejected["id"])
    assert (a["action"], a["similarity_score"], a["final_text"]) == ("accepted", 1.0, None)
    assert (r["action"], r["reason"], r["comment"]) == (
        "rejected",
        "too_generic",
        "Says nothing about yen.",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "edited"},  # no final text
        {"action": "rejected"},  # no reason
        {"action": "accepted", "reason": "incorrect"},
        {"action": "rejected", "reason": "rude"},
        {"action": "liked"},
    ],
)
def test_inconsistent_agent_feedback_is_refused(conn, kwargs):
    response = make_response(conn, at=AT)
    with pytest.raises(InvalidFeedback):
        record_agent_action(conn, response_id=response["id"], agent_id=DANIEL, **kwargs)
    assert feedback_rows(conn, response["id"]) == []


def test_customer_signal_and_csat_each_once(conn):
    response = make_response(conn, at=AT)
    first = record_customer_signal(
        conn, response_id=response["id"], customer_id=ETHAN, signal="helped", csat=4,
        event_key="api:c-1",
    )  # fmt: skip
    again = record_customer_signal(
        conn, response_id=response["id"], customer_id=ETHAN, signal="helped", csat=4,
        event_key="api:c-1",
    )  # fmt: skip
    assert [r.created for r in first] == [True, True] and [r.created for r in again] == [False] * 2
    assert [r.id for r in again] == [r.id for r in first]
    rows = feedback_rows(conn, response["id"])
    assert sorted((r["signal"], r["rating"], r["source"]) for r in rows) == [
        ("csat", 4, "customer"),
        ("helped", None, "customer"),
    ]
    assert {r["event_key"] for r in rows} == {"api:c-1:csat", "api:c-1:helped"}


def test_customers_rate_only_public_replies_on_their_own_tickets(conn):
    internal = make_response(conn, at=AT, decision="drafted")
    with pytest.raises(NotFound):
        record_customer_signal(conn, response_id=internal["id"], customer_id=ETHAN, csat=5)
    stranger = make_user(conn)
    public = make_response(conn, at=AT)
    with pytest.raises(NotFound):
        record_customer_signal(conn, response_id=public["id"], customer_id=stranger["id"], csat=5)
    with pytest.raises(InvalidFeedback):
        record_customer_signal(conn, response_id=public["id"], customer_id=ETHAN, csat=6)


def test_unknown_response_is_not_found(conn):
    with pytest.raises(NotFound):
        record_agent_action(
            conn, response_id="00000000-0000-4000-8000-000000000000", agent_id=DANIEL,
            action="accepted",
        )  # fmt: skip


def test_article_feedback_once_per_event(conn):
    article = make_article(conn)
    first = record_article_feedback(
        conn, article_id=article["id"], user_id=ETHAN, helpful=False, event_key="a-1"
    )
    again = record_article_feedback(
        conn, article_id=article["id"], user_id=ETHAN, helpful=False, event_key="a-1"
    )
    assert first.created and not again.created and again.id == first.id
    n = conn.execute(
        "SELECT count(*) AS n FROM kb_article_feedback WHERE article_id = %s", (article["id"],)
    ).fetchone()["n"]
    assert n == 1
