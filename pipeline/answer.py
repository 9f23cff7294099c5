"""The orchestrator: answer one ticket. Query → retrieve → draft → decide → store.

The API (suggestions), the worker (auto-responder), the CLI (`suggest`, `ask`) and the evals all
call these functions; nothing is re-implemented per entry point.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Literal
from uuid import UUID

import numpy as np
import psycopg

from autocrm.core.errors import AutoCRMError, NotFound
from autocrm.core.settings import Settings
from autocrm.core.timing import StageTimer
from autocrm.pipeline.articles import Sources, UnitVectors, load_sources, stored_unit_vectors
from autocrm.pipeline.chat import ChatModel
from autocrm.pipeline.decision import Action, Decision, HandoffReason, calibrated, decide
from autocrm.pipeline.drafting import Draft, extractive_draft, final_text, llm_draft
from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.embedding_cache import embed_cached
from autocrm.pipeline.extractive import Question
from autocrm.pipeline.query import Turn, build_query, customer_turns, last_answer, rewrite_query
from autocrm.pipeline.retrieval import RetrievedChunk, retrieve
from autocrm.pipeline.text import terms

Kind = Literal["suggestion", "auto_reply"]

SELECT_TICKET = """
SELECT t.id, t.subject, t.description, u.full_name AS customer_name
  FROM tickets t JOIN users u ON u.id = t.customer_id
 WHERE t.id = %s
"""
SELECT_THREAD = """
SELECT message_type::text AS speaker, body FROM conversations
 WHERE ticket_id = %s AND NOT is_internal ORDER BY created_at, id
"""
INSERT_RESPONSE = """
INSERT INTO ai_responses (ticket_id, kind, query, retrieved, cited, draft, model, prompt_version,
                          settings, confidence, decision, handoff_reason, held_back, latency_ms,
                          token_usage)
VALUES (%(ticket_id)s, %(kind)s, %(query)s, %(retrieved)s, %(cited)s, %(draft)s, %(model)s,
        %(prompt_version)s, %(settings)s, %(confidence)s, %(decision)s, %(reason)s,
        %(held_back)s, %(latency)s, %(tokens)s)
ON CONFLICT DO NOTHING
RETURNING id
"""
INSERT_MESSAGE = """
INSERT INTO conversations (ticket_id, message_type, is_internal, body, metadata)
VALUES (%s, 'ai', %s, %s, %s) RETURNING id
"""
LINK_MESSAGE = "UPDATE ai_responses SET message_id = %s WHERE id = %s"
# After a public AI reply the ball is in the customer's court; otherwise a human must look.
UPDATE_STATUS = """
UPDATE tickets SET status = CASE WHEN %(sent)s THEN 'pending'::ticket_status ELSE 'open' END
 WHERE id = %(ticket_id)s AND status IN ('new', 'open')
"""


# Answer-unit vectors by model name (as the query cache keys them): a name is one model's vectors.
_UNIT_VECTORS: dict[str, UnitVectors] = {}


def unit_vectors(embedder: Embedder) -> UnitVectors:
    """The process's cache of answer-unit vectors for this embedder's model."""
    return _UNIT_VECTORS.setdefault(embedder.name, UnitVectors())


def _cosines_to(
    embedder: Embedder,
    texts: Sequence[str],
    to: str,
    *,
    stored: Callable[[Sequence[str]], dict[str, np.ndarray]] | None = None,
) -> list[float]:
    """Cosines of ``texts`` to ``to`` (a part of the message; its vector is kept with the units',
    as each question of a message is put to the model more than once)."""
    cache = unit_vectors(embedder)
    vector = cache.vectors([to], embed=embedder.embed)[0]
    return cache.cosines(texts, embed=embedder.embed, query_vector=vector, stored=stored)


class AlreadyAnswered(AutoCRMError):
    """Another worker already stored this ticket's auto-response (exactly-once holds)."""


@dataclass
class AnswerResult:
    response_id: UUID
    message_id: UUID | None
    decision: Decision
    draft: Draft
    query: str
    chunks: list[RetrievedChunk]
    latency_ms: dict[str, float]
    text: str


@dataclass
class Prepared:
    """Everything up to the decision, before anything is stored (evals stop here)."""

    query: str
    chunks: list[RetrievedChunk]
    draft: Draft
    decision: Decision
    timer: StageTimer
    sources: Sources | None = None  # the articles the draft was built from


