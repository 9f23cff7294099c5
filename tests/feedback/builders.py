"""Builders for the feedback tests: an AI response stored the way pipeline/answer.py stores one
(ai_responses row + its ``ai`` message, linked), at chosen times."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tests.builders import make_message, make_ticket

ETHAN = "22222222-0000-4000-8000-000000000006"  # seeded customer
DANIEL = "11111111-0000-4000-8000-000000000002"  # seeded agent (Billing)
BILLING_TEAM = "33333333-0000-4000-8000-000000000001"

INSERT_RESPONSE = """
INSERT INTO ai_responses (ticket_id, kind, query, retrieved, draft, model, prompt_version,
                          confidence, decision, handoff_reason, latency_ms, created_at)
VALUES (%(ticket_id)s, %(kind)s, %(query)s, %(retrieved)s, %(draft)s, %(model)s,
        %(prompt_version)s, %(confidence)s, %(decision)s, %(handoff_reason)s, %(latency)s,
        %(created_at)s)
RETURNING *
"""


def make_response(
    conn: psycopg.Connection,
    *,
    ticket: dict | None = None,
    at: datetime,
    decision: str = "sent",
    kind: str | None = None,
    draft: str = "Go to Settings and click Export.",
    confidence: float = 0.9,
    handoff_reason: str | None = None,
    latency_ms: float = 100.0,
    retrieved: list[dict] | None = None,
    **ticket_fields: Any,
) -> dict:
    """A response at ``at``; its message is public when ``decision`` is 'sent'. Creates a ticket
    (created at ``at`` minus a minute) unless one is given."""
    if ticket is None:
        ticket = make_ticket(
            conn, customer_id=ETHAN, created_at=at - timedelta(minutes=1), **ticket_fields
        )
    if decision == "escalated" and handoff_reason is None:
        handoff_reason = "missing_knowledge"
    response = conn.execute(
        INSERT_RESPONSE,
        {
            "ticket_id": ticket["id"],
            "kind": kind or ("auto_reply" if decision == "sent" else "suggestion"),
            "query": ticket["subject"],
            "retrieved": json.dumps(retrieved or []),
            "draft": draft,
            "model": "extractive-v1",
            "prompt_version": "extractive_v1",
            "confidence": confidence,
            "decision": decision,
            "handoff_reason": handoff_reason,
            "latency": json.dumps({"total": latency_ms}),
            "created_at": at,
        },
    ).fetchone()
    message = make_message(
        conn,
        ticket_id=ticket["id"],
        message_type="ai",
        is_internal=decision != "sent",
        body=draft,
        metadata=json.dumps({"ai_response_id": str(response["id"])}),
        created_at=at,
    )
    conn.execute(
        "UPDATE ai_responses SET message_id = %s WHERE id = %s", (message["id"], response["id"])
    )
    return response | {"message_id": message["id"], "ticket": ticket}


def feedback_rows(conn: psycopg.Connection, response_id) -> list[dict]:
    return conn.execute(
        "SELECT * FROM ai_feedback WHERE ai_response_id = %s ORDER BY created_at, id",
        (response_id,),
    ).fetchall()
