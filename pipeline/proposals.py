"""Article proposals: for each knowledge-gap cluster (pipeline/gaps.py) whose tickets a human
solved, draft a KB article from the agents' replies and save it as a ``draft`` for review.

Drafted by the chat model when one is configured (prompt ``kb_proposal``), extractively otherwise
(title + the cleaned agent replies as numbered steps). A proposal is skipped when an existing
article already covers it (a chunk at cosine >= ``duplicate_similarity``). Proposals are saved with
source 'proposals' and external_id = the cluster's key, so a re-run updates the same draft, and
never one a reviewer has edited or moved on from 'draft'. Nothing here publishes anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Literal

import psycopg
from pydantic import BaseModel, Field

from autocrm.pipeline.chat import ChatModel, ChatModelError
from autocrm.pipeline.embedder import Embedder
from autocrm.pipeline.gaps import GapCluster, clean_title

log = logging.getLogger("autocrm.proposals")
EXTRACTIVE_MODEL = "extractive-v1"
MAX_STEPS = 5

SELECT_SOLUTIONS = """
SELECT m.ticket_id, m.body FROM conversations m JOIN tickets t ON t.id = m.ticket_id
 WHERE m.ticket_id = ANY(%s::uuid[]) AND m.message_type = 'agent' AND NOT m.is_internal
   AND t.status IN ('solved', 'closed')
 ORDER BY t.number, m.created_at, m.id
"""
NEAREST_CHUNK = """
SELECT a.id AS article_id, a.title, 1 - (c.embedding <=> %(v)s) AS similarity
  FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
 WHERE c.embedding IS NOT NULL AND a.status <> 'archived' AND a.source <> 'proposals'
 ORDER BY c.embedding <=> %(v)s
 LIMIT 1
"""
# Update only our own untouched draft: the body still has the md5 we wrote (a reviewer's edit, or
# any status but draft, leaves the row alone and RETURNING gives nothing).
UPSERT_PROPOSAL = """
INSERT INTO kb_articles (source, external_id, title, body, summary, status, visibility, tags,
                         metadata)
VALUES ('proposals', %(key)s, %(title)s, %(body)s, %(summary)s, 'draft', 'internal', '{proposed}',
        %(metadata)s)
ON CONFLICT (source, external_id) DO UPDATE
   SET title = EXCLUDED.title, body = EXCLUDED.body, summary = EXCLUDED.summary,
       metadata = EXCLUDED.metadata
 WHERE kb_articles.status = 'draft'
   AND md5(kb_articles.body) = kb_articles.metadata #>> '{proposal,body_md5}'
