"""``analyse_ticket``: category, priority, sentiment, language and intent of a ticket's text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from autocrm.pipeline.triage import classifier, rules
from autocrm.pipeline.triage.language import detect_language
from autocrm.pipeline.triage.llm import analyse_with_model
from autocrm.pipeline.triage.schemas import OFFLINE_MODEL, TicketAnalysis, TriagePrompt

if TYPE_CHECKING:
    from autocrm.pipeline.chat import ChatModel
    from autocrm.pipeline.embedder import Embedder

# The default embedding model (MiniLM) is English-only: when it finds nothing, an unambiguous
# keyword topic (which knows a few words of the other languages) still gives a category, with this
# modest confidence.
KEYWORD_CATEGORY_CONFIDENCE = 0.3


def analyse_ticket(
    conn: psycopg.Connection,
    *,
    subject: str,
    description: str,
    embedder: Embedder,
    chat_model: ChatModel | None = None,
    prompt: TriagePrompt | None = None,
) -> TicketAnalysis:
    """Triage a ticket's text. Offline unless ``chat_model`` is given; then the model's answer is
    used, with the offline one as the fallback for anything unusable (logged in ``signals``)."""
    rows = classifier.category_rows(conn)
    keyword_rules = rules.load_rules(rules.organisation_names(conn))
    offline = _analyse_offline(
        rows,
        subject=subject,
        description=description,
        embedder=embedder,
        keyword_rules=keyword_rules,
    )
    if chat_model is None:
        return offline
    if prompt is None:
        from autocrm.pipeline.prompts import (
            load_prompt,  # written separately; only needed with a model
        )

        prompt = load_prompt("triage")
    return analyse_with_model(
        rows,
        offline,
        subject=subject,
        description=description,
        chat_model=chat_model,
        prompt=prompt,
    )


def _analyse_offline(
    rows: list[dict],
    *,
    subject: str,
    description: str,
    embedder: Embedder,
    keyword_rules: rules.Rules,
) -> TicketAnalysis:
    raw = f"{subject}\n{description}".strip()
    text = rules.normalise(raw)
    subject_text = rules.normalise(subject)
    vector = embedder.embed([raw])[0]
    centroids = classifier.category_centroids(rows, embedder)
    category, confidence, category_signals = classifier.classify(vector, centroids)
    if category is None:
        known = {r["slug"] for r in rows}
        category = rules.keyword_category(subject_text, text, known, rules=keyword_rules)
        if category is not None:
            confidence = KEYWORD_CATEGORY_CONFIDENCE
            category_signals["category_source"] = "keyword"
    priority, priority_signals = rules.priority(text, rules=keyword_rules)
    severe = bool(priority_signals["urgent"])
    sentiment, sentiment_signals = rules.sentiment(text, raw, severe=severe, rules=keyword_rules)
    language, language_signals = detect_language(text)
    intent, intent_signals = rules.intent(
        subject_text,
        text,
        category=category,
        priority_signals=priority_signals,
        rules=keyword_rules,
    )
    return TicketAnalysis(
        category=category,
        priority=priority,
        sentiment=sentiment,
        language=language,
        intent=intent,
        confidence=confidence,
        model=OFFLINE_MODEL,
        signals={
            **category_signals,
            "priority": priority_signals,
            "sentiment": sentiment_signals,
            **language_signals,
            **intent_signals,
            "embedder": embedder.name,
        },
    )
