"""Build the retrieval query from a ticket: the newest customer message and the one before it.

The newest message leads (it is what needs answering); the previous customer turn follows, so a
follow-up such as "and for annual plans?" is retrieved with its context. Measured on MTRAG dev
(cloud + govt, answerable, hybrid RRF): latest + previous turn reaches recall@5 0.818 / MRR@10
0.854, the latest turn alone 0.754 / 0.779, every customer turn concatenated 0.793 / 0.799 (older
turns drift off topic). A ticket's subject and description count as its first customer turn. Capped in characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from autocrm.pipeline.chat import ChatModel
from autocrm.pipeline.sanitize import neutralise_ticket_tags

_WS = re.compile(r"\s+")
_QUOTED_REPLY = re.compile(r"(?m)^>.*$")  # e-mail quoting repeats earlier turns


@dataclass(frozen=True)
class Turn:
    speaker: str  # customer | agent | ai | system
    text: str


def customer_turns(*, subject: str, description: str, thread: list[Turn]) -> list[str]:
    """What the customer said, oldest first; the subject and description are the first turn."""
    turns = [_clean(t.text) for t in thread if t.speaker == "customer" and _clean(t.text)]
    if turns and turns[0] == _clean(description):
        description = ""  # the opening message repeats the description: count it once
    first = _clean(f"{subject}. {description}" if description else subject)
    if turns and turns[0] == first:
        return turns  # the opening message is the subject itself (`autocrm ask`)
    return [first, *turns] if first else turns


def last_answer(thread: list[Turn]) -> str:
    """The newest answer (an agent's or the AI's) before the customer's newest message."""
    speakers = [t.speaker for t in thread]
    last_customer = max((n for n, s in enumerate(speakers) if s == "customer"), default=-1)
    answers = [t for t in thread[:last_customer] if t.speaker in ("agent", "ai")]
    return _clean(answers[-1].text) if answers else ""


def build_query(
    *, subject: str, description: str, thread: list[Turn], max_chars: int = 2000
) -> str:
    turns = customer_turns(subject=subject, description=description, thread=thread)
    query = " ".join(reversed(turns[-2:]))[:max_chars]
    return f"{query} {_measured(turns[-1])}".strip() if turns else query


# "How heavy is it?" is answered by a row or sentence that names the quantity ("Weight | 8.2 kg"),
# a word the question never uses: the quantity joins the query (and the drafter's terms).
QUANTITIES = (
    (re.compile(r"(?i)\b(how|too|is it|it's|very) heavy\b"), "weight"),
    (re.compile(r"(?i)\bhow (big|large)\b"), "size dimensions"),
    (re.compile(r"(?i)\bhow (tall|high)\b"), "height"),
    (re.compile(r"(?i)\bhow wide\b"), "width"),
    (re.compile(r"(?i)\bhow deep\b"), "depth"),
    # "The fitter needs its width, depth and height": the dimensions (W x D x H)
    (re.compile(r"(?i)\b(width|depth|measurements)\b"), "dimensions"),
    (re.compile(r"(?i)\bclearance\b"), "room"),  # "extra clearance above it": room above it
    (re.compile(r"(?i)\bhow loud\b"), "noise"),
    (re.compile(r"(?i)\bhow (much|many)\b[^.?!]{0,60}?\bhold\b"), "capacity"),
    (re.compile(r"(?i)\bfit (under|beneath|between)\b"), "dimensions height"),
    # "will it fit on a shelf 40cm deep?": its dimensions, depth among them
    (
        re.compile(r"(?i)\b(will|would|does|can) (it|the \w+) fit\b|\bfit (on|in|into|inside)\b"),
        "dimensions",
    ),
    (
        re.compile(r"(?i)\b(watts?|wattage|kw|kilowatts?)\b|\bhow much (power|electricity)\b"),
        "power",
    ),
    # "is it going to go bang on Portuguese electrics?": the mains voltage
    (
        re.compile(r"(?i)\b(electrics|voltage|volts?|(plug|travel|power) adapters?)\b"),
        "mains voltage",
    ),
)


AMOUNT = re.compile(r"[£$€]\s?\d[\d.,]*")  # a sum of money: "£39.99"
# "Can I have the £39.99 back?", "do I get my money back?": a refund, a word the message never uses
REFUND = re.compile(
    r"(?i)\bmoney back\b|\breimburs(?:e|ed|ement)\b|\b(?:have|get|getting|want|claim)\s+"
    rf"(?:the\s+|my\s+|our\s+|that\s+)?{AMOUNT.pattern}\s+back\b"
    # "do we get anything back for the rest of the month?"
    r"|\b(?:get|getting|have|receive)\s+(?:anything|something|any of (?:it|that)|some of "
    r"(?:it|that))\s+back\b"
)
NAMED = (*QUANTITIES, (REFUND, "refund"))


def _measured(text: str) -> str:
    """What a "how heavy / how big …" or "can I have the £39.99 back?" message asks for, as the
    words that name it."""
    return " ".join(dict.fromkeys(word for pattern, word in NAMED if pattern.search(text)))


def _clean(text: str) -> str:
    return _WS.sub(" ", _QUOTED_REPLY.sub("", text or "")).strip()


class _Rewritten(BaseModel):
    question: str


def rewrite_query(*, chat_model: ChatModel, thread: list[Turn], max_chars: int = 2000) -> str:
    """With an LLM: the thread as one standalone question (``rewrite_v1`` prompt)."""
    from autocrm.pipeline.prompts import load_prompt

    text = "\n".join(f"{t.speaker}: {t.text}" for t in thread)[-max_chars * 2 :]
    text = neutralise_ticket_tags(text)
    result = chat_model.complete(
        load_prompt("rewrite").render(thread=text),
        temperature=0.0,
        max_tokens=200,
        schema=_Rewritten,
    )
    return result.parsed.question.strip()[:max_chars]
