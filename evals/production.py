"""Eval sets from production: agent-accepted AI responses and agents' edited finals become eval
questions in the same JSONL format as ``--dataset FILE`` (user_input, reference, context ids)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import psycopg

# The reference answer is what the customer finally got: the draft when accepted as-is, the
# agent's final text when edited. Context ids are the articles the draft cited.
SELECT_ACCEPTED = """
SELECT r.id, r.ticket_id, r.query, r.draft, f.action::text AS action, f.final_text,
       coalesce((SELECT jsonb_agg(a.external_id) FROM jsonb_array_elements(r.cited) c
                   JOIN kb_articles a ON a.id = (c ->> 'article_id')::uuid), '[]') AS context_ids,
       (SELECT jsonb_agg(jsonb_build_object('speaker', CASE m.message_type WHEN 'customer'
                THEN 'user' ELSE 'agent' END, 'text', m.body) ORDER BY m.created_at, m.id)
          FROM conversations m WHERE m.ticket_id = r.ticket_id AND NOT m.is_internal
           AND m.created_at < r.created_at) AS thread
  FROM ai_responses r
  JOIN ai_feedback f ON f.ai_response_id = r.id AND f.action IN ('accepted', 'edited')
 WHERE r.created_at >= %s
 ORDER BY r.created_at
"""


def build_dataset(conn: psycopg.Connection, *, since: datetime, out: Path) -> int:
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for row in conn.execute(SELECT_ACCEPTED, (since,)):
            thread = row["thread"] or []
            customer = [t for t in thread if t["speaker"] == "user"]
            question = customer[-1]["text"] if customer else row["query"]
            before = (
                thread[: len(thread) - 1] if customer and thread[-1] is customer[-1] else thread
            )
            reference = row["final_text"] if row["action"] == "edited" else row["draft"]
            handle.write(
                json.dumps(
                    {
                        "id": str(row["id"]),
                        "user_input": question,
                        "reference": reference or "",
                        "reference_context_ids": row["context_ids"],
                        "conversation": before,
                        "answerable": True,
                        "source": f"production:{row['action']}",
                    }
                )
                + "\n"
            )
            count += 1
    return count
