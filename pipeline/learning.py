"""Learning data: one record per scored or human-answered AI response (ticket thread, retrieved
contexts, AI draft, the reply a human actually sent, score), for fine-tuning and for new eval sets.

PII is redacted by default in everything that came from customers or agents (subject, description,
thread, query, draft, final reply): emails, phone numbers, card numbers (Luhn-checked, so order ids
survive) and street addresses become ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[ADDRESS]``. The
retrieved contexts are published knowledge-base text and are kept as they are. Names are NOT
redacted (no reliable offline detector); review an export before it leaves the company.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Literal, TextIO

import psycopg

Format = Literal["jsonl", "chat"]

SELECT_RESPONSES = """
SELECT r.id, r.ticket_id, r.message_id, r.created_at, r.kind::text AS kind, r.query, r.retrieved,
       r.draft, r.model, r.prompt_version, r.decision::text AS decision, r.score, r.score_version,
       t.subject, t.description, t.category, a.action, a.final_text, a.reason,
       (SELECT m.body FROM conversations m
         WHERE m.ticket_id = r.ticket_id AND m.message_type = 'agent' AND NOT m.is_internal
           AND m.created_at >= r.created_at
         ORDER BY m.created_at, m.id LIMIT 1) AS agent_reply
  FROM ai_responses r
  JOIN tickets t ON t.id = r.ticket_id
  LEFT JOIN LATERAL (
      SELECT f.action::text AS action, f.final_text, f.reason FROM ai_feedback f
       WHERE f.ai_response_id = r.id AND f.action IS NOT NULL
       ORDER BY f.created_at DESC, f.id DESC LIMIT 1) a ON true
 WHERE r.created_at >= %s AND r.draft IS NOT NULL
 ORDER BY r.created_at, r.id
"""
SELECT_THREADS = """
SELECT id, ticket_id, message_type::text AS speaker, body, created_at FROM conversations
 WHERE ticket_id = ANY(%s::uuid[]) AND NOT is_internal AND message_type <> 'system'
 ORDER BY ticket_id, created_at, id
"""
SELECT_CHUNKS = """
SELECT c.id, c.article_id, a.title, c.content FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
 WHERE c.id = ANY(%s::bigint[])
"""
DELETE_EXAMPLES = "DELETE FROM learning_examples WHERE ai_response_id = ANY(%s::uuid[])"
INSERT_EXAMPLE = """
INSERT INTO learning_examples (ai_response_id, ticket_id, thread, contexts, draft, final_text, score,
                               redacted)
VALUES (%(id)s, %(ticket_id)s, %(thread)s, %(contexts)s, %(draft)s, %(final_reply)s, %(score)s,
        %(redacted)s)
