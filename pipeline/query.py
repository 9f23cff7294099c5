"""Build the retrieval query from a ticket: subject, description and the recent public thread.

The newest customer message leads (it is what needs answering); earlier customer turns follow, most
recent first, so a follow-up such as "and for annual plans?" is retrieved with its context. Capped in
characters: long threads must not drown the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from pipeline.chat import ChatModel

_WS = re.compile(r"\s+")
_QUOTED_REPLY = re.compile(r"(?m)^>.*$")  # e-mail quoting repeats earlier turns


@dataclass(frozen=True)
class Turn:
    speaker: str  # customer | agent | ai | system
    text: str


def build_query(
    *, subject: str, description: str, thread: list[Turn], max_chars: int = 2000
) -> str:
    customer_turns = [_clean(t.text) for t in thread if t.speaker == "customer" and _clean(t.text)]
    first = _clean(f"{subject}. {description}" if description else subject)
    turns = [first, *customer_turns] if first else customer_turns
    if not turns:
        return ""
    latest, earlier = turns[-1], list(reversed(turns[:-1]))
    parts = [latest]
    for text in earlier:
        if len(" ".join(parts)) + len(text) + 1 > max_chars:
            break
        parts.append(text)
    return " ".join(parts)[:max_chars]


def _clean(text: str) -> str:
    return _WS.sub(" ", _QUOTED_REPLY.sub("", text or "")).strip()


class _Rewritten(BaseModel):
    question: str


def rewrite_query(*, chat_model: ChatModel, thread: list[Turn], max_chars: int = 2000) -> str:
    """With an LLM: the thread as one standalone question (``rewrite_v1`` prompt)."""
    from pipeline.prompts import load_prompt

    text = "\n".join(f"{t.speaker}: {t.text}" for t in thread)[-max_chars * 2 :]
    text = re.sub(r"(?i)</?\s*ticket\s*>", "[ticket-tag removed]", text)
    result = chat_model.complete(
        load_prompt("rewrite").render(thread=text),
        temperature=0.0,
        max_tokens=200,
        schema=_Rewritten,
    )
    return result.parsed.question.strip()[:max_chars]
