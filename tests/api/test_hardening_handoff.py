"""Hand-offs that rephrasing can't dodge (issue 14, finding 3), over HTTP: a customer opens the
ticket, an admin asks for a suggestion (no team is set before triage), and the decision is a hand-off with its reason whatever
the retrieval confidence; a question about a published policy is still answered."""

from __future__ import annotations

import pytest

REPHRASED = [
    ("Can I get a refund for my annual plan? We cancelled within 30 days.", "policy_restriction"),
    ("Could our annual plan be refunded? We cancelled last week.", "policy_restriction"),
    ("I want to speak to a real agent, not a bot.", "human_requested"),
    ("Under GDPR please erase all my personal data.", "policy_restriction"),
]


def suggest(api, text: str) -> dict:
    ticket = api.post("/tickets", as_="customer", json={"subject": "Question", "description": text})
    assert ticket.status_code == 201, ticket.text
    response = api.post(f"/tickets/{ticket.json()['id']}/suggestions", as_="admin")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("text", "reason"), REPHRASED)
def test_a_rephrased_request_for_a_person_or_a_policy_action_is_handed_off(api, text, reason):
    body = suggest(api, text)
    assert (body["decision"], body["handoff_reason"]) == ("escalated", reason)


def test_a_question_about_a_published_policy_is_answered(api):
    body = suggest(api, "What is your policy on refunds for annual plans cancelled within 30 days?")
    assert body["decision"] != "escalated" or body["handoff_reason"] != "policy_restriction"