"""

# PII patterns. Order matters: emails, then cards (before phones: a card is a long digit run),
# then phones, then addresses.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+|\b00)?\(?\d[\d \t().-]{5,22}\d(?![\w])")
_DATE_OR_IP = re.compile(
    r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,3}(?:\.\d{1,3}){3})$"
)
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Parkway|Pkwy|Highway|Hwy|Square|Sq)"
)
_ADDRESSES = [
    # 221B Baker Street, 1600 Pennsylvania Ave NW, Suite 200
    re.compile(
        rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){{1,4}}{_STREET}\b\.?"
        r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b)?"
        r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl)\.?\s*#?\s*\w+)?"
    ),
    # Hauptstraße 12, Berliner Str. 5a
    re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee)"
        r"(?:\s+[A-ZÄÖÜ][\wäöüß-]*)?\s+\d{1,4}[a-z]?\b"
        r"|\b(?:[A-ZÄÖÜ][\wäöüß-]*\s+)?(?:Straße|Strasse|Str\.|Weg|Platz|Allee)\s+\d{1,4}[a-z]?\b"
    ),
    # 12 rue de la Paix, 5 bis avenue Victor Hugo
    re.compile(
        r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|allée|"
        r"impasse|quai)\s+(?:(?:de|du|des|la|le|l'|d')\s*)*[A-ZÉÈ][\w'-]*(?:\s+[A-ZÉÈ][\w'-]*)*"
    ),
]


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group()


def _phone(match: re.Match) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    # Dates, IPs and ids are digit runs too: a phone has 8-15 digits and is not a date or an IP;
    # written without any separator it needs 10 (an 8-digit order number is not a phone).
    plain = text.isdigit()
    if not (10 if plain else 8) <= len(digits) <= 15 or _DATE_OR_IP.match(text.strip("()")):
        return text
    return "[PHONE]"


def redact(text: str | None) -> str | None:
    """Replace emails, Luhn-valid card numbers, phone numbers and street addresses."""
    if not text:
        return text
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CARD.sub(_card, text)
    text = _PHONE.sub(_phone, text)
    for pattern in _ADDRESSES:
        text = pattern.sub("[ADDRESS]", text)
    return text


def learning_records(
    conn: psycopg.Connection, *, since: datetime, redact_pii: bool = True
) -> Iterator[dict]:
    """AI responses since ``since`` that have a human final reply or a score, oldest first."""
    responses = conn.execute(SELECT_RESPONSES, (since,)).fetchall()
    tickets = list({str(r["ticket_id"]) for r in responses})
    threads: dict[str, list[dict]] = defaultdict(list)
    for message in conn.execute(SELECT_THREADS, (tickets,)):
        threads[str(message["ticket_id"])].append(message)
    chunk_ids = list({c["chunk_id"] for r in responses for c in r["retrieved"] if "chunk_id" in c})
    chunks = {c["id"]: c for c in conn.execute(SELECT_CHUNKS, (chunk_ids,))}
    clean = redact if redact_pii else (lambda t: t)
    for r in responses:
        final, final_source = _final_reply(r)
        if final is None and r["score"] is None:
            continue
        thread = [
            {"role": m["speaker"], "text": clean(m["body"])}
            for m in threads[str(r["ticket_id"])]
            if m["created_at"] <= r["created_at"] and m["id"] != r["message_id"]
        ]
        contexts = [
            {
                "chunk_id": c["chunk_id"],
                "article_id": str(chunks[c["chunk_id"]]["article_id"]),
                "title": chunks[c["chunk_id"]]["title"],
                "text": chunks[c["chunk_id"]]["content"],
                "score": c.get("score"),
            }
            for c in r["retrieved"]
            if c.get("chunk_id") in chunks  # chunks replaced by a later ingestion are gone
        ]
        yield {
            "id": str(r["id"]),
            "ticket_id": str(r["ticket_id"]),
            "created_at": r["created_at"].isoformat(),
            "kind": r["kind"],
            "category": r["category"],
            "subject": clean(r["subject"]),
            "description": clean(r["description"]),
            "thread": thread,
            "query": clean(r["query"]),
            "contexts": contexts,
            "draft": clean(r["draft"]),
            "final_reply": clean(final),
            "final_source": final_source,
            "action": r["action"],
            "reject_reason": r["reason"],
            "decision": r["decision"],
            "model": r["model"],
            "prompt_version": r["prompt_version"],
            "score": r["score"],
            "score_version": r["score_version"],
            "redacted": redact_pii,
        }


def _final_reply(r: dict) -> tuple[str | None, str | None]:
    """What the customer got from a human: the edited text, the accepted draft, or else the next
    public agent message (e.g. written after rejecting the draft)."""
    if r["action"] == "edited":
        return r["final_text"], "edited"
    if r["action"] == "accepted":
        return r["draft"], "accepted"
    if r["agent_reply"]:
        return r["agent_reply"], "agent_reply"
    return None, None


def as_chat(record: dict) -> dict | None:
    """The OpenAI fine-tuning shape: the thread as user/assistant turns, the human reply last."""
    if not record["final_reply"]:
        return None
    first = f"{record['subject']}\n\n{record['description']}".strip()
    turns = [{"role": "user", "content": first}] if first else []
    for m in record["thread"]:
        turns.append(
            {"role": "user" if m["role"] == "customer" else "assistant", "content": m["text"]}
        )
    sources = "\n\n".join(
        f"[{i}] {c['title']}\n{c['text']}" for i, c in enumerate(record["contexts"], 1)
    )
    system = "Answer the customer using these knowledge-base passages.\n\n" + sources
    reply = {"role": "assistant", "content": record["final_reply"]}
    return {"messages": [{"role": "system", "content": system}, *turns, reply]}


def export_learning(
    conn: psycopg.Connection,
    *,
    since: datetime,
    out: TextIO,
    fmt: Format = "jsonl",
    redact_pii: bool = True,
    save: bool = False,
) -> int:
    """Write records as JSON lines (``jsonl``: full records; ``chat``: fine-tuning messages) and,
    with ``save``, also store them in ``learning_examples`` (replacing earlier copies)."""
    records = list(learning_records(conn, since=since, redact_pii=redact_pii))
    written = 0
    for record in records:
        line = record if fmt == "jsonl" else as_chat(record)
        if line is not None:
            out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            written += 1
    if save and records:
        with conn.transaction():
            conn.execute(DELETE_EXAMPLES, ([r["id"] for r in records],))
            with conn.cursor() as cur:
                cur.executemany(
                    INSERT_EXAMPLE,
                    [
                        r
                        | {"thread": json.dumps(r["thread"]), "contexts": json.dumps(r["contexts"])}
                        for r in records
                    ],
                )
    return written
