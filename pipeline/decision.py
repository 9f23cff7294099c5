"""Decide what to do with a draft: send it, leave it for an agent, or hand the ticket off.

Confidence comes from retrieval signals (how close the best chunk is, how far ahead of the next
article it is, whether dense and BM25 agree) squashed by a logistic function whose weights were
calibrated on MTRAG dev (see README, Evaluation); with an LLM its own answerability verdict caps it.
Requests that need a human (asked for one, refunds, cancellations, legal) are handed off whatever the
confidence: the auto-responder must never be talked into sending by the ticket text.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ValidationError

from autocrm.core.errors import InvalidInput
from autocrm.core.settings import (
    UNCALIBRATED_DRAFT_THRESHOLD,
    UNCALIBRATED_SEND_THRESHOLD,
    UNCALIBRATED_WEIGHTS,
    AutoSendPolicy,
    DecisionSettings,
)
from autocrm.pipeline.retrieval import RetrievedChunk
from autocrm.pipeline.text import terms


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

    @property
    def held_back(self) -> str | None:
        """Why a reply the auto-responder was confident enough to send is a draft instead: a
        reply-level gate ("follow-up", "reply evidence") or the auto-send policy
        ("auto-send: outside_business_hours", "auto-send: never"). None when it was sent, or
        not confident."""
        if self.action != Action.draft:
            return None
        if gate := self.signals.get("held_back"):
            return str(gate)
        policy = self.signals.get("policy")
        return f"auto-send: {policy}" if policy else None


# Hand-off intents (pipeline/intents, a classifier: docs/handoff-policy.md) → the reason recorded.
_HUMAN = frozenset({"human_requested"})
_POLICY = frozenset({"refund_cancellation", "legal_privacy", "threat_complaint"})
_WORD = re.compile(r"[A-Za-z0-9]{2,}")


# Question length and a leading pronoun also separate MTRAG's unanswerable turns, but they are
# artefacts of that dataset (support tickets are long): they are logged, never weighted.
FEATURES = (
    "top_dense",
    "margin",
    "agree",
    "both_top3",
    "coverage_top1",
    "coverage_top3",
    "latest_coverage_top1",
    "latest_coverage_top3",
    "bm25_per_term",
    "latest_similarity",
    # answer-level evidence from the drafter (pipeline/extractive.py): how much of the question
    # the reply's units hold, how clearly the best unit won, whether the KB knows the words
    "answer_coverage",
    "latest_answer_coverage",
    "unit_coverage",
    "answer_in_chunk",
    "runner_up_ratio",
    "unseen_terms",
)
_PRONOUN = re.compile(r"(?i)^\s*(it|this|that|they|those|these|he|she|her|his)\b")


def retrieval_signals(
    chunks: list[RetrievedChunk], *, query: str, latest: str, latest_vector: np.ndarray | None
) -> dict[str, float]:
    """What the confidence is computed from: how close and how agreed-upon the best passages are,
    and how much of the question (the whole query, and the newest message alone) they cover."""
    dense = sorted((c.dense_score for c in chunks if c.dense_score is not None), reverse=True)
    top_dense = dense[0] if dense else 0.0
    by_dense = min(chunks, key=lambda c: c.dense_rank or 10**6, default=None)
    by_bm25 = min(chunks, key=lambda c: c.bm25_rank or 10**6, default=None)
    query_terms, latest_terms = terms(query), terms(latest)
    passages = [terms(f"{c.context} {c.content}") for c in chunks[:3]]

    def coverage(wanted: set[str], got: set[str]) -> float:
        return len(wanted & got) / len(wanted) if wanted else 0.0

    cov = [coverage(query_terms, p) for p in passages] or [0.0]
    lcov = [coverage(latest_terms, p) for p in passages] or [0.0]
    top = chunks[0] if chunks else None
    return {
        "top_dense": top_dense,
        "margin": top_dense - dense[1] if len(dense) > 1 else top_dense,
        "agree": float(
            bool(
                by_dense
                and by_bm25
                and by_dense.dense_rank
                and by_bm25.bm25_rank
                and by_dense.article_id == by_bm25.article_id
            )
        ),
        "both_top3": sum(1 for c in chunks[:3] if c.dense_rank and c.bm25_rank) / 3
        if chunks
        else 0.0,
        "coverage_top1": cov[0],
        "coverage_top3": max(cov),
        "latest_coverage_top1": lcov[0],
        "latest_coverage_top3": max(lcov),
        "bm25_per_term": max((c.bm25_score or 0.0 for c in chunks), default=0.0)
        / max(1, len(query_terms)),
        "latest_similarity": float(top.embedding @ latest_vector)
        if top is not None and top.embedding is not None and latest_vector is not None
        else 0.0,
        "latest_words": float(len(latest.split())),
        "latest_pronoun": float(bool(_PRONOUN.match(latest))),
    }


# --- Calibration: state in the data directory, the default in the package -------------------------

# `autocrm eval calibrate --write` (evals/calibrate.py) writes <data_dir>/CALIBRATION_FILE_NAME;
# without one, the calibration shipped with the package (fitted on MTRAG dev) is the default.
CALIBRATION_FILE_NAME = "calibration.json"
PACKAGED_CALIBRATION = Path(__file__).with_name(CALIBRATION_FILE_NAME)
CALIBRATED_FIELDS = ("send_threshold", "draft_threshold", "weights")


class CalibrationError(InvalidInput):
    """A calibration file that cannot be read or does not fit the decision settings."""


def calibration_path(*, data_dir: Path) -> Path:
    """The calibration the decision uses: the data directory's, else the packaged default."""
    local = data_dir / CALIBRATION_FILE_NAME
    return local if local.is_file() else PACKAGED_CALIBRATION


