"""Run the production pipeline over an eval dataset and score it.

Per question: the conversation becomes the ticket thread, ``prepare_answer`` (the same function the
API and the worker use) retrieves, drafts and decides; nothing is stored in the KB database. The run
and its per-question results go to ``eval_runs`` / ``eval_results`` in the application database.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from autocrm.core.settings import Settings
from autocrm.evals.answers import answer_metrics, build_judge
from autocrm.evals.datasets import EvalDataset, EvalQuestion
from autocrm.evals.metrics import retrieval_metrics
from autocrm.evals.replies import reply_metrics
from autocrm.pipeline.answer import prepare_answer
from autocrm.pipeline.chat import ChatModel
from autocrm.pipeline.decision import Action, calibrated
from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.query import Turn

# A fixed "now" inside any auto-send window, so runs are reproducible.
EVAL_NOW = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)

INSERT_RUN = """
INSERT INTO eval_runs (name, dataset, split, git_commit, settings, metrics, status, finished_at)
VALUES (%s, %s, %s, %s, %s, %s, 'finished', now()) RETURNING id
"""
INSERT_RESULT = """
INSERT INTO eval_results (run_id, question_id, question, answer, retrieved, metrics, latency_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""


@dataclass
class QuestionResult:
    question: EvalQuestion
    ranked: list[str]
    metrics: dict[str, float]
    action: str
    confidence: float
    signals: dict
    latency_ms: dict[str, float]
    answer: str


@dataclass
class RunResult:
    dataset: str
    results: list[QuestionResult]
    summary: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None


def thread_of(question: EvalQuestion) -> list[Turn]:
    turns = [
        Turn("customer" if t["speaker"] == "user" else "agent", t["text"])
        for t in question.conversation
    ]
    return [*turns, Turn("customer", question.user_input)]


def run_questions(
    conn: psycopg.Connection,
    *,
    dataset: EvalDataset,
    embedder: Embedder,
    chat_model: ChatModel | None,
    settings: Settings,
    progress: Callable[[Iterable], Iterable] = lambda x: x,
) -> RunResult:
    results = []
    # LLM-judged answer metrics only for runs that draft with the LLM: sweeps and the quality gate
    # pass chat_model=None to stay offline and free.
    judge = build_judge(settings=settings, embedder=embedder) if chat_model is not None else None
    try:
        for q in progress(dataset.questions):
            prepared = prepare_answer(
                conn,
                subject="",
                description="",
                thread=thread_of(q),
                customer_name=None,
                kind="auto_reply",
                embedder=embedder,
                chat_model=chat_model,
                settings=settings,
                now=EVAL_NOW,
            )
            ranked = [c.external_id for c in prepared.chunks]
            draft = prepared.draft
            sources = prepared.sources.articles if prepared.sources else []
            results.append(
                QuestionResult(
                    question=q,
                    ranked=ranked,
                    metrics=retrieval_metrics(ranked, set(q.reference_context_ids))
                    | answer_metrics(
                        question=q.user_input,
                        answer=prepared.draft.text,
                        reference=q.reference,
                        retrieved_ids=ranked,
                        reference_ids=q.reference_context_ids,
                        contexts=[c.content for c in prepared.draft.sources],
                        judge=judge,
                    )
                    | reply_metrics(
                        reply=draft.text,
                        reference=q.reference,
                        cited_ids=[draft.sources[n - 1].external_id for n in draft.cited],
                        gold_ids=q.reference_context_ids,
                        articles=[a.sections for a in sources],
                        required_facts=q.required_facts,
                    ),
                    action=prepared.decision.action.value,
                    confidence=prepared.decision.confidence,
                    signals={k: v for k, v in prepared.decision.signals.items()},
                    latency_ms=prepared.timer.as_ms(),
                    answer=prepared.draft.text,
                )
            )
    finally:
        if judge is not None:
            judge.close()
    summary = summarise(results)
    if judge is not None:
        summary["judge_failures"] = sum(judge.failures.values())
    return RunResult(dataset.name, results, summary)


# Reported for the whole run and for each part (tune: settings may be chosen on it; holdout: not).
PART_METRICS = (
    "mrr@10",
    "hit@5",
    "recall@5",
    "rouge_l",
    "token_recall",
    "first60_recall",
    "complete",
    "send_precision",
    "answered_rate",
    "unanswerable_sent",
)


def summarise(results: list[QuestionResult]) -> dict[str, float]:
    summary = _summary(results)
    for part in ("tune", "holdout"):
        chosen = [r for r in results if r.question.part == part]
        if chosen and len(chosen) < len(results):
            summary |= {f"{part}.{k}": v for k, v in _summary(chosen).items() if k in PART_METRICS}
    return summary


# What a dataset's questions say they are ("procedure", "policy", …; MTRAG's question types):
# the report breaks the reply figures down by it, per part, to show where replies fail.
GROUP_KEYS = ("kind", "question_type")
GROUP_METRICS = ("complete", "rouge_l", "answered_rate")


def by_group(results: list[QuestionResult]) -> tuple[str, dict[str, dict[str, dict]]] | None:
    """The answerable questions' reply figures by kind and part ({kind: {part: figures}}, each
    with its question count ``n``); None when the questions name no kind."""
    answerable = [r for r in results if r.question.answerable]
    key = next((k for k in GROUP_KEYS if any(r.question.meta.get(k) for r in answerable)), None)
    if key is None:
        return None
    groups: dict[str, dict[str, dict]] = {}
    for kind in sorted({str(r.question.meta.get(key)) for r in answerable}):
        of_kind = [r for r in answerable if str(r.question.meta.get(key)) == kind]
        groups[kind] = {}
        for part in ("tune", "holdout"):
            chosen = [r for r in of_kind if r.question.part == part]
            if chosen:
                figures = _summary(chosen)
                groups[kind][part] = {"n": len(chosen)} | {
                    m: figures[m] for m in GROUP_METRICS if figures.get(m) is not None
                }
    return key, groups


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return round(statistics.fmean(kept), 4) if kept else None


def _summary(results: list[QuestionResult]) -> dict[str, float]:
    answerable = [r for r in results if r.question.answerable]
    summary: dict[str, float] = {"questions": len(results), "answerable": len(answerable)}
    for key in ("recall@1", "recall@5", "recall@10", "hit@5", "mrr@10", "ndcg@10"):
        summary[key] = (
            round(statistics.fmean(r.metrics[key] for r in answerable), 4) if answerable else 0.0
        )
    # ragas metrics: None (or NaN) where one did not apply (no gold ids) or the judge failed: skipped.
    for key in sorted({k for r in answerable for k in r.metrics if k.startswith("ragas_")}):
        summary[key] = _mean([r.metrics[key] for r in answerable])
    # The reply, as the customer receives it (evals/replies.py).
    for key in ("rouge_l", "token_recall", "content_recall", "first60_recall", "facts_found"):
        summary[key] = _mean([r.metrics.get(key) for r in answerable])
    with_facts = [r for r in answerable if r.question.required_facts]
    if with_facts:
        summary["complete"] = _mean([r.metrics["complete"] for r in with_facts])
    replies = [r for r in answerable if r.metrics.get("cited_articles")]
    summary["reply_words_median"] = (
        statistics.median(r.metrics["reply_words"] for r in replies) if replies else None
    )
    summary["cut_units"] = sum(r.metrics.get("cut_units", 0) for r in results)
    summary["cited_articles_mean"] = _mean([r.metrics.get("cited_articles") for r in replies])
    sent = [r for r in results if r.action == Action.send.value]
    summary["sent"] = len(sent)
    # "Sent" must mean "complete and correct": a sent unanswerable is a wrong send.
    summary["send_precision"] = (
        _mean(
            [r.metrics.get("reply_correct") or 0.0 if r.question.answerable else 0.0 for r in sent]
        )
        if sent
        else None
    )
    summary["answered_rate"] = (
        round(sum(r.action != Action.handoff.value for r in answerable) / len(answerable), 4)
        if answerable
        else None
    )
    summary["correct_rate"] = _mean([r.metrics.get("reply_correct") for r in answerable])
    labelled = [r for r in results if r.question.answerable is not None]
    if any(not r.question.answerable for r in labelled):
        summary["unanswerable_sent"] = sum(not r.question.answerable for r in sent)
        answered = [r for r in labelled if r.action != Action.handoff.value]
        summary["answerable_precision"] = (
            round(sum(r.question.answerable for r in sent) / len(sent), 4) if sent else 0.0
        )
        summary["answerable_recall"] = round(
            sum(r.question.answerable for r in sent) / max(1, len(answerable)), 4
        )
        summary["auto_send_rate"] = round(len(sent) / len(labelled), 4)
        summary["not_handed_off_precision"] = (
            round(sum(r.question.answerable for r in answered) / len(answered), 4)
            if answered
            else 0.0
        )
    for stage in ("embed", "retrieve", "draft"):
        values = [r.latency_ms.get(stage, 0.0) for r in results]
        if values:
            summary[f"p50_{stage}_ms"] = round(statistics.median(values), 2)
    return summary


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def store_run(
    conn: psycopg.Connection, *, run: RunResult, name: str, split: str, settings: Settings
) -> str:
    snapshot = {
        "retrieval": settings.retrieval.model_dump(),
        "chunking": settings.chunking.model_dump(),
        "generation": settings.generation.model_dump(),
        "decision": calibrated(settings.decision, data_dir=settings.data_dir).model_dump(
            mode="json"
        ),
        "embedding_model": settings.embedding_model_name,
        "llm_model": settings.llm_model or None,
    }
    with conn.transaction():
        run_id = conn.execute(
            INSERT_RUN,
            (name, run.dataset, split, git_commit(), json.dumps(snapshot), json.dumps(run.summary)),
        ).fetchone()["id"]
        with conn.cursor() as cur:
            cur.executemany(
                INSERT_RESULT,
                [
                    (
                        run_id,
                        r.question.id,
                        r.question.user_input,
                        r.answer,
                        json.dumps(r.ranked),
                        json.dumps(
                            r.metrics
                            | {
                                "action": r.action,
                                "confidence": r.confidence,
                                "answerable": r.question.answerable,
                                "part": r.question.part,
                                "kind": r.question.meta.get("kind"),
                                "gold": r.question.reference_context_ids,
                                "signals": r.signals,
                            }
                        ),
                        json.dumps(r.latency_ms),
                    )
                    for r in run.results
                ],
            )
    run.run_id = str(run_id)
    return run.run_id
