"""Suggested replies for agents: the answer pipeline on a ticket the caller can see.

Order matters: the ticket's visibility is checked first, as the caller under RLS (404 if hidden);
only then does the pipeline run, on the service connection like the worker (it stores the
ai_responses row and the internal AI draft, which need writes the caller's policies do not grant).
The caller's transaction is closed before the pipeline starts, so no connection idles in a
transaction while the model drafts.
"""

from __future__ import annotations

import json
import queue
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from autocrm.api.deps import (
    STAFF,
    CallerDep,
    Resources,
    ResourcesDep,
    authorize,
    caller_transaction,
)
from autocrm.api.deps import service_connection as service_conn
from autocrm.api.errors import PROBLEM_RESPONSES, Unauthorized, problem_body
from autocrm.api.routes.tickets import visible_ticket
from autocrm.pipeline.answer import AnswerResult, answer_ticket
from autocrm.pipeline.decision import HandoffReason

router = APIRouter(tags=["suggestions"], responses=PROBLEM_RESPONSES)
KEEPALIVE_S = 5.0
_WORDS = re.compile(r"\S+\s*|\s+")


class Citation(BaseModel):
    index: int
    title: str
    url: str
    article_id: UUID


class Suggestion(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ai_response_id": "5b0c6c52-7f0e-4a47-9d0e-3f6f3b0c2a11",
                    "ticket_id": "99999999-0000-4000-8000-000000000010",
                    "draft": "Hi Ethan, the Team plan allows 300 requests per minute [1]. ...",
                    "citations": [
                        {
                            "index": 1,
                            "title": "API rate limits",
                            "url": "/kb/api/rate-limits",
                            "article_id": "88888888-0000-4000-8000-000000000023",
                        }
                    ],
                    "confidence": 0.82,
                    "decision": "drafted",
                    "handoff_reason": None,
                    "held_back": None,
                    "model": "extractive",
                    "prompt_version": "extractive_v1",
                    "latency_ms": {"retrieve": 12.5, "draft": 3.1, "total": 40.2},
                }
            ]
        }
    )
    ai_response_id: UUID
    ticket_id: UUID
    draft: str
    citations: list[Citation]
    confidence: float
    decision: Literal["sent", "drafted", "escalated"]
    handoff_reason: str | None
    held_back: str | None = Field(
        None,
        description="why a reply confident enough to auto-send is a draft: 'follow-up', "
        "'reply evidence', 'prose answer', 'several questions', or the auto-send policy; None "
        "for an agent's own suggestion",
    )
    model: str
    prompt_version: str
    latency_ms: dict[str, float]


SSE_DOC = {
    200: {
        "description": "The suggestion; with `?stream=true` a `text/event-stream` of `token` "
        'events (`{"text": …}`) then one `done` event (the Suggestion JSON), or an `error` '
        "event (a problem JSON).",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/tickets/{ticket_id}/suggestions",
    response_model=Suggestion,
    responses=SSE_DOC,
    summary="Draft a suggested reply (agents)",
)
def suggest(
    ticket_id: UUID,
    caller: CallerDep,
    res: ResourcesDep,
    request: Request,
    stream: bool = Query(False, description="stream the draft as server-sent events"),
) -> Suggestion | StreamingResponse:
    """Retrieve from the whole KB (internal articles too: the reader is an agent), draft, decide,
    and store it as an internal AI draft on the ticket."""
    if caller.is_anon:
        raise Unauthorized()
    with caller_transaction(res.pool, caller) as session:
        authorize(session, STAFF)
        visible_ticket(session.conn, ticket_id)
    metrics = request.app.state.metrics

    def run(on_text: Callable[[str], None] | None = None) -> Suggestion:
        started = time.perf_counter()
        result = run_pipeline(res, ticket_id, on_text=on_text)
        metrics.ai_decisions.labels("suggestion", result.decision.action.value).inc()
        total_ms = round((time.perf_counter() - started) * 1000, 2)
        return to_suggestion(result, ticket_id, total_ms=total_ms)

    if not stream:
        return run()
    return StreamingResponse(
        sse_events(run),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def run_pipeline(
    res: Resources, ticket_id: UUID, *, on_text: Callable[[str], None] | None = None
) -> AnswerResult:
    with service_conn(res.pool) as conn:
        return answer_ticket(
            conn,
            ticket_id=ticket_id,
            kind="suggestion",
            embedder=res.embedder,
            chat_model=res.chat_model,
            settings=res.settings,
            on_text=on_text,
        )


def to_suggestion(result: AnswerResult, ticket_id: UUID, *, total_ms: float) -> Suggestion:
    draft = result.draft
    # Nothing answers it: no passages for an agent to wade through (as in the stored message).
    nothing = result.decision.reason == HandoffReason.missing_knowledge
    citations = [
        Citation(
            index=n,
            title=draft.sources[n - 1].title,
            url=draft.sources[n - 1].source_url or f"/kb/{draft.sources[n - 1].external_id}",
            article_id=draft.sources[n - 1].article_id,
        )
        for n in ([] if nothing else draft.cited)
    ]
    return Suggestion(
        ai_response_id=result.response_id,
        ticket_id=ticket_id,
        draft="" if nothing else result.text,
        citations=citations,
        confidence=result.decision.confidence,
        decision=result.decision.action.value,
        handoff_reason=result.decision.reason.value if result.decision.reason else None,
        held_back=result.decision.held_back,
        model=draft.model,
        prompt_version=draft.prompt_version,
        latency_ms=result.latency_ms | {"total": total_ms},
    )


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def sse_events(run: Callable[[Callable[[str], None]], Suggestion]) -> Iterator[str]:
    """Comments keep the connection alive while the pipeline retrieves; with an LLM, "token"
    events relay the reply as the model writes it (links never shown, see ReplyStream), then the
    rest of the stored draft (its sources footer); then "done" with the stored result, which is
    the authority (a hand-off wraps the draft in a note). The offline drafter writes no tokens:
    its finished draft follows in small "token" chunks."""
    pieces: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    streamed = ""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="suggest") as executor:
        future = executor.submit(run, pieces.put)
        future.add_done_callback(lambda _: pieces.put(None))
        while True:
            try:
                piece = pieces.get(timeout=KEEPALIVE_S)
            except queue.Empty:
                yield ": working\n\n"
                continue
            if piece is None:
                break
            streamed += piece
            yield _event("token", {"text": piece})
        try:
            suggestion: Suggestion = future.result()
        except Exception as exc:  # the status line is sent already: report it in-band
            yield _event("error", problem_body(exc))
            return
    if suggestion.draft.startswith(streamed):
        words = _WORDS.findall(suggestion.draft[len(streamed) :])
        for start in range(0, len(words), 4):
            yield _event("token", {"text": "".join(words[start : start + 4])})
    yield _event("done", suggestion.model_dump(mode="json"))
