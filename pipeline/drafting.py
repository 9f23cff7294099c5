"""Drafting a reply from retrieved chunks, with citations the application renders.

- ``extractive_draft``: the offline default. Picks the passages (sentences, or whole list items so
  steps stay intact) that best match the question, keeps each source's original order, cites them
  as [n] and wraps them in a short, polite reply.
- ``llm_draft``: an OpenAI-compatible model with the versioned answer prompt; structured output.

Either way the model (or extractor) refers to sources only by index; ``render_sources`` turns the
indices into titles and links from the stored articles, and ``strip_links`` removes any link a model
wrote itself, so ticket text can never smuggle a URL into a reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from autocrm.settings import GenerationSettings
from pipeline.chat import ChatModel, ChatModelError
from pipeline.decision import HandoffReason
from pipeline.retrieval import RetrievedChunk
from pipeline.text import terms

EXTRACTIVE_MODEL = "extractive-v1"
EXTRACTIVE_PROMPT = "extractive_v1"

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_CITE = re.compile(r"\[(\d{1,2})\]")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)|<?https?://\S+>?|\bwww\.\S+", re.IGNORECASE)


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


def _units(content: str) -> list[str]:
    """Passages to choose from: list items whole (a step), prose split into sentences."""
    units: list[str] = []
    for block in re.split(r"\n\s*\n", content):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines or lines[0].lstrip().startswith(("```", "#")):
            continue  # code and headings read badly out of context
        if lines[0].lstrip().startswith("|"):
            if len(block) <= 800:
                units.append(block.strip())  # a small table only makes sense whole
            continue
        if all(_LIST_ITEM.match(ln) or ln.startswith("   ") for ln in lines):
            units.extend(_LIST_ITEM.sub("", ln).strip() for ln in lines if _LIST_ITEM.match(ln))
        else:
            units.extend(s.strip() for s in _SENTENCE.split(" ".join(ln.strip() for ln in lines)))
    return [u for u in units if 25 <= len(u) <= 800]


def extractive_draft(
    *,
    query: str,
    sources: list[RetrievedChunk],
    customer_name: str | None,
    settings: GenerationSettings,
) -> Draft:
    sources = sources[: settings.max_sources]
    wanted = terms(query)
    scored: list[tuple[float, int, int, str]] = []  # (score, source index, position, text)
    for s_index, chunk in enumerate(sources):
        prior = 1.0 / (1 + s_index)  # better-ranked sources are more likely the answer
        for position, unit in enumerate(_units(chunk.content)):
            overlap = len(wanted & terms(unit)) / (len(wanted) or 1)
            scored.append((overlap + 0.3 * prior + 0.05 / (1 + position), s_index, position, unit))
    best = sorted(scored, reverse=True)[: settings.max_sentences]
    picked = sorted(best, key=lambda x: (x[1], x[2]))  # sources in rank order, text in its order
    lines: list[str] = []
    for s_index in dict.fromkeys(p[1] for p in picked):
        units = [p[3] for p in picked if p[1] == s_index]
        heading = sources[s_index].heading_path[-1] if sources[s_index].heading_path else None
        intro = f"From **{heading or sources[s_index].title}** [{s_index + 1}]:"
        if len(units) > 1 and not any(u.startswith("|") for u in units):
            body = "\n".join(f"{n}. {u}" for n, u in enumerate(units, 1))
        else:  # one passage, or a table among them (a table cannot sit in a numbered list)
            body = "\n\n".join(units)
        lines.append(f"{intro}\n{body}")
    cited = [i + 1 for i in dict.fromkeys(p[1] for p in picked)]
    greeting = f"Hi {customer_name.split()[0]}," if customer_name else "Hi,"
    if lines:
        text = (
            f"{greeting}\n\nThanks for getting in touch. Here is what should help:\n\n"
            + "\n\n".join(lines)
            + "\n\nIf this doesn't solve it, just reply and one of our agents will take over."
        )
    else:
        text = f"{greeting}\n\nThanks for getting in touch. An agent will look into this shortly."
    return Draft(
        text=text,
        cited=cited,
        model=EXTRACTIVE_MODEL,
        prompt_version=EXTRACTIVE_PROMPT,
        sources=sources,
    )


def llm_draft(
    *,
    chat_model: ChatModel,
    thread_text: str,
    sources: list[RetrievedChunk],
    customer_name: str | None,
    settings: GenerationSettings,
    on_text: Callable[[str], None] | None = None,
) -> Draft:
    """Draft with the LLM. ``on_text``: stream the reply's text as the model writes it (the
    structured answer is parsed from the same streamed call)."""
    from pydantic import BaseModel, Field

    from pipeline.prompts import load_prompt  # prompts load lazily: offline runs never need them

    class AnswerOutput(BaseModel):
        answerable: bool
        handoff_reason: HandoffReason | None = None
        confidence: float = Field(0.5, ge=0, le=1)
        reply: str
        cited: list[int] = []

    sources = sources[: settings.max_sources]
    prompt = load_prompt("answer")
    numbered = "\n\n".join(f"[{i}] {c.context}\n{c.content}" for i, c in enumerate(sources, 1))
    # The thread sits inside <ticket> tags in the prompt: a literal closing tag must not end it.
    thread_text = re.sub(r"(?i)</?\s*ticket\s*>", "[ticket-tag removed]", thread_text)
    messages = prompt.render(
        sources=numbered, thread=thread_text, customer_name=customer_name or "there"
    )
    result = chat_model.complete(
        messages,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        schema=AnswerOutput,
        on_delta=ReplyStream(on_text).feed if on_text else None,
    )
    out = result.parsed
    if not isinstance(out, AnswerOutput):
        raise ChatModelError("model returned no structured answer")
    text = strip_links(out.reply)
    cited = sorted(
        {int(n) for n in _CITE.findall(text) if 1 <= int(n) <= len(sources)}
        | {n for n in out.cited if 1 <= n <= len(sources)}
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
        sources=sources,
    )


class ReplyStream:
    """Turns the streamed JSON answer into the text of its "reply" field, piece by piece.

    The answer arrives as JSON ({"answerable": …, "reply": "…", …}); each delta re-parses the
    partial document (pydantic-core's partial mode keeps an unfinished string) and hands on what
    the reply gained. Text is released only up to the last whitespace and with links stripped, so
    a URL the model starts writing is never shown, not even in part. The finished draft (the
    final event) stays the authority: this is the preview an agent watches being written."""

    def __init__(self, on_text: Callable[[str], None]):
        self.on_text = on_text
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
        safe = strip_links(reply[:cut])
        # A link stripped only now may rewrite text already shown: wait until it extends again.
        if len(safe) > len(self.sent) and safe.startswith(self.sent):
            self.on_text(safe[len(self.sent) :])
            self.sent = safe


def _reply(answer: object) -> str | None:
    reply = answer.get("reply") if isinstance(answer, dict) else None
    return reply if isinstance(reply, str) else None


def strip_links(text: str) -> str:
    """Links come only from our articles: drop any URL or Markdown link the model produced."""
    return _LINK.sub(lambda m: m.group(1) or "", text)


def render_sources(draft: Draft) -> str:
    """The 'Sources' footer, built from stored article titles and URLs only."""
    rows = []
    for n in draft.cited:
        chunk = draft.sources[n - 1]
        link = chunk.source_url or f"/kb/{chunk.external_id}"
        rows.append(f"[{n}] {chunk.title} — {link}")
    return "Sources:\n" + "\n".join(rows) if rows else ""


def final_text(draft: Draft) -> str:
    footer = render_sources(draft)
    return f"{draft.text}\n\n{footer}" if footer else draft.text
