"""Feedback on AI responses: explicit signals (agents, customers, article votes) and implicit
signals derived from what happened to the ticket afterwards. Each is one ``ai_feedback`` row; the
response's score (pipeline/scoring.py, where the formula is documented) is recomputed on each.

Recording is idempotent by ``event_key``: the API passes its Idempotency-Key, the implicit-signal
job uses ``"<response id>:<signal>"``; a repeated event is a no-op returning the row stored first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal, get_args
from uuid import UUID

import psycopg

from autocrm.core.errors import InvalidInput, NotFound
from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.scoring import (
    cosine_similarities,
    edit_similarity,
    score_response,
    score_responses,
)

IMPLICIT_SQL = Path(__file__).parent / "sql" / "implicit_signals.sql"
REPLY_WINDOW_HOURS = 24  # a customer coming back within this after a sent reply: it did not help

Action = Literal["accepted", "edited", "rejected"]
Reason = Literal[
    "incorrect", "incomplete", "outdated", "irrelevant", "too_generic", "wrong_tone", "unsafe"
]
CustomerSignal = Literal["helped", "needs_human"]
ACTIONS, REASONS, CUSTOMER_SIGNALS = get_args(Action), get_args(Reason), get_args(CustomerSignal)


class InvalidFeedback(InvalidInput):
    """A feedback call whose fields do not fit together (e.g. 'edited' without the final text)."""


class IdempotencyConflict(InvalidInput):
    """An event_key that was already used for a different AI response."""


@dataclass(frozen=True)
class Recorded:
    id: UUID
    created: bool  # False: the event_key was seen before; ``id`` is the row stored then


_EMPTY_ROW = dict.fromkeys(
    ("action", "signal", "rating", "final_text", "similarity", "semantic", "reason", "comment")
)
MAX_COMMENT = 5000  # the column's CHECK

SELECT_RESPONSE = "SELECT id, draft, created_at FROM ai_responses WHERE id = %s"
# Customers rate only public AI replies on their own tickets (the ai_feedback policy's predicate).
SELECT_CUSTOMER_REPLY = """
SELECT r.id FROM ai_responses r
  JOIN conversations m ON m.id = r.message_id AND NOT m.is_internal
  JOIN tickets t ON t.id = r.ticket_id
 WHERE r.id = %s AND t.customer_id = %s
"""
INSERT_FEEDBACK = """
INSERT INTO ai_feedback (ai_response_id, source, action, signal, rating, final_text,
                         similarity_score, semantic_similarity, reason, comment,
                         time_to_decision_s, event_key, created_by)
VALUES (%(response_id)s, %(source)s, %(action)s, %(signal)s, %(rating)s, %(final_text)s,
        %(similarity)s, %(semantic)s, %(reason)s, %(comment)s,
        extract(epoch FROM coalesce(%(now)s, now()) - %(drafted_at)s), %(event_key)s, %(user)s)
