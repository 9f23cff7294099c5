"""Answer units: an article's structure, as a reply is built from it.

A chunk is a retrieval unit; a reply quotes whole units of the article the chunk belongs to
("small-to-big"). ``parse_article`` reads an article's Markdown (markdown-it-py, the CommonMark
parser rich already ships, with GFM tables) into sections by heading; each section holds blocks:
paragraphs (split into whole sentences), numbered procedures (quoted whole, in their own
numbering), bullet lists, tables (a header and rows) and code. ``units`` lists what a reply may
quote: a sentence, a whole procedure, a whole bullet list, a table row (always shown under its
header), a code block.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from markdown_it import MarkdownIt

BlockKind = Literal["paragraph", "steps", "bullets", "table", "code", "quote"]
UnitKind = Literal["sentence", "steps", "bullets", "row", "code"]

# Block structure only: the drafter reads blocks by their source lines and a heading by its raw
# content, so the inline pass (emphasis, links: half the parse time on AWS's long pages) is off.
# Same sections on all 2,757 AWS pages with and without it.
_PARSER = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])
# A sentence ends at . ! ? followed by space and a capital, digit, quote or Markdown emphasis;
# not after common abbreviations ("e.g. Amazon", "i.e. The") or a single initial.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]*_`]*\s+(?=[A-Z0-9\"'(\[*_`])")
_ABBREVIATION = re.compile(
    r"(?i)(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|no|approx|incl)\.|\b[A-Z]\.)$"
)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINK_ONLY = re.compile(r"\[(?:[^\]\\]|\\.)*\]\([^)]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_IMAGE = re.compile(r"!\[[^\]]*\](\([^)]*\))?")


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    markdown: str  # the block's source text, whole and unchanged
    items: tuple[str, ...] = ()  # sentences, list items, or table rows (source lines)
    header: tuple[str, str] | None = None  # a table's header line and separator line


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]  # heading path below the article's title
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Unit:
    kind: UnitKind
    text: str  # what the reply quotes (Markdown)
    section: int  # index into the article's sections
    block: int  # index into the section's blocks
    item: int | None = None  # the sentence or row within its block
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@lru_cache(maxsize=65536)  # the same units are matched for every question (a draft's hot path)
def plain(markdown: str) -> str:
    """Text for matching: links keep their text, tags and escapes go."""
    text = _MD_LINK.sub(r"\1", markdown)
    return _ESCAPE.sub(r"\1", _HTML_TAG.sub(" ", text))


# The version of what ``parse_article`` makes of an article: part of the key of a structure stored
# at ingestion (``kb_article_structures``). Bump it with any change to the parse.
STRUCTURE_VERSION = "1"


def structure_key(title: str, body: str) -> bytes:
    """What a stored structure was parsed from: the parser's version, the title, the body."""
    return hashlib.sha256(f"{STRUCTURE_VERSION}\n{title}\n{body}".encode()).digest()


def structure_json(sections: tuple[Section, ...]) -> list:
    """Sections as JSON (``kb_article_structures.structure``)."""
    return [
        [list(s.path), [[b.kind, b.markdown, list(b.items), b.header] for b in s.blocks]]
        for s in sections
    ]


def sections_from_json(data: list) -> tuple[Section, ...]:
    """The sections a stored structure holds: the same as ``parse_article`` made of the article
    (a long page's parse took up to 115 ms; this, about 1 ms)."""
    return tuple(
        Section(
            tuple(path),
            tuple(
                Block(kind, markdown, tuple(items), tuple(header) if header else None)
                for kind, markdown, items, header in blocks
            ),
        )
        for path, blocks in data
    )


# What a unit's vector is made of (``probe_text``), cut here: the model reads 256 tokens at most.
PROBE_CHARS = 1200
INTRO_WORDS = 50  # a section's paragraphs before its procedure are its intro up to this length


def intro(blocks: tuple[Block, ...], index: int) -> list[str]:
    """The section's paragraphs before block ``index``, when they are short (a cause, a note)."""
    before = blocks[:index]
    if not before or any(b.kind != "paragraph" for b in before):
        return []
    text = [b.markdown for b in before]
    return text if sum(len(t.split()) for t in text) <= INTRO_WORDS else []


