"""Build the retrieval query from a ticket: subject, description and the recent public thread.

The newest customer message leads (it is what needs answering); earlier customer turns follow, most
recent first, so a follow-up such as "and for annual plans?" is retrieved with its context. Capped in
characters: long threads must not drown the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