def load_calibration(*, data_dir: Path) -> dict:
    path = calibration_path(data_dir=data_dir)
    try:
        return _read_calibration(path, path.stat().st_mtime_ns)
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read the decision calibration {path}: {exc}") from exc


@lru_cache(maxsize=8)
def _read_calibration(path: Path, mtime_ns: int) -> dict:
    """Read once per file version (every answer asks; ``--write`` makes a new version)."""
    return json.loads(path.read_text(encoding="utf-8"))


def calibrated(settings: DecisionSettings, *, data_dir: Path) -> DecisionSettings:
    """``settings`` with the calibration's send threshold and weights where they still hold the
    uncalibrated fallbacks; a value set to anything else (an environment variable, a request, an
    eval run's ``--set``) is kept. By value, not by "was it set": settings copied through a dump
    and a re-validation (``eval run --set``) mark every field as set."""
    uncalibrated = {
        "send_threshold": UNCALIBRATED_SEND_THRESHOLD,
        "draft_threshold": UNCALIBRATED_DRAFT_THRESHOLD,
        "weights": UNCALIBRATED_WEIGHTS,
    }
    calibration = load_calibration(data_dir=data_dir)
    update = {
        key: calibration[key]
        for key in CALIBRATED_FIELDS
        if key in calibration and getattr(settings, key) == uncalibrated[key]
    }
    if not update:
        return settings
    try:
        return DecisionSettings.model_validate(settings.model_dump() | update)
    except ValidationError as exc:
        path = calibration_path(data_dir=data_dir)
        raise CalibrationError(f"the decision calibration {path} is not valid: {exc}") from exc


def confidence_from(signals: dict[str, float], settings: DecisionSettings) -> float:
    """Logistic over the signals; weights fitted by `autocrm eval calibrate` (feature scaling is
    folded into them, so this is a plain dot product)."""
    w = settings.weights
    z = w.get("bias", 0.0) + sum(
        w.get(name, 0.0) * float(signals.get(name) or 0.0) for name in FEATURES
    )
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


def request_flags(
    text: str,
    *,
    vector: np.ndarray | None = None,
    vector_model: str | None = None,
    signals: dict | None = None,
) -> HandoffReason | None:
    """Hand-off categories that follow from the request itself, not from retrieval.

    Asking for a person, a refund or cancellation, a legal or privacy action, and threats or
    complaints are recognised by a classifier (pipeline/intents; docs/handoff-policy.md), not by
    word lists. ``vector``: the message's unit MiniLM embedding, when the caller already has it
    (no extra model call). ``signals``: when given, receives ``handoff_intent`` (the intent's name,
    or None), ``handoff_intents`` (all detected, comma-separated) and ``handoff_intent_score``
    (the best score; 0.5 is every intent's threshold)."""
    from autocrm.pipeline.intents import classify_request

    result = classify_request(text, vector=vector, vector_model=vector_model)
    if signals is not None:
        signals["handoff_intent"] = result.intent
        signals["handoff_intents"] = ",".join(result.detected)
        signals["handoff_intent_score"] = max(result.scores.values(), default=0.0)
    # A person was asked for: that is the reason, even when the message is also about a refund.
    if _HUMAN.intersection(result.detected):
        return HandoffReason.human_requested
    if _POLICY.intersection(result.detected):
        return HandoffReason.policy_restriction
    if len(_WORD.findall(text)) < 3:
        return HandoffReason.needs_clarification
    return None


