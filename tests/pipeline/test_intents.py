"""Hand-off intents (pipeline/intents): the issue's examples, hard negatives, a request buried in a
long ticket, the held-back recall of the shipped model, and how decision.request_flags maps them.
docs/handoff-policy.md has the policy these tests pin down."""

from __future__ import annotations

import json
import socket
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest

from autocrm.core.settings import DecisionSettings
from autocrm.pipeline.decision import Action, HandoffReason, decide, request_flags
from autocrm.pipeline.intents import INTENTS, classify_request, load_model
from autocrm.pipeline.intents.classifier import (
    DATA_PATH,
    MODEL_PATH,
    Tfidf,
    char_ngrams,
    word_ngrams,
)
from autocrm.pipeline.intents.evaluation import evaluate
from autocrm.pipeline.intents.training import load_dataset

# The issue's five messages (issue 14, item 3), none of them in the data set. The policy question
# may be answered from the published Refund policy article; the others go to a person.
ISSUE = [
    ("What is your policy on refunds for annual plans cancelled within 30 days?", None),
    ("Can I get a refund for my annual plan? I cancelled within 30 days.", "refund_cancellation"),
    ("Could my annual plan be refunded if I cancel within 30 days?", "refund_cancellation"),
    ("I'd like to speak to a real agent, not a bot.", "human_requested"),
    ("Under GDPR please erase all my personal data", "legal_privacy"),
]

HARD_NEGATIVES = [
    # The issue's own (these phrasings are also in the data set, as `none`).
    "How do I refund my customer in the app?",
    "How do I cancel a scheduled report?",
    "How do I export my data to CSV?",
    "What is your refund policy for annual plans?",
    "Can agents see my tickets?",
    "How do I delete a tag?",
    # Not in the data set.
    "Does the human resources module have an org chart?",
    "How do I assign a ticket to an agent on another team?",
    "How do I cancel a recurring meeting that came from Google Calendar?",
    "Can I export a single project to Excel?",
    # Known false positives (docs/handoff-policy.md, "Known errors"): handed off, the safe side.
    pytest.param(
        "How long does a refund take to reach my card?",
        marks=pytest.mark.xfail(reason="first-person refund wording reads as a request"),
    ),
    pytest.param(
        "Where is your data processing agreement?",
        marks=pytest.mark.xfail(reason="'data processing agreement' seen only in legal requests"),
    ),
]

BURIED = (
    "Hello, we run three workspaces (marketing, engineering and finance) on the Business plan. "
    "Since Monday the Slack integration posts every task update twice in #launches, and the Google "
    "Calendar sync is about an hour behind. We reconnected Slack, removed the old webhook and "
    "re-authorised Google, with no change. The audit log shows the duplicate posts coming from the "
    "same integration user. I would like to speak with a person about this. Our IT lead also asks "
    "whether SCIM works with Entra ID groups, and whether archived projects are included in "
    "scheduled exports. Screenshots attached. Thanks, Daniel"
)


FLAGS = [
    (
        "Under GDPR please erase all my personal data",
        HandoffReason.policy_restriction,
        "legal_privacy",
    ),
    (
        "Please refund my last invoice, we never used it",
        HandoffReason.policy_restriction,
        "refund_cancellation",
    ),
    (
        "I'll post this everywhere if nobody fixes it",
        HandoffReason.policy_restriction,
        "threat_complaint",
    ),
    ("Can I talk to someone real?", HandoffReason.human_requested, "human_requested"),
    ("Human please", HandoffReason.human_requested, "human_requested"),
    ("Hi there", HandoffReason.needs_clarification, None),
    ("How do I connect Flowdesk to Slack?", None, None),
]
BOTH = "Refund my annual plan and let me talk to a real person about it."


@pytest.fixture(scope="module")
def vectors(real_embedder) -> dict[str, np.ndarray]:
    """Every message of this module embedded in one batch (single calls are slow on a busy CPU)."""
    negatives = [p if isinstance(p, str) else p.values[0] for p in HARD_NEGATIVES]
    texts = [t for t, _ in ISSUE] + negatives + [t for t, _, _ in FLAGS] + [BURIED, BOTH]
    return dict(zip(texts, real_embedder.embed(texts), strict=True))


@pytest.mark.parametrize(("text", "intent"), ISSUE)
def test_issue_examples(real_embedder, vectors, text, intent):
    for result in (
        classify_request(text, vector=vectors[text], embedder=real_embedder),
        classify_request(text, vector=vectors[text]),  # what decide() passes
    ):
        assert result.intent == intent, result


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_not_handed_off(real_embedder, vectors, text):
    result = classify_request(text, vector=vectors[text], embedder=real_embedder)
    assert result.intent is None and not result.detected, result
    assert request_flags(text, vector=vectors[text]) is None


