"""Drafting a reply from the retrieved articles, with citations the application renders.

- ``extractive_draft``: the offline default, an extractive answerer over whole answer units
  (``pipeline.extractive``): the reply opens with the sentence, procedure or table rows that answer
  the question, quoted whole, and cites them as [n].
- ``llm_draft``: an OpenAI-compatible model with the versioned answer prompt; structured output.
  Its sources are the same whole sections of the articles, not chunk fragments.

Either way the model (or extractor) refers to sources only by index; ``render_sources`` turns the
indices into titles and links from the stored articles (http(s) URLs only), and every reply is
rendered through ``pipeline.sanitize.sanitize_reply``'s allow-list (plain text and a Markdown
subset: no HTML, no link of any form), so neither ticket text nor an article can smuggle a URL or
markup into a reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from autocrm.core.settings import GenerationSettings
from autocrm.pipeline.articles import Sources
from autocrm.pipeline.chat import ChatModel, ChatModelError
from autocrm.pipeline.decision import HandoffReason
from autocrm.pipeline.extractive import Question, answer, score_units
from autocrm.pipeline.retrieval import RetrievedChunk
from autocrm.pipeline.sanitize import (
    article_addresses,
    neutralise_ticket_tags,
    sanitize_reply,
    validate_source_url,
)

EXTRACTIVE_MODEL = "extractive-v2"
EXTRACTIVE_PROMPT = "extractive_v2"
SECTION_MAX_WORDS = 450  # per source given to the model, in whole blocks

_CITE = re.compile(r"\[(\d{1,2})\]")
_NAME = re.compile(r"[^\W\d_][\w'’.-]*")

CLARIFY = (
    "Could you tell us a little more about what you need help with? For example, which feature "
    "you are using and what you were trying to do."
)
NO_ANSWER = "Thanks for your message. A member of our team will look into this and get back to you."


@dataclass
class Draft:
    text: str  # the reply body with [n] markers, sources rendered below it
    cited: list[int]  # 1-based indices into the sources that the reply cites
    model: str
    prompt_version: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_answerable: bool | None = None
    llm_reason: HandoffReason | None = None
    llm_confidence: float | None = None
    sources: list[RetrievedChunk] = field(default_factory=list)
    evidence: dict[str, float] = field(default_factory=dict)  # answer-level decision signals


def greeting(customer_name: str | None) -> str:
    """ "Hi Ann," from the first word of a name that has one; "Hi," for a blank or odd name."""
    match = _NAME.search(customer_name or "")
    return f"Hi {match.group(0)[:40]}," if match else "Hi,"


def extractive_draft(
    *,
    question: Question,
    sources: Sources,
    chunks: list[RetrievedChunk],
    customer_name: str | None,
    clarify: bool = False,
) -> Draft:
    """The reply built from whole units; a clarifying question (no passages) when ``clarify``."""
    found = None if clarify else answer(question, sources)
    if clarify:
        body, cited, evidence = CLARIFY, [], {"clarify": 1.0}
    elif found is None:
        body, cited, evidence = NO_ANSWER, [], {"no_answer": 1.0}
    else:
        reply = "\n\n".join(found.parts)
        body, cited, evidence = (
            sanitize_reply(reply, keep=_addresses(sources, of=reply)),
            found.cited,
            found.evidence,
        )
    return Draft(
        text=f"{greeting(customer_name)}\n\n{body}",
        cited=cited,
        model=EXTRACTIVE_MODEL,
        prompt_version=EXTRACTIVE_PROMPT,
        sources=chunks,
        evidence=evidence,
    )


def _addresses(sources: Sources, *, of: str | None = None) -> frozenset[str]:
    """The domains and e-mail addresses the articles themselves write (kept in a reply); with
    ``of``, only those of that reply (found by matching only the blocks that hold one: a long
    article's every block was a tenth of a draft's time)."""
    blocks = [b.markdown for a in sources.articles for s in a.sections for b in s.blocks]
    if of is None:
        return article_addresses(blocks)
    wanted = article_addresses([of])
    if not wanted:
        return wanted
    holding = [b for b in blocks if any(w in b.lower() for w in wanted)]
    return wanted & article_addresses(holding)


def source_sections(question: Question, sources: Sources) -> list[str]:
    """For each article, "[n] Title › Section" and the whole section that answers best (the one
    holding its best unit, else its retrieved chunk's), cut only between blocks."""
    best: dict[int, int] = {}
    for scored in score_units(question, sources):
        best.setdefault(scored.article.index, scored.unit.section)
    out = []
    for article in sources.articles:
        if not article.sections:
            continue
        index = best.get(article.index, _chunk_section(article))
        section = article.sections[index]
        blocks, words = [], 0
        for block in section.blocks:
            size = len(block.markdown.split())
            if blocks and words + size > SECTION_MAX_WORDS:
                break
            blocks.append(block.markdown)
            words += size
        heading = " › ".join([article.title, *section.path])
        out.append(f"[{article.index}] {heading}\n" + "\n\n".join(blocks))
    return out


def _chunk_section(article) -> int:
    path = [h for h in article.chunk.heading_path if h != article.title]
    for n, section in enumerate(article.sections):
        if list(section.path) == path or (path and section.path and section.path[-1] == path[-1]):
            return n
    return 0


def llm_draft(
    *,
    chat_model: ChatModel,
    thread_text: str,
    question: Question,
    sources: Sources,
    chunks: list[RetrievedChunk],
    customer_name: str | None,
    settings: GenerationSettings,
    on_text: Callable[[str], None] | None = None,
) -> Draft:
    """Draft with the LLM. ``on_text``: stream the reply's text as the model writes it (the
    structured answer is parsed from the same streamed call)."""
    from pydantic import BaseModel, Field

    from autocrm.pipeline.prompts import (
        load_prompt,  # prompts load lazily: offline runs never need them
    )

    class AnswerOutput(BaseModel):
        answerable: bool
        handoff_reason: HandoffReason | None = None
        confidence: float = Field(0.5, ge=0, le=1)
        reply: str
        cited: list[int] = []

    prompt = load_prompt("answer")
    numbered = "\n\n".join(source_sections(question, sources))
    # The thread sits inside <ticket> tags in the prompt: a literal closing tag must not end it.
    thread_text = neutralise_ticket_tags(thread_text)
    messages = prompt.render(
        sources=numbered, thread=thread_text, customer_name=greeting(customer_name)[3:-1] or "there"
    )
    result = chat_model.complete(
        messages,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        schema=AnswerOutput,
        on_delta=ReplyStream(on_text, keep=_addresses(sources)).feed if on_text else None,
    )
    out = result.parsed
    if not isinstance(out, AnswerOutput):
        raise ChatModelError("model returned no structured answer")
    text = sanitize_reply(out.reply, keep=_addresses(sources))
    given = {a.index for a in sources.articles}
    cited = sorted(
        {int(n) for n in _CITE.findall(text) if int(n) in given} | (set(out.cited) & given)
    )
    return Draft(
        text=text,
        cited=cited,
        model=result.model,
        prompt_version=prompt.version,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        llm_answerable=out.answerable,
        llm_reason=out.handoff_reason,
        llm_confidence=out.confidence,
        sources=chunks,
    )


class ReplyStream:
    """Turns the streamed JSON answer into the text of its "reply" field, piece by piece.

    The answer arrives as JSON ({"answerable": …, "reply": "…", …}); each delta re-parses the
    partial document (pydantic-core's partial mode keeps an unfinished string) and hands on what
    the reply gained. Text is released only up to the last whitespace and with links stripped, so
    a URL the model starts writing is never shown, not even in part. The finished draft (the
    final event) stays the authority: this is the preview an agent watches being written."""

    def __init__(self, on_text: Callable[[str], None], *, keep: frozenset[str] = frozenset()):
        self.on_text = on_text
        self.keep = keep  # the articles' own domains and addresses (see sanitize_reply)
        self.buffer = ""
        self.sent = ""

    def feed(self, delta: str) -> None:
        from pydantic_core import from_json

        self.buffer += delta
        try:
            # Partial mode "on" drops an unfinished string: the reply is there once it is whole.
            finished = _reply(from_json(self.buffer, allow_partial=True))
            reply = finished or _reply(from_json(self.buffer, allow_partial="trailing-strings"))
        except ValueError:
            return  # not yet a parsable prefix
        if reply is None:
            return
        cut = len(reply) if finished else max(reply.rfind(" "), reply.rfind("\n")) + 1
        safe = sanitize_reply(reply[:cut], keep=self.keep)
        # A link stripped only now may rewrite text already shown: wait until it extends again.
        if len(safe) > len(self.sent) and safe.startswith(self.sent):
            self.on_text(safe[len(self.sent) :])
            self.sent = safe


def _reply(answer: object) -> str | None:
    reply = answer.get("reply") if isinstance(answer, dict) else None
    return reply if isinstance(reply, str) else None


def render_sources(draft: Draft) -> str:
    """The 'Sources' footer, built from stored article titles and URLs only."""
    rows = []
    for n in draft.cited:
        chunk = draft.sources[n - 1]
        link = validate_source_url(chunk.source_url or "") or f"/kb/{chunk.external_id}"
        rows.append(f"[{n}] {chunk.title} — {link}")
    return "Sources:\n" + "\n".join(rows) if rows else ""


def final_text(draft: Draft) -> str:
    footer = render_sources(draft)
    return f"{draft.text}\n\n{footer}" if footer else draft.text