ON CONFLICT (event_key) DO NOTHING
RETURNING id
"""
SELECT_BY_KEY = "SELECT id, ai_response_id FROM ai_feedback WHERE event_key = %s"
INSERT_ARTICLE_FEEDBACK = """
INSERT INTO kb_article_feedback (article_id, user_id, ticket_id, helpful, comment, event_key)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (event_key) DO NOTHING
RETURNING id
"""
SELECT_ARTICLE_BY_KEY = "SELECT id FROM kb_article_feedback WHERE event_key = %s"
REFRESH_VIEWS = "SELECT public.refresh_ai_views()"
SELECT_NOW = "SELECT now() AS t"


def record_agent_action(
    conn: psycopg.Connection,
    *,
    response_id: UUID | str,
    agent_id: UUID | str | None,
    action: Action,
    final_text: str | None = None,
    reason: Reason | None = None,
    comment: str | None = None,
    event_key: str | None = None,
    embedder: Embedder | None = None,
    now: datetime | None = None,
) -> Recorded:
    """An agent accepted the draft as is, edited then sent it (``final_text``), or rejected it
    (``reason``). Similarity to the draft is computed now; the embedding cosine too when an
    ``embedder`` is given (otherwise the scoring job fills it in)."""
    if action not in ACTIONS:
        raise InvalidFeedback(f"action must be one of {', '.join(ACTIONS)}")
    if (action == "edited") != bool(final_text and final_text.strip()):
        raise InvalidFeedback("final_text is required with action 'edited', and only with it")
    if (action == "rejected") != (reason is not None):
        raise InvalidFeedback("reason is required with action 'rejected', and only with it")
    if reason is not None and reason not in REASONS:
        raise InvalidFeedback(f"reason must be one of {', '.join(REASONS)}")
    _check_comment(comment)
    with conn.transaction():
        response = _response(conn, response_id)
        similarity = semantic = None
        if action == "accepted":
            similarity = 1.0
        elif action == "edited":
            similarity = edit_similarity(response["draft"] or "", final_text or "")
            if embedder is not None:
                semantic = cosine_similarities(embedder, [(response["draft"] or "", final_text)])[0]
        row = _EMPTY_ROW | {
            "source": "agent", "action": action, "reason": reason, "comment": comment,
            "final_text": final_text if action == "edited" else None,
            "similarity": similarity, "semantic": semantic, "user": agent_id,
        }  # fmt: skip
        return _insert(conn, response=response, row=row, event_key=event_key, decided_at=now)


def record_customer_signal(
    conn: psycopg.Connection,
    *,
    response_id: UUID | str,
    customer_id: UUID | str,
    signal: CustomerSignal | None = None,
    csat: int | None = None,
    comment: str | None = None,
    event_key: str | None = None,
) -> list[Recorded]:
    """The customer says a public AI reply helped / they need a human, and/or rates it (CSAT 1-5,
    stored as signal 'csat'). One row per signal; with ``event_key`` each is keyed
    ``"<event_key>:<signal>"`` (the API's convention), so a retried request stores nothing new."""
    if signal is None and csat is None:
        raise InvalidFeedback("give a signal (helped, needs_human) and/or a csat rating")
    if signal is not None and signal not in CUSTOMER_SIGNALS:
        raise InvalidFeedback(f"signal must be one of {', '.join(CUSTOMER_SIGNALS)}")
    if csat is not None and not 1 <= csat <= 5:
        raise InvalidFeedback("csat is a rating from 1 to 5")
    _check_comment(comment)
    wanted = ([("csat", csat)] if csat is not None else []) + ([(signal, None)] if signal else [])
    with conn.transaction():
        response = _response(conn, response_id)
        if conn.execute(SELECT_CUSTOMER_REPLY, (response_id, customer_id)).fetchone() is None:
            raise NotFound(f"AI reply {response_id} not found among this customer's replies")
        return [
            _insert(
                conn,
                response=response,
                row=_EMPTY_ROW
                | {"source": "customer", "signal": name, "rating": rating, "user": customer_id}
                | {"comment": comment if i == 0 else None},
                event_key=f"{event_key}:{name}" if event_key else None,
            )
            for i, (name, rating) in enumerate(wanted)
        ]


def record_article_feedback(
    conn: psycopg.Connection,
    *,
    article_id: UUID | str,
    user_id: UUID | str | None,
    helpful: bool,
    ticket_id: UUID | str | None = None,
    comment: str | None = None,
    event_key: str | None = None,
) -> Recorded:
    """'Was this article helpful?' (kb_article_feedback), idempotent by ``event_key``."""
    _check_comment(comment)
    with conn.transaction():
        row = conn.execute(
            INSERT_ARTICLE_FEEDBACK, (article_id, user_id, ticket_id, helpful, comment, event_key)
        ).fetchone()
        if row is not None:
            return Recorded(row["id"], True)
        return Recorded(conn.execute(SELECT_ARTICLE_BY_KEY, (event_key,)).fetchone()["id"], False)


def _check_comment(comment: str | None) -> None:
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidFeedback(f"comment is longer than {MAX_COMMENT} characters")


def _response(conn: psycopg.Connection, response_id: UUID | str) -> dict:
    response = conn.execute(SELECT_RESPONSE, (response_id,)).fetchone()
    if response is None:
        raise NotFound(f"AI response {response_id} not found")
    return response


def _insert(
    conn: psycopg.Connection,
    *,
    response: dict,
    row: dict,
    event_key: str | None,
    decided_at: datetime | None = None,
) -> Recorded:
    params = row | {
        "response_id": response["id"],
        # time_to_decision_s: agents only (draft shown -> decision); NULL for customer signals
        "drafted_at": response["created_at"] if row["action"] else None,
        "event_key": event_key,
        "now": decided_at,
    }
    inserted = conn.execute(INSERT_FEEDBACK, params).fetchone()
    if inserted is not None:
        score_response(conn, response_id=response["id"])
        return Recorded(inserted["id"], True)
    existing = conn.execute(SELECT_BY_KEY, (event_key,)).fetchone()
    if existing["ai_response_id"] != response["id"]:
        raise IdempotencyConflict(f"event_key {event_key!r} was used for another AI response")
    return Recorded(existing["id"], False)


# Implicit signals -------------------------------------------------------------------------------

_NAMED = re.compile(r"^-- name: ([a-z_]+)$", re.MULTILINE)


@cache
def implicit_statements() -> dict[str, str]:
    """signal -> its INSERT statement, from pipeline/sql/implicit_signals.sql (in file order)."""
    parts = _NAMED.split(IMPLICIT_SQL.read_text(encoding="utf-8"))[1:]
    return dict(zip(parts[0::2], (p.strip().rstrip(";") for p in parts[1::2]), strict=True))


def derive_implicit_signals(
    conn: psycopg.Connection,
    *,
    now: datetime,
    reply_window_hours: float = REPLY_WINDOW_HOURS,
    lookback_days: int = 30,
) -> dict[str, int]:
    """Record replied_again, reopened, deflected and first_response for AI responses of the last
    ``lookback_days`` (definitions in pipeline/sql/implicit_signals.sql), then rescore those that
    got one. Idempotent: every event has a deterministic event_key, so a re-run adds nothing.
    Returns the rows added per signal."""
    params = {
        "now": now,
        "since": now - timedelta(days=lookback_days),
        "window": timedelta(hours=reply_window_hours),
    }
    added: dict[str, int] = {}
    with conn.transaction():
        started = conn.execute(SELECT_NOW).fetchone()["t"]  # = created_at of the rows added
        for signal, statement in implicit_statements().items():
            added[signal] = conn.execute(statement, params).rowcount
        if any(added.values()):
            score_responses(conn, since=started)
    return added


def refresh_effectiveness_views(conn: psycopg.Connection) -> None:
    """REFRESH … CONCURRENTLY both views (readers are not blocked while it runs)."""
    conn.execute(REFRESH_VIEWS)
