"""Knowledge gaps: tickets the AI could not answer well, clustered by topic, and draft articles
proposed from the human replies that did answer them.

A ticket is a gap candidate when one of its AI responses since ``since`` had low confidence (not a
model failure or a policy/human hand-off), handed off for missing knowledge, or had its draft
rejected. Tickets are embedded (subject + description) and grouped by average-linkage
agglomerative clustering on cosine similarity, stopping when the closest groups are less similar
than ``similarity`` (numpy; the candidate set is small). Clusters rank by ticket count; the
suggested title is the subject of the cluster's most central ticket, cleaned.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import psycopg

from autocrm.pipeline.embedder import Embedder

# Per response: which gap reasons it shows; per ticket: any of them, over the window.
SELECT_CANDIDATES = """
WITH flagged AS (
    SELECT r.ticket_id, r.created_at,
           r.confidence < %(low)s AND coalesce(r.handoff_reason::text, '')
               NOT IN ('model_failure', 'human_requested', 'policy_restriction') AS low_confidence,
           r.handoff_reason IS NOT DISTINCT FROM 'missing_knowledge' AS missing_knowledge,
           EXISTS (SELECT 1 FROM ai_feedback f
                    WHERE f.ai_response_id = r.id AND f.action = 'rejected') AS rejected
      FROM ai_responses r
     WHERE r.created_at >= %(since)s
)
SELECT t.id, t.number, t.subject, t.description, t.status::text AS status,
       bool_or(f.low_confidence) AS low_confidence, bool_or(f.missing_knowledge) AS missing_knowledge,
       bool_or(f.rejected) AS rejected
  FROM flagged f JOIN tickets t ON t.id = f.ticket_id
 GROUP BY t.id
HAVING bool_or(f.low_confidence OR f.missing_knowledge OR f.rejected)
 ORDER BY max(f.created_at) DESC
 LIMIT %(limit)s
"""
REASONS = ("low_confidence", "missing_knowledge", "rejected")

_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr)\s*:\s*|\[[^\]]*\]\s*|(?:urgent|help|question|issue|problem)"
    r"\s*[:!-]\s*)+",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"[\s?!.:;,-]+$")


@dataclass
class GapTicket:
    id: str
    number: int
    subject: str
    description: str
    status: str
    reasons: list[str]


@dataclass
class GapCluster:
    key: str  # stable across runs while the cluster's oldest ticket stays in it
    title: str
    tickets: list[GapTicket]  # most central first
    reasons: dict[str, int]
    centroid: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.tickets)


def clean_title(subject: str) -> str:
    """'Re: [Billing] URGENT: invoice in yen??' -> 'Invoice in yen'."""
    title = _TRAILING.sub("", _PREFIX.sub("", subject)).strip()
    title = re.sub(r"\s+", " ", title)[:120]
    return title[:1].upper() + title[1:] if title else "Untitled topic"


def agglomerate(vectors: np.ndarray, *, similarity: float) -> list[list[int]]:
    """Average-linkage clustering of L2-normalised rows; merge while the two most similar groups
    have mean pairwise cosine >= ``similarity``. Returns groups of row indices."""
    n = len(vectors)
    groups: list[list[int] | None] = [[i] for i in range(n)]
    if n < 2:
        return [g for g in groups if g]
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n)
    while True:
        i, j = np.unravel_index(np.argmax(sim), sim.shape)
        if sim[i, j] < similarity:
            break
        # Lance-Williams for average linkage: the merged group's similarity to every other.
        merged = (sizes[i] * sim[i] + sizes[j] * sim[j]) / (sizes[i] + sizes[j])
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j], sim[:, j] = -np.inf, -np.inf
        sizes[i] += sizes[j]
        groups[i], groups[j] = groups[i] + groups[j], None
    return [g for g in groups if g]


def find_gaps(
    conn: psycopg.Connection,
    *,
    embedder: Embedder,
    since: datetime,
    low_confidence: float = 0.5,
    similarity: float = 0.55,
    min_size: int = 1,
    limit: int = 2000,
) -> list[GapCluster]:
    """Gap clusters since ``since``, largest first (ties: more reasons, then oldest ticket)."""
    rows = conn.execute(
        SELECT_CANDIDATES, {"since": since, "low": low_confidence, "limit": limit}
    ).fetchall()
    if not rows:
        return []
    tickets = [
        GapTicket(
            id=str(r["id"]),
            number=r["number"],
            subject=r["subject"],
            description=r["description"],
            status=r["status"],
            reasons=[k for k in REASONS if r[k]],
        )
        for r in rows
    ]
    vectors = embedder.embed([f"{t.subject}\n{t.description[:1000]}" for t in tickets])
    clusters = []
    for members in agglomerate(vectors, similarity=similarity):
        if len(members) < min_size:
            continue
        block = vectors[members]
        centrality = (block @ block.T).mean(axis=1)
        order = [members[k] for k in np.argsort(-centrality, kind="stable")]
        group = [tickets[k] for k in order]
        centroid = block.mean(axis=0)
        clusters.append(
            GapCluster(
                key=f"gap-{min(t.number for t in group)}",
                title=clean_title(group[0].subject),
                tickets=group,
                reasons=dict(Counter(reason for t in group for reason in t.reasons)),
                centroid=centroid / (np.linalg.norm(centroid) or 1.0),
            )
        )
    clusters.sort(key=lambda c: (-c.size, -len(c.reasons), c.key))
    return clusters