def probe_key(probe: str) -> bytes:
    """How a probe's stored vector is keyed (``kb_unit_vectors.probe_sha256``)."""
    return hashlib.sha256(probe.encode()).digest()


def probe_text(title: str, sections: tuple[Section, ...], unit: Unit) -> str:
    """What a unit's vector is made of: "Title › Heading" (as the chunks were embedded) and the
    unit's words; a procedure with its intro, a row with its table's header. Ingestion embeds
    every unit's probe once (``kb_unit_vectors``); a draft looks them up by the probe's hash."""
    section = sections[unit.section]
    context = " › ".join([title, *section.path])
    if unit.kind == "row":  # a lone row means little to the model: the table it is a row of
        body = section.blocks[unit.block].markdown
    elif unit.kind == "steps":
        body = "\n".join([*intro(section.blocks, unit.block), unit.text])
    else:
        body = unit.text
    return f"{context}\n{plain(body)}"[:PROBE_CHARS]


def sentences(text: str) -> list[str]:
    """Whole sentences of a paragraph (line breaks inside a paragraph are spaces)."""
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    pieces: list[str] = []
    for piece in _SENTENCE_END.split(flat):
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return [p.strip() for p in pieces if p.strip()]


def table_cells(row: str) -> list[str]:
    """The cells of a pipe-table row (escaped pipes stay inside their cell)."""
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]


@lru_cache(maxsize=1024)
def parse_article(markdown: str, title: str = "") -> tuple[Section, ...]:
    """Sections of an article in order; a leading H1 equal to the title is not a section heading."""
    lines = markdown.splitlines()
    tokens = _PARSER.parse(markdown)
    sections: list[Section] = []
    path: list[tuple[int, str]] = []  # (level, heading)
    blocks: list[Block] = []

    def close() -> None:
        if blocks:
            sections.append(Section(tuple(h for _, h in path), tuple(blocks)))

    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level != 0 or token.nesting == -1 or token.map is None:
            i += 1
            continue
        start, end = token.map
        source = "\n".join(lines[start:end]).strip("\n")
        if token.type == "heading_open":
            heading = plain(tokens[i + 1].content).strip()
            level = int(token.tag[1])
            if not (level == 1 and not sections and not blocks and _same(heading, title)):
                close()
                blocks = []
                path = [(lv, h) for lv, h in path if lv < level] + [(level, heading)]
        elif token.type == "paragraph_open":
            blocks.append(Block("paragraph", source, tuple(sentences(source))))
        elif token.type in ("ordered_list_open", "bullet_list_open"):
            items = _list_items(tokens, i, lines)
            kind: BlockKind = "steps" if token.type == "ordered_list_open" else "bullets"
            blocks.append(Block(kind, source, items))
        elif token.type == "table_open":
            rows = [ln for ln in source.splitlines() if ln.strip()]
            if len(rows) >= 2:
                blocks.append(Block("table", source, tuple(rows[2:]), (rows[0], rows[1])))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("code", source))
        elif token.type == "blockquote_open":
            blocks.append(Block("quote", source, tuple(sentences(_unquote(source)))))
        i += 1
    close()
    return tuple(sections)


def units(sections: tuple[Section, ...]) -> list[Unit]:
    """Everything a reply may quote, in article order."""
    out: list[Unit] = []
    for s, section in enumerate(sections):
        for b, block in enumerate(section.blocks):
            if block.kind in ("paragraph", "quote"):
                out.extend(
                    Unit("sentence", text, s, b, n)
                    for n, text in enumerate(block.items)
                    if _has_words(text)
                )
            elif block.kind == "steps" and all(_has_words(i) for i in block.items):
                out.append(Unit("steps", block.markdown, s, b))
            elif block.kind == "bullets":  # scored item by item, quoted whole when short
                out.extend(Unit("bullets", text, s, b, n) for n, text in enumerate(block.items))
            elif block.kind == "table" and block.header:
                out.extend(
                    Unit("row", row, s, b, n)
                    for n, row in enumerate(block.items)
                    if not _links_only(row)
                )
            elif block.kind == "code":
                out.append(Unit("code", block.markdown, s, b))
    return out