def reply_supported(signals: dict, settings: DecisionSettings) -> bool:
    """The reply-level conditions for sending: the dense and BM25 best articles agree (or the
    reply is a whole procedure, which a question names by its heading), the reply's answer comes
    from the best-ranked article, and the question's words are known to the knowledge base (an
    unknown product or order number in the question is what an answer from similar-sounding
    articles gets wrong), and the reply's first unit holds some of the question's words.
    Measured on the eval sets' tune parts, reported on their holdout parts (README, Quality)."""
    agreed = signals.get("agree") or signals.get("answer_kind_steps")
    if settings.send_requires_agreement and not agreed:
        return False
    if settings.send_requires_top_article and signals.get("answer_rank"):
        return False  # the answer comes from a lower-ranked article than the retriever's best
    unit = signals.get("unit_coverage")
    if unit is not None and float(unit) < settings.send_min_unit_coverage:
        return False  # the opening unit holds next to nothing of the question
    return float(signals.get("unseen_terms") or 0.0) <= settings.send_max_unseen


def structural(signals: dict) -> bool:
    """The reply's answer is a whole procedure or a table row: complete by its structure."""
    return bool(signals.get("answer_kind_steps") or signals.get("answer_kind_row"))


def held_back(signals: dict, settings: DecisionSettings, *, confidence: float) -> str | None:
    """Why a confident reply is a draft rather than sent, or None when it may be sent."""
    if signals.get("follow_up") and not settings.send_follow_ups:
        return "follow-up"
    if not reply_supported(signals, settings):
        return "reply evidence"  # confident retrieval, weak reply
    if (signals.get("questions_asked") or 0) > settings.send_max_questions:
        return "several questions"  # an agent checks that each one is answered
    if signals.get("names_left_out"):
        return "a name not answered"  # "on Pro and Team?" answered for Team alone
    if confidence < settings.send_threshold_prose and not structural(signals):
        return "prose answer"  # not a whole procedure or row, and not confident enough for prose
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
    query: str = "",
    latest_vector: np.ndarray | None = None,
    request_text: str,
    settings: DecisionSettings,
    auto: bool,
    now: datetime,
    llm_answerable: bool | None = None,
    llm_reason: HandoffReason | None = None,
    llm_confidence: float | None = None,
    evidence: dict[str, float] | None = None,
    vector_model: str | None = None,
    follow_up: bool = False,
) -> Decision:
    """``auto``: the auto-responder asks (may send); otherwise an agent asks for a suggestion.
    ``evidence``: the drafter's answer-level signals (an LLM draft has none: its own verdict and
    confidence stand in for them). ``vector_model``: the embedder ``latest_vector`` came from (the
    hand-off classifier reads only its own model's vectors). ``follow_up``: the customer writes
    again after an agent's or the AI's answer in the thread."""
    signals: dict = retrieval_signals(
        chunks, query=query or request_text, latest=request_text, latest_vector=latest_vector
    ) | (evidence or {})
    signals["follow_up"] = float(follow_up)
    confidence = confidence_from(signals, settings) if chunks else 0.0
    if llm_confidence is not None:
        confidence = min(confidence, llm_confidence) if llm_answerable else 0.0
    signals["llm_answerable"] = llm_answerable
    flag = request_flags(
        request_text, vector=latest_vector, vector_model=vector_model, signals=signals
    )
    if flag is None and signals.get("clarify"):
        flag = HandoffReason.needs_clarification
    if flag is not None:
        return Decision(action=Action.handoff, confidence=confidence, reason=flag, signals=signals)
    if signals.get("no_answer"):
        return Decision(
            action=Action.handoff,
            confidence=0.0,
            reason=HandoffReason.missing_knowledge,
            signals=signals,
        )
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
        if reason := held_back(signals, settings, confidence=confidence):
            signals["held_back"] = reason
        elif may_auto_send(settings, now):
            return Decision(action=Action.send, confidence=confidence, signals=signals)
        else:
            signals["policy"] = settings.auto_send.value
    return Decision(action=Action.draft, confidence=confidence, signals=signals)
