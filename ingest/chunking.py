"""Heading-aware chunking sized in the embedding model's own tokens.

llama-index does the Markdown structure (``MarkdownNodeParser``: one node per heading section, code
blocks respected) and the sentence-level splitting (``SentenceSplitter``, given our tokenizer so
nothing downloads and sizes are in model tokens). We add what retrieval needs on top: each chunk keeps
its heading path, tiny sections are merged into their neighbour, and the text that gets embedded is
prefixed with "Title › Heading › Subheading" (capped so that prefix + chunk fit the model's window).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from llama_index.core import Document
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from autocrm.core.settings import ChunkingSettings

HEADING_SEP = "\x1f"  # cannot appear in a heading, unlike "/"
CONTEXT_SEP = " › "
CONTEXT_MAX_TOKENS = 40
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_HEADING_LINE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Chunk:
    position: int
    heading_path: list[str]
    context: str  # "Title › Heading › Subheading"
    content: str
    token_count: int  # of the embedded text, in model tokens

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n\n{self.content}" if self.context else self.content

    def content_hash(self, model: str) -> str:
        """Identity of the embedding: same text and model ⇒ the stored vector can be reused."""
        return hashlib.sha256(f"{model}\n{self.embed_text}".encode()).hexdigest()


class Chunker:
    """Built once per job: holds the parsers and the token counter."""

    def __init__(
        self, *, settings: ChunkingSettings, count_tokens: Callable[[str], int], max_tokens: int
    ):
        self.settings = settings
        self.count_tokens = count_tokens
        # Room for the context prefix and the [CLS]/[SEP] tokens inside the model's window.
        self.budget = max(
            settings.min_chunk_tokens,
            min(settings.chunk_tokens, max_tokens - CONTEXT_MAX_TOKENS - 2),
        )
        self.sections = MarkdownNodeParser(
            header_path_separator=HEADING_SEP, include_prev_next_rel=False
        )
        self.splitter = SentenceSplitter(
            chunk_size=self.budget,
            chunk_overlap=min(settings.overlap_tokens, self.budget // 4),
            tokenizer=self._token_list,
            include_prev_next_rel=False,
        )

    def _token_list(self, text: str) -> list[int]:
        # SentenceSplitter only needs len(tokenizer(text)).
        return [0] * self.count_tokens(text)

    def chunk(self, *, title: str, markdown: str) -> list[Chunk]:
        pieces: list[tuple[list[str], str]] = []
        for node in self.sections.get_nodes_from_documents([Document(text=markdown)]):
            path, body = _heading_path(node.metadata.get("header_path", ""), node.text)
            if not body.strip():
                continue
            for text in self.splitter.split_text(_unescape(body)):
                pieces.append((path, text.strip()))
        pieces = self._merge_small(pieces)
        chunks = []
        for position, (path, text) in enumerate(pieces):
            context = self._context(title, path)
            chunk = Chunk(position, path, context, text, 0)
            chunks.append(
                Chunk(position, path, context, text, self.count_tokens(chunk.embed_text) + 2)
            )
        return chunks

    def _merge_small(self, pieces: list[tuple[list[str], str]]) -> list[tuple[list[str], str]]:
        """Fold sections shorter than ``min_chunk_tokens`` into the previous piece when it fits."""
        merged: list[tuple[list[str], str]] = []
        for path, text in pieces:
            if (
                merged
                and self.count_tokens(text) < self.settings.min_chunk_tokens
                and self.count_tokens(merged[-1][1]) + self.count_tokens(text) <= self.budget
            ):
                prev_path, prev_text = merged[-1]
                merged[-1] = (prev_path, f"{prev_text}\n\n{text}")
            else:
                merged.append((path, text))
        return merged

    def _context(self, title: str, path: list[str]) -> str:
        parts = [title] + [h for h in path if h and h != title]
        context = CONTEXT_SEP.join(parts)
        while len(parts) > 1 and self.count_tokens(context) > CONTEXT_MAX_TOKENS:
            parts.pop(1)  # drop the outermost headings first: the nearest one matters most
            context = CONTEXT_SEP.join(parts)
        if self.count_tokens(context) > CONTEXT_MAX_TOKENS:
            context = context[: CONTEXT_MAX_TOKENS * 3]
        return context


def _heading_path(parent_path: str, section: str) -> tuple[list[str], str]:
    """The section's full heading path (parents + its own heading) and its body without the heading."""
    path = [_clean_heading(h) for h in parent_path.strip(HEADING_SEP).split(HEADING_SEP) if h]
    first, _, rest = section.partition("\n")
    match = _HEADING_LINE.match(first)
    if match:
        path.append(_clean_heading(match.group(2)))
        return path, rest
    return path, section


def _unescape(markdown: str) -> str:
    r"""Drop Markdown backslash escapes (``2011\-12\-05`` → ``2011-12-05``): chunk text is for
    matching and quoting, and escaped punctuation would split words for BM25 and the embedder."""
    return _ESCAPE.sub(r"\1", markdown)


def _clean_heading(text: str) -> str:
    """Strip Markdown link/emphasis noise from a heading: '[Foo](x.md) **bar**' → 'Foo bar'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<a [^>]*>\s*</a>", "", text)
    return _unescape(re.sub(r"[*_`]+", "", text)).strip()