def _links_only(row: str) -> bool:
    """A row whose every cell is only a link ("[See the documentation website](…)"): it points
    elsewhere, it answers nothing itself."""
    cells = [c.strip() for c in table_cells(row)]
    return bool(cells) and all(not c or _LINK_ONLY.fullmatch(c) for c in cells)


def _has_words(text: str) -> bool:
    """Not an image alone, an empty list item or stray punctuation."""
    return len(re.findall(r"[A-Za-z0-9]{2,}", _IMAGE.sub(" ", text))) >= 2


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a).strip().lower() == re.sub(r"\W+", " ", b).strip().lower()


def _list_items(tokens, open_index: int, lines: list[str]) -> tuple[str, ...]:
    """The items of the list opened at ``open_index`` (a nested list stays inside its item)."""
    level, items = tokens[open_index].level, []
    for token in tokens[open_index + 1 :]:
        if token.level == level and token.nesting == -1:
            break  # this list's closing token
        if token.type == "list_item_open" and token.level == level + 1 and token.map:
            items.append(_item_text(lines, token.map))
    return tuple(items)


def _item_text(lines: list[str], span: list[int]) -> str:
    """An item's text without its marker (continuation lines joined)."""
    text = "\n".join(lines[span[0] : span[1]]).strip()
    return re.sub(r"^\s*(?:\d+[.)]|[-*+])\s+", "", text)


def _unquote(text: str) -> str:
    return "\n".join(re.sub(r"^\s*>\s?", "", ln) for ln in text.splitlines())


_CITATION = re.compile(r"\s*\[\d{1,2}\]")
_TERMINAL = (".", "!", "?", ":", ";", ")", '"', "'", "*", "`")


def _norm(text: str) -> str:
    text = _CITATION.sub("", plain(text)).replace("*", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def cut_units(reply: str, articles: list[tuple[Section, ...]]) -> int:
    """How many pieces of ``reply`` are cut versions of a unit of ``articles``: a table row that
    is not whole (not closed, fewer cells than its header, or a prefix of a source row), a
    procedure missing steps of the source procedure it quotes, a sentence or list item that stops
    (or starts) inside a source sentence or item. Text that is not from the articles (greetings,
    a model's own words) is not counted unless it is visibly broken (an open table row)."""
    source_sentences: list[str] = []
    source_rows: list[str] = []
    source_steps: list[list[str]] = []
    for sections in articles:
        for section in sections:
            # a heading quoted as a line, and each of its sentences: "The filter floats up in the
            # tank. Is it broken?" reads back as two pieces of the reply's paragraph
            source_sentences += [_norm(s) for h in section.path for s in (h, *sentences(h))]
            for block in section.blocks:
                if block.kind == "table":
                    source_rows += [_norm(r) for r in block.items]
                elif block.kind == "steps":
                    source_steps.append([_norm(i) for i in block.items])
                    source_sentences += [_norm(i) for i in block.items]
                else:
                    source_sentences += [_norm(i) for i in block.items]
    cut = 0
    for section in parse_article(reply):
        for block in section.blocks:
            if block.kind == "table" and block.header:
                width = len(table_cells(block.header[0]))
                for row in block.items:
                    stripped = row.strip()
                    if (
                        not (stripped.startswith("|") and stripped.endswith("|"))
                        or len(table_cells(row)) < width
                        # a whole row of one article may also be the start of another's
                        or (_norm(row) not in source_rows and _is_part_of(_norm(row), source_rows))
                    ):
                        cut += 1
            elif block.kind == "steps":
                items = [_norm(i) for i in block.items]
                whole = any(items == s for s in source_steps)
                if not whole and any(items and items[0] in s for s in source_steps):
                    cut += 1  # a procedure quoted with steps left out or renumbered
            else:
                for piece in block.items:
                    norm = _norm(piece)
                    if norm in source_sentences:
                        continue
                    if _is_part_of(norm, source_sentences) and (
                        not norm.endswith(_TERMINAL) or not piece[:1].isupper()
                    ):
                        cut += 1
    return cut


def _is_part_of(piece: str, whole: list[str]) -> bool:
    """``piece`` is a strict prefix or suffix of one of ``whole`` (cut at one end)."""
    if len(piece) < 12:
        return False
    return any(w != piece and (w.startswith(piece) or w.endswith(piece)) for w in whole)
