"""The score of an AI response, computed from its feedback rows (pipeline/feedback.py records them).

SCORE, version ``score-v1``. The formula lives here and nowhere else: change it => bump
SCORE_VERSION, then rescore with ``score_responses(..., all_versions=True)``::

    component  value in [0, 1]                                                      weight
    agent      latest agent action: accepted 1.0 | edited reply_similarity |           0.5
               rejected 0.0
    customer   mean over the customer's signals: csat (rating - 1) / 4,              0.3
               helped 1.0, needs_human 0.0
    outcome    reopened or replied_again 0.0, else deflected 1.0                      0.2

    reply_similarity = 0.5 * edit + 0.5 * max(cosine, 0)   (edit alone while no cosine is known)
      edit   = rapidfuzz normalised Levenshtein similarity of the draft and the text the agent
               sent, both without the "Sources:" footer and with whitespace collapsed
               (stored as ai_feedback.similarity_score; 1.0 for 'accepted')
      cosine = embedding cosine of the same two texts (ai_feedback.semantic_similarity)
    score = sum(weight * value) / sum(weight) over the components present; NULL when none is
            (a response nobody reacted to has no score, not a bad one).

Worked example: edited (edit 0.8, cosine 0.9 -> 0.85); csat 4 (0.75) and helped (1.0) -> customer
0.875; deflected (1.0): (0.5*0.85 + 0.3*0.875 + 0.2*1.0) / 1.0 = 0.8875.
Accepted, then reopened: (0.5*1.0 + 0.2*0.0) / 0.7 = 0.714.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

import numpy as np
import psycopg
from rapidfuzz.distance import Levenshtein

from autocrm.pipeline.embedder import Embedder

SCORE_VERSION = "score-v1"
WEIGHTS = {"agent": 0.5, "customer": 0.3, "outcome": 0.2}
COSINE_SHARE = 0.5  # of reply_similarity, when the embedding cosine is known

SELECT_SIGNALS = """
SELECT ai_response_id, action::text AS action, signal, rating, similarity_score,
       semantic_similarity
  FROM ai_feedback WHERE ai_response_id = ANY(%s::uuid[])
 ORDER BY ai_response_id, created_at, id
"""
UPDATE_SCORE = """
UPDATE ai_responses SET score = %s, score_version = %s, scored_at = now() WHERE id = %s
"""
# Responses whose feedback arrived since ``since`` (with all_versions: any scored differently).
SELECT_TO_SCORE = """
SELECT DISTINCT ai_response_id AS id FROM ai_feedback WHERE created_at >= %(since)s
UNION
SELECT r.id FROM ai_responses r
 WHERE %(all_versions)s AND r.score_version IS DISTINCT FROM %(version)s
   AND EXISTS (SELECT 1 FROM ai_feedback f WHERE f.ai_response_id = r.id)
"""
SELECT_MISSING_COSINE = """
SELECT f.id, f.final_text, r.draft FROM ai_feedback f JOIN ai_responses r ON r.id = f.ai_response_id
 WHERE f.final_text IS NOT NULL AND r.draft IS NOT NULL AND f.semantic_similarity IS NULL
   AND f.created_at >= %s
"""
UPDATE_COSINE = "UPDATE ai_feedback SET semantic_similarity = %s WHERE id = %s"

_FOOTER = re.compile(r"\n\s*Sources:\n(?:\[\d+\][^\n]*(?:\n|$))+\s*$")
_SPACE = re.compile(r"\s+")


def comparable(text: str) -> str:
    """Text as compared: the citation footer is formatting an agent may drop, not content."""
    return _SPACE.sub(" ", _FOOTER.sub("", text)).strip()


def edit_similarity(draft: str, final: str) -> float:
    return float(Levenshtein.normalized_similarity(comparable(draft), comparable(final)))


def cosine_similarities(embedder: Embedder, pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Cosine of each (draft, final) pair, in one embedding batch (vectors are L2-normalised)."""
    if not pairs:
        return []
    vectors = embedder.embed([comparable(t) for pair in pairs for t in pair])
    sims = np.einsum("ij,ij->i", vectors[0::2], vectors[1::2])
    return [float(s) for s in np.clip(sims, -1.0, 1.0)]


def reply_similarity(edit: float | None, cosine: float | None) -> float | None:
    if edit is None:
        return None
    if cosine is None:
        return edit
    return (1 - COSINE_SHARE) * edit + COSINE_SHARE * max(cosine, 0.0)


def compute_score(signals: Iterable[dict]) -> float | None:
    """score-v1 (module docstring) over one response's feedback rows, oldest first."""
    agent = None
    customer: list[float] = []
    deflected = came_back = False
    for s in signals:
        if s["action"] == "accepted":
            agent = 1.0
        elif s["action"] == "edited":
            agent = reply_similarity(s["similarity_score"], s["semantic_similarity"])
        elif s["action"] == "rejected":
            agent = 0.0
        signal = s["signal"]
        if signal == "csat" and s["rating"] is not None:
            customer.append((s["rating"] - 1) / 4)
        elif signal in ("helped", "needs_human"):
            customer.append(1.0 if signal == "helped" else 0.0)
        deflected |= signal == "deflected"
        came_back |= signal in ("reopened", "replied_again")
    parts = {
        "agent": agent,
        "customer": sum(customer) / len(customer) if customer else None,
        "outcome": 0.0 if came_back else (1.0 if deflected else None),
    }
    present = {k: v for k, v in parts.items() if v is not None}
    if not present:
        return None
    return sum(WEIGHTS[k] * v for k, v in present.items()) / sum(WEIGHTS[k] for k in present)


def score_response(conn: psycopg.Connection, *, response_id: UUID | str) -> float | None:
    """Recompute and store one response's score (called whenever a signal is recorded)."""
    return _score(conn, [response_id]).get(str(response_id))


def score_responses(
    conn: psycopg.Connection,
    *,
    since: datetime,
    embedder: Embedder | None = None,
    all_versions: bool = False,
) -> int:
    """Rescore the responses whose feedback arrived since ``since`` (and, with ``all_versions``,
    every response scored by another SCORE_VERSION); with an ``embedder``, first fill in the
    embedding cosines that were not known when the edit was recorded. Returns responses scored."""
    with conn.transaction():
        if embedder is not None:
            rows = conn.execute(SELECT_MISSING_COSINE, (since,)).fetchall()
            sims = cosine_similarities(embedder, [(r["draft"], r["final_text"]) for r in rows])
            with conn.cursor() as cur:
                cur.executemany(
                    UPDATE_COSINE, [(s, r["id"]) for s, r in zip(sims, rows, strict=True)]
                )
        params = {"since": since, "all_versions": all_versions, "version": SCORE_VERSION}
        ids = [r["id"] for r in conn.execute(SELECT_TO_SCORE, params)]
        return len(_score(conn, ids))


def _score(conn: psycopg.Connection, ids: Sequence[UUID | str]) -> dict[str, float | None]:
    by_response: dict[str, list[dict]] = defaultdict(list)
    for row in conn.execute(SELECT_SIGNALS, ([str(i) for i in ids],)):
        by_response[str(row["ai_response_id"])].append(row)
    scores = {rid: compute_score(rows) for rid, rows in by_response.items()}
    with conn.cursor() as cur:
        cur.executemany(UPDATE_SCORE, [(s, SCORE_VERSION, rid) for rid, s in scores.items()])
    return scores
