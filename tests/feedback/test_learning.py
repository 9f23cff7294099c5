"""Learning-data export: the records, and PII redaction (on by default) that keeps the rest."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from autocrm.pipeline.feedback import record_agent_action
from autocrm.pipeline.learning import export_learning, luhn_valid, redact
from tests.builders import make_article, make_message
from tests.feedback.builders import DANIEL, ETHAN, make_response

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PII = {
    "email": "ethan.brooks@example.com",
    "phone": "+1 (415) 555-0132",
    "card": "4111 1111 1111 1111",  # Luhn-valid test Visa
    "address": "742 Evergreen Terrace",
}
KEEP = ["Team plan", "$264", "2026-11-24", "order 12345678", "4111 1111 1111 1112", "11 seats"]


def test_redact_each_kind_and_keep_the_rest():
    text = (
        f"Mail {PII['email']} or call {PII['phone']}. Card {PII['card']}. Ship to "
        f"{PII['address']}, Springfield. German office: Hauptstraße 12. UK: 020 7946 0958. "
        "On 2026-11-24 we paid $264 for 11 seats on the Team plan (order 12345678, from "
        "192.168.1.10); the old card 4111 1111 1111 1112 fails the Luhn check."
    )
    out = redact(text)
    for value in [*PII.values(), "Hauptstraße 12", "020 7946 0958"]:
        assert value not in out
    for marker in ("[EMAIL]", "[PHONE]", "[CARD]", "[ADDRESS]"):
        assert marker in out
    for value in [*KEEP, "192.168.1.10", "Springfield"]:
        assert value in out
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


@pytest.fixture
def exported_response(conn):
    article = make_article(conn, body="# Invoices\n\nDownload invoices under Billing.")
    chunk = conn.execute(
        "INSERT INTO kb_chunks (article_id, position, content, token_count, content_hash) "
        "VALUES (%s, 0, 'Download invoices under Billing.', 5, 'h') RETURNING id",
        (article["id"],),
    ).fetchone()
    response = make_response(
        conn,
        at=AT,
        decision="drafted",
        subject="Invoice for the Team plan",
        description=f"I am {PII['email']}, card {PII['card']}; we have 11 seats.",
        draft="Download invoices under Billing [1].",
        retrieved=[{"chunk_id": chunk["id"], "score": 0.81, "rank": 1}],
    )
    make_message(conn, ticket_id=response["ticket_id"], author_id=ETHAN,
                 body=f"Call me on {PII['phone']}, or post to {PII['address']}.",
                 created_at=AT - timedelta(seconds=30))  # fmt: skip
    record_agent_action(
        conn, response_id=response["id"], agent_id=DANIEL, action="edited",
        final_text="Download invoices under Billing; order 12345678 cost $264 on 2026-11-24.",
    )  # fmt: skip
    return response


def export(conn, **kwargs) -> list[dict]:
    out = io.StringIO()
    n = export_learning(conn, since=AT - timedelta(days=1), out=out, **kwargs)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert n == len(lines)
    return lines


def test_export_redacts_by_default(conn, exported_response):
    [record] = export(conn)
    assert record["id"] == str(exported_response["id"]) and record["redacted"] is True
    assert record["final_source"] == "edited" and record["action"] == "edited"
    assert record["draft"] == "Download invoices under Billing [1]."
    assert record["contexts"][0]["text"] == "Download invoices under Billing."
    assert record["contexts"][0]["score"] == 0.81
    assert [m["role"] for m in record["thread"]] == ["customer"]
    assert record["score"] is not None and record["score_version"] == "score-v1"
    dumped = json.dumps(record)
    for value in PII.values():
        assert value not in dumped
    for value in ["Team plan", "11 seats", "order 12345678", "$264", "2026-11-24"]:
        assert value in dumped


def test_export_without_redaction_and_saved_examples(conn, exported_response):
    [record] = export(conn, redact_pii=False, save=True)
    assert PII["email"] in record["description"] and PII["phone"] in record["thread"][0]["text"]
    [chat] = export(conn, fmt="chat")
    roles = [m["role"] for m in chat["messages"]]
    assert roles == ["system", "user", "user", "assistant"]
    assert chat["messages"][-1]["content"].startswith("Download invoices under Billing;")
    export(conn, save=True)  # replaces the earlier copy
    saved = conn.execute(
        "SELECT redacted, final_text FROM learning_examples WHERE ai_response_id = %s",
        (exported_response["id"],),
    ).fetchall()
    assert len(saved) == 1 and saved[0]["redacted"] is True
