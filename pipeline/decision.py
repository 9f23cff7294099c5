"""Decide what to do with a draft: send it, leave it for an agent, or hand the ticket off.

Confidence comes from retrieval signals (how close the best chunk is, how far ahead of the next
article it is, whether dense and BM25 agree) squashed by a logistic function whose weights were
calibrated on MTRAG dev (see README, Evaluation); with an LLM its own answerability verdict caps it.
Requests that need a human (asked for one, refunds, cancellations, legal) are handed off whatever the
confidence: the auto-responder must never be talked into sending by the ticket text.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from autocrm.settings import AutoSendPolicy, DecisionSettings
from pipeline.retrieval import RetrievedChunk


class Action(StrEnum):
    send = "sent"
    draft = "drafted"
    handoff = "escalated"


class HandoffReason(StrEnum):
    missing_knowledge = "missing_knowledge"
    human_requested = "human_requested"
    unsupported_request = "unsupported_request"
    policy_restriction = "policy_restriction"
    needs_clarification = "needs_clarification"
    model_failure = "model_failure"


class Decision(BaseModel):
    action: Action
    confidence: float
    reason: HandoffReason | None = None
    signals: dict[str, float | bool | str | None] = {}


_HUMAN = re.compile(
    r"\b(speak|talk|chat)\s+(to|with)\s+(a\s+|an\s+)?(human|person|agent|someone|representative|manager)"
    r"|\b(real|actual)\s+(human|person)\b|\bhuman\s+(agent|being|support)\b",
    re.IGNORECASE,
)
_POLICY = re.compile(
    r"\b(refund|chargeback|cancel\w*\s+(my\s+)?(account|subscription|plan)|delete\s+my\s+account|"
    r"lawyer|legal action|gdpr request|lawsuit)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9]{2,}")


def retrieval_signals(chunks: list[RetrievedChunk]) -> dict[str, float]:
    dense = sorted((c.dense_score for c in chunks if c.dense_score is not None), reverse=True)
    top_dense = dense[0] if dense else 0.0
    margin = top_dense - dense[1] if len(dense) > 1 else top_dense
    by_dense = min(chunks, key=lambda c: c.dense_rank or 10**6, default=None)
    by_bm25 = min(chunks, key=lambda c: c.bm25_rank or 10**6, default=None)
    agree = float(
        bool(
            by_dense
            and by_bm25
            and by_dense.dense_rank
            and by_bm25.bm25_rank
            and by_dense.article_id == by_bm25.article_id
        )
    )
    both = sum(1 for c in chunks[:3] if c.dense_rank and c.bm25_rank) / 3 if chunks else 0.0
    return {"top_dense": top_dense, "margin": margin, "agree": agree, "both_top3": both}


def confidence_from(signals: dict[str, float], settings: DecisionSettings) -> float:
    w = settings.weights
    z = (
        w["bias"]
        + w["top_dense"] * signals["top_dense"]
        + w["margin"] * signals["margin"]
        + w["agree"] * signals["agree"]
        + w["both_top3"] * signals["both_top3"]
    )
    return 1 / (1 + math.exp(-z))


def request_flags(text: str) -> HandoffReason | None:
    """Hand-off categories that follow from the request itself, not from retrieval."""
    if _HUMAN.search(text):
        return HandoffReason.human_requested
    if _POLICY.search(text):
        return HandoffReason.policy_restriction
    if len(_WORD.findall(text)) < 3:
        return HandoffReason.needs_clarification
    return None


def may_auto_send(settings: DecisionSettings, now: datetime) -> bool:
    if settings.auto_send == AutoSendPolicy.never:
        return False
    if settings.auto_send == AutoSendPolicy.always:
        return True
    local = now.astimezone(ZoneInfo(settings.business_timezone))
    start, end = settings.business_hours
    return local.weekday() >= 5 or not (start <= local.hour < end)


def decide(
    *,
    chunks: list[RetrievedChunk],
    request_text: str,
    settings: DecisionSettings,
    auto: bool,
    now: datetime,
    llm_answerable: bool | None = None,
    llm_reason: HandoffReason | None = None,
    llm_confidence: float | None = None,
) -> Decision:
    """``auto``: the auto-responder asks (may send); otherwise an agent asks for a suggestion."""
    signals: dict = retrieval_signals(chunks)
    confidence = confidence_from(signals, settings) if chunks else 0.0
    if llm_confidence is not None:
        confidence = min(confidence, llm_confidence) if llm_answerable else 0.0
    signals["llm_answerable"] = llm_answerable
    flag = request_flags(request_text)
    if flag is not None:
        return Decision(action=Action.handoff, confidence=confidence, reason=flag, signals=signals)
    if llm_answerable is False:
        return Decision(
            action=Action.handoff,
            confidence=confidence,
            reason=llm_reason or HandoffReason.missing_knowledge,
            signals=signals,
        )
    if confidence < settings.draft_threshold:
        return Decision(
            action=Action.handoff,
            confidence=confidence,
            reason=HandoffReason.missing_knowledge,
            signals=signals,
        )
    if auto and confidence >= settings.send_threshold:
        if may_auto_send(settings, now):
            return Decision(action=Action.send, confidence=confidence, signals=signals)
        signals["policy"] = settings.auto_send.value
    return Decision(action=Action.draft, confidence=confidence, signals=signals)