def prepare_answer(
    conn: psycopg.Connection,
    *,
    subject: str,
    description: str,
    thread: list[Turn],
    customer_name: str | None,
    kind: Kind,
    embedder: Embedder,
    chat_model: ChatModel | None,
    settings: Settings,
    now: datetime | None = None,
    reuse_embeddings: bool = False,
    on_text: Callable[[str], None] | None = None,
) -> Prepared:
    """Query, retrieval, draft and decision for a thread. ``reuse_embeddings``: look the query's
    vectors up in the shared cache first (the API and the worker; evals measure the model).
    ``on_text``: the LLM drafter's reply text as it is written (streamed suggestions)."""
    timer = StageTimer()
    gen = settings.generation
    with timer.stage("query"):
        query = build_query(
            subject=subject, description=description, thread=thread, max_chars=gen.query_max_chars
        )
        if gen.rewrite_query and chat_model is not None:
            turns = thread or [Turn("customer", f"{subject}\n{description}")]
            query = rewrite_query(
                chat_model=chat_model, thread=turns, max_chars=gen.query_max_chars
            )
    retrieval = settings.retrieval.model_copy(
        update={"visibility": "public" if kind == "auto_reply" else "all"}
    )
    turns = customer_turns(subject=subject, description=description, thread=thread)
    latest = turns[-1] if turns else ""
    question = Question(latest, turns[-2] if len(turns) > 1 else "", last_answer(thread))
    # The newest message is embedded too (same batch): the decision compares it with the top
    # passage, a strong answerability signal for follow-ups.
    started = time.perf_counter()
    # ... and the sentences of it that ask ("How do I descale it using the app?" without the
    # story around it, but with the sentence a short "Is that the problem?" is about): which
    # section of an article answers is decided against them.
    meant = question.meant
    texts = [query, latest] + ([meant] if meant != latest else [])
    unique = list(dict.fromkeys(texts))  # a first message is often its own query: embedded once
    if reuse_embeddings:
        found, cached = embed_cached(conn, embedder=embedder, texts=unique)
    else:
        found, cached = embedder.embed(unique), 0
    vectors = found[[unique.index(t) for t in texts]]
    # A stage of its own when the model did not run at all: latency reports keep the two apart.
    timer.record("embed_cached" if cached == len(unique) else "embed", started)
    vector = vectors[0] if retrieval.mode != "bm25" else None
    with timer.stage("retrieve"):
        chunks = retrieve(conn, query=query, query_vector=vector, settings=retrieval)
    with timer.stage("draft"):
        sources = load_sources(
            conn,
            chunks=chunks,
            question_terms=terms(f"{question.previous} {question.latest}"),
            limit=gen.max_sources,
            query_vector=vectors[-1] if vector is not None else None,
        )
        # Which sentence answers, by meaning: how close each is to what the newest message asks
        # (the units' vectors as ingestion stored them; the model runs only for the others).
        stored = partial(stored_unit_vectors, conn, model=embedder.name)
        sources.similarity = partial(
            unit_vectors(embedder).cosines,
            embed=embedder.embed,
            query_vector=vectors[-1],
            stored=stored,
        )
        sources.similarity_to = partial(_cosines_to, embedder, stored=stored)
        if chat_model is not None:
            thread_text = (
                "\n".join(f"{t.speaker}: {t.text}" for t in thread)
                or f"customer: {subject}\n{description}"
            )
            draft = llm_draft(
                chat_model=chat_model,
                thread_text=thread_text,
                question=question,
                sources=sources,
                chunks=chunks,
                customer_name=customer_name,
                settings=gen,
                on_text=on_text,
            )
        else:
            draft = extractive_draft(
                question=question,
                sources=sources,
                chunks=chunks,
                customer_name=customer_name,
                clarify=needs_clarification(question, sources.idf),
            )
    with timer.stage("decide"):
        decision = decide(
            chunks=chunks,
            query=query,
            latest_vector=vectors[1],
            request_text=latest,
            settings=calibrated(settings.decision, data_dir=settings.data_dir),
            auto=kind == "auto_reply",
            now=now or datetime.now(UTC),
            llm_answerable=draft.llm_answerable,
            llm_reason=draft.llm_reason,
            llm_confidence=draft.llm_confidence,
            evidence=draft.evidence,
            vector_model=embedder.name,
            follow_up=answered_before(thread),
        )
    return Prepared(query, chunks, draft, decision, timer, sources)


def answered_before(thread: list[Turn]) -> bool:
    """The customer's newest message comes after an answer (an agent's or the AI's) in the thread."""
    return bool(last_answer(thread))


def needs_clarification(question: Question, known: dict[str, float]) -> bool:
    """Nothing to answer: no content word at all, or a few words the knowledge base has never
    seen ("asdf qwerty"). A short follow-up in a thread ("and on Pro?") has its previous turn."""
    words = terms(f"{question.previous} {question.latest}")
    return not words or (len(words) <= 3 and not words & known.keys())


def answer_ticket(
    conn: psycopg.Connection,
    *,
    ticket_id: UUID | str,
    kind: Kind,
    embedder: Embedder,
    chat_model: ChatModel | None,
    settings: Settings,
    now: datetime | None = None,
    on_text: Callable[[str], None] | None = None,
) -> AnswerResult:
    """Answer a ticket and store the outcome (one transaction: response, message, first response).
    ``on_text`` receives the LLM draft's text as the model writes it."""
    started = time.perf_counter()
    ticket = conn.execute(SELECT_TICKET, (ticket_id,)).fetchone()
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    thread = [Turn(r["speaker"], r["body"]) for r in conn.execute(SELECT_THREAD, (ticket_id,))]
    prepared = prepare_answer(
        conn,
        subject=ticket["subject"],
        description=ticket["description"],
        thread=thread,
        customer_name=ticket["customer_name"],
        kind=kind,
        embedder=embedder,
        chat_model=chat_model,
        settings=settings,
        now=now,
        reuse_embeddings=settings.generation.reuse_query_embeddings,
        on_text=on_text,
    )
    with prepared.timer.stage("store"):
        response_id, message_id, text = store_answer(
            conn,
            ticket_id=ticket["id"],
            kind=kind,
            prepared=prepared,
            settings=settings,
            started=started,
        )
    return AnswerResult(
        response_id,
        message_id,
        prepared.decision,
        prepared.draft,
        prepared.query,
        prepared.chunks,
        prepared.timer.as_ms(),
        text,
    )