def test_a_request_buried_in_a_long_ticket_is_found(real_embedder, vectors):
    vector = vectors[BURIED]
    whole = load_model().score_segments([BURIED], [vector])[0]
    assert whole.max() < 0.5  # the whole-message reading alone misses it
    result = classify_request(BURIED, embedder=real_embedder)
    assert result.intent == "human_requested"
    assert result.evidence == "I would like to speak with a person about this."
    # decide() has the message's vector only: its sentences are read by the text head.
    assert classify_request(BURIED, vector=vector).intent == "human_requested"
    assert request_flags(BURIED, vector=vector) == HandoffReason.human_requested


def test_held_back_recall_of_the_shipped_model(real_embedder):
    """The issue's bar: recall >= 0.98 on the TEST split for a person asked for and for legal or
    privacy requests (detected: scored 0.5 or more, alone or with another intent)."""
    figures = evaluate(load_dataset(), embedder=real_embedder, model=load_model())
    for intent in ("human_requested", "legal_privacy"):
        assert figures[intent]["support"] >= 40
        assert figures[intent]["detected_recall"] >= 0.98, figures[intent]
    for intent in ("refund_cancellation", "threat_complaint"):  # not the issue's bar: a floor
        assert figures[intent]["detected_recall"] >= 0.85, figures[intent]
    assert figures["none"]["handed_off"] <= 0.35, figures["none"]


def test_data_set_shape():
    records = load_dataset()
    assert len(records) >= 400
    assert {r["intent"] for r in records} == {*INTENTS, "none"}
    splits = defaultdict(set)
    for r in records:
        assert set(r) == {"text", "intent", "group", "split"} and r["text"].strip()
        splits[r["group"]].add(r["split"])
    assert all(len(s) == 1 for s in splits.values()), "a group straddles the split"
    for intent in (*INTENTS, "none"):
        mine = [r for r in records if r["intent"] == intent]
        share = sum(r["split"] == "test" for r in mine) / len(mine)
        assert 0.25 <= share <= 0.35, (intent, share)
    assert len({r["text"] for r in records}) == len(records)
    assert not {t for t, _ in ISSUE} & {r["text"] for r in records}


def test_model_loads_from_json_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the hand-off model must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    load_model.cache_clear()
    try:
        model = load_model()
        assert load_model() is model  # read once
        result = classify_request("Under GDPR please erase all my personal data")
    finally:
        load_model.cache_clear()
    assert result.intent == "legal_privacy"
    raw = json.loads(MODEL_PATH.read_text(encoding="utf-8"))  # plain JSON, no pickle
    assert raw["classes"] == [*INTENTS, "none"]
    assert raw["embedder"] == {"name": "all-MiniLM-L6-v2", "dim": 384}
    assert DATA_PATH.exists()


def test_runtime_tfidf_matches_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in load_dataset()[:200]]
    probe = ["Ich möchte mein Abo kündigen!!", "can i tlak to a humna pls", BURIED, ""]
    for analyzer in (char_ngrams, word_ngrams):
        fitted = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, dtype=np.float32).fit(texts)
        ours = Tfidf(analyzer, dict(fitted.vocabulary_), fitted.idf_.astype(np.float32))
        expected = fitted.transform(probe).toarray()
        assert np.allclose(ours.transform(probe), expected, atol=1e-5)


def test_foreign_vector_is_ignored_rather_than_misread():
    text = "I want to speak to a human"
    other = np.ones(1536, dtype=np.float32) / np.sqrt(1536)  # e.g. an OpenAI embedding
    assert classify_request(text, vector=other) == classify_request(text)
    same_size = np.ones(384, dtype=np.float32) / np.sqrt(384)  # another 384-dimension model
    assert classify_request(text, vector=same_size, vector_model="bge-small") == classify_request(
        text
    )


@pytest.mark.parametrize(("text", "reason", "intent"), FLAGS)
def test_request_flags_maps_intents_to_reasons(vectors, text, reason, intent):
    signals: dict = {}
    assert request_flags(text, vector=vectors[text], signals=signals) == reason
    assert signals["handoff_intent"] == intent
    # No vector (the text head alone): the same hand-off or not, though its reason may differ (the
    # fallback's threshold for a person asked for is very low, and a person asked for wins).
    assert (request_flags(text) is None) == (reason is None)


def test_a_person_asked_for_wins_over_a_refund(vectors):
    result = classify_request(BOTH, vector=vectors[BOTH])
    assert {"human_requested", "refund_cancellation"} <= set(result.detected)
    assert request_flags(BOTH, vector=vectors[BOTH]) == HandoffReason.human_requested


def test_decide_hands_off_a_rephrased_request_whatever_the_confidence():
    decision = decide(
        chunks=[],
        request_text="Under GDPR please erase all my personal data",
        settings=DecisionSettings(),
        auto=True,
        now=datetime(2026, 1, 3, 12, tzinfo=UTC),
    )
    assert (decision.action, decision.reason) == (Action.handoff, HandoffReason.policy_restriction)