RETURNING id, (xmax = 0) AS inserted
"""

Outcome = Literal["created", "updated", "kept", "duplicate", "no_solution"]

_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|bonjour|hallo|hola)\b[^\n]*\n+",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"\n+\s*(?:thanks|thank you|many thanks|best|cheers|regards|kind regards|best regards|merci|"
    r"cordialement|viele grüße|--|—)\b[^\n]*(?:\n[^\n]{0,40}){0,2}\s*$",
    re.IGNORECASE,
)
_NAME_LINE = re.compile(r"\n+\s*[A-Z][a-zà-ÿ]+\s*$")


class ProposalOutput(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    body: str = Field(min_length=20)


@dataclass
class Proposal:
    key: str
    title: str
    outcome: Outcome
    article_id: str | None = None
    tickets: int = 0
    solved: int = 0
    similar_title: str | None = None  # the existing article, for 'duplicate'
    similarity: float | None = None
    drafted_by: str | None = None


def clean_reply(text: str) -> str:
    """An agent reply without greeting, sign-off and signature: the reusable part."""
    text = _GREETING.sub("", text.strip())
    text = _SIGN_OFF.sub("", text)
    return _NAME_LINE.sub("", text).strip()


def extractive_article(cluster: GapCluster, replies: list[str]) -> tuple[str, str]:
    asked = list(dict.fromkeys(clean_title(t.subject) for t in cluster.tickets))[:3]
    steps = "\n".join(
        f"{n}. " + step.replace("\n", "\n   ") for n, step in enumerate(replies[:MAX_STEPS], 1)
    )
    body = (
        "Customers asked:\n\n" + "\n".join(f"- {q}" for q in asked) + f"\n\n## Steps\n\n{steps}\n"
    )
    return cluster.title, body


def llm_article(chat_model: ChatModel, cluster: GapCluster, replies: list[str]) -> tuple[str, str]:
    from autocrm.pipeline.prompts import load_prompt

    prompt = load_prompt("kb_proposal")
    messages = prompt.render(
        topic=cluster.title,
        questions="\n".join(f"- {t.subject}" for t in cluster.tickets[:10]),
        replies="\n\n".join(f"[{n}] {r}" for n, r in enumerate(replies[:MAX_STEPS], 1)),
    )
    result = chat_model.complete(messages, temperature=0.2, max_tokens=1200, schema=ProposalOutput)
    parsed = result.parsed
    if not isinstance(parsed, ProposalOutput):
        parsed = ProposalOutput.model_validate_json(result.text)
    return parsed.title.strip(), parsed.body.strip()


def propose_articles(
    conn: psycopg.Connection,
    *,
    clusters: list[GapCluster],
    embedder: Embedder,
    chat_model: ChatModel | None = None,
    duplicate_similarity: float = 0.85,
) -> list[Proposal]:
    """One Proposal per cluster: created/updated as a draft article, kept (a reviewer owns it
    now), duplicate (an existing article covers it) or no_solution (no human-solved ticket)."""
    ids = [t.id for c in clusters for t in c.tickets]
    replies: dict[str, list[str]] = {}
    for row in conn.execute(SELECT_SOLUTIONS, (ids,)):
        replies.setdefault(str(row["ticket_id"]), []).append(row["body"])
    out = []
    for cluster in clusters:
        solved = [clean_reply(r) for t in cluster.tickets for r in replies.get(t.id, [])]
        steps = list(dict.fromkeys(s for s in solved if s))
        base = Proposal(cluster.key, cluster.title, "no_solution", tickets=cluster.size)
        base.solved = sum(1 for t in cluster.tickets if t.id in replies)
        if not steps:
            out.append(base)
            continue
        title, body, drafted_by = _draft(chat_model, cluster, steps)
        base.title, base.drafted_by = title, drafted_by
        vector = embedder.embed([f"{title}\n{body}"[:2000]])[0]
        near = conn.execute(NEAREST_CHUNK, {"v": vector}).fetchone()
        if near is not None and near["similarity"] >= duplicate_similarity:
            base.outcome, base.similar_title = "duplicate", near["title"]
            base.similarity = float(near["similarity"])
            out.append(base)
            continue
        base.similarity = float(near["similarity"]) if near else None
        row = _save(conn, cluster=cluster, title=title, body=body, drafted_by=drafted_by)
        if row is None:
            base.outcome = "kept"
        else:
            base.outcome = "created" if row["inserted"] else "updated"
            base.article_id = str(row["id"])
        out.append(base)
    return out


def _draft(
    chat_model: ChatModel | None, cluster: GapCluster, steps: list[str]
) -> tuple[str, str, str]:
    if chat_model is not None:
        try:
            title, body = llm_article(chat_model, cluster, steps)
            return title, body, chat_model.name
        except (ChatModelError, ValueError) as exc:
            # A proposal is a suggestion for a reviewer: the extractive draft is still useful,
            # and drafted_by says which one they are looking at.
            log.warning("kb proposal %s: model failed, drafting extractively: %s", cluster.key, exc)
    title, body = extractive_article(cluster, steps)
    return title, body, EXTRACTIVE_MODEL


def _save(
    conn: psycopg.Connection, *, cluster: GapCluster, title: str, body: str, drafted_by: str
) -> dict | None:
    metadata = {
        "proposal": {
            "cluster": cluster.key,
            "tickets": [t.number for t in cluster.tickets],
            "reasons": cluster.reasons,
            "drafted_by": drafted_by,
            "body_md5": hashlib.md5(body.encode()).hexdigest(),
        }
    }
    summary = (
        f"Proposed from {cluster.size} tickets the AI could not answer; review before publishing."
    )
    with conn.transaction():
        return conn.execute(
            UPSERT_PROPOSAL,
            {
                "key": cluster.key,
                "title": title[:500],
                "body": body,
                "summary": summary,
                "metadata": json.dumps(metadata),
            },
        ).fetchone()