def store_answer(
    conn: psycopg.Connection,
    *,
    ticket_id: UUID,
    kind: Kind,
    prepared: Prepared,
    settings: Settings,
    started: float,
) -> tuple[UUID, UUID | None, str]:
    decision, draft = prepared.decision, prepared.draft
    sent = decision.action == Action.send
    text = final_text(draft)
    if decision.action != Action.handoff:
        body = text
    elif decision.reason == HandoffReason.missing_knowledge:  # nothing worth an agent's reading
        body = (
            f"AI hand-off ({decision.reason}, confidence {decision.confidence:.2f}): "
            "no published article answers this."
        )
    else:
        body = (
            f"AI hand-off ({decision.reason}, confidence {decision.confidence:.2f}). "
            f"Draft for reference:\n\n{text}"
        )
    latency = prepared.timer.as_ms() | {"total": round((time.perf_counter() - started) * 1000, 2)}
    with conn.transaction():
        row = conn.execute(
            INSERT_RESPONSE,
            {
                "ticket_id": ticket_id,
                "kind": kind,
                "query": prepared.query,
                "retrieved": json.dumps([c.as_record(i) for i, c in enumerate(prepared.chunks, 1)]),
                "cited": json.dumps(
                    [
                        {
                            "index": n,
                            "chunk_id": draft.sources[n - 1].chunk_id,
                            "article_id": str(draft.sources[n - 1].article_id),
                        }
                        for n in draft.cited
                    ]
                ),
                "draft": text,
                "model": draft.model,
                "prompt_version": draft.prompt_version,
                "settings": settings_snapshot(settings),
                "confidence": decision.confidence,
                "decision": decision.action.value,
                "reason": decision.reason.value if decision.reason else None,
                "held_back": decision.held_back,
                "latency": json.dumps(latency),
                "tokens": json.dumps(
                    {"prompt": draft.prompt_tokens, "completion": draft.completion_tokens}
                ),
            },
        ).fetchone()
        if row is None:
            raise AlreadyAnswered(f"ticket {ticket_id} already has an auto-response")
        message_id = conn.execute(
            INSERT_MESSAGE,
            (
                ticket_id,
                not sent,
                body,
                json.dumps({"ai_response_id": str(row["id"]), "decision": decision.action.value}),
            ),
        ).fetchone()["id"]
        conn.execute(LINK_MESSAGE, (message_id, row["id"]))
        if kind == "auto_reply":
            conn.execute(UPDATE_STATUS, {"sent": sent, "ticket_id": ticket_id})
    return row["id"], message_id, text


def settings_snapshot(settings: Settings) -> str:
    """The knobs that shaped a response, stored with it (reproducibility)."""
    return json.dumps(
        {
            "retrieval": settings.retrieval.model_dump(),
            "generation": settings.generation.model_dump(),
            "decision": calibrated(settings.decision, data_dir=settings.data_dir).model_dump(
                mode="json"
            ),
            "embedding_model": settings.embedding_model_name,
            "llm_model": settings.llm_model or None,
        }
    )


def record_failure(
    conn: psycopg.Connection, *, ticket_id: UUID | str, error: str, settings: Settings
) -> UUID | None:
    """The model failed for good: store the hand-off (model_failure) so a human picks it up."""
    with conn.transaction():
        row = conn.execute(
            INSERT_RESPONSE,
            {
                "ticket_id": ticket_id,
                "kind": "auto_reply",
                "query": "",
                "retrieved": "[]",
                "cited": "[]",
                "draft": None,
                "model": settings.llm_model or "unknown",
                "prompt_version": "answer",
                "settings": settings_snapshot(settings),
                "confidence": 0.0,
                "decision": Action.handoff.value,
                "reason": "model_failure",
                "held_back": None,
                "latency": "{}",
                "tokens": "{}",
            },
        ).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE ai_responses SET error = %s WHERE id = %s", (error[:2000], row["id"]))
        message_id = conn.execute(
            INSERT_MESSAGE,
            (
                ticket_id,
                True,
                f"AI hand-off (model_failure): {error[:500]}",
                json.dumps({"ai_response_id": str(row["id"]), "decision": "escalated"}),
            ),
        ).fetchone()["id"]
        conn.execute(LINK_MESSAGE, (message_id, row["id"]))
        conn.execute(UPDATE_STATUS, {"sent": False, "ticket_id": ticket_id})
    return row["id"]
