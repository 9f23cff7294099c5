"""Small-to-big: the articles behind the retrieved chunks, parsed into answer units.

Retrieval ranks chunks; a reply is built from the articles they belong to. ``load_sources`` reads
those articles (through the caller's connection, so row-level security still decides what is
visible) and the idf of the question's terms from the BM25 statistics, in one round trip.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property

import psycopg

from pipeline.retrieval import RetrievedChunk
from pipeline.text import terms
from pipeline.units import Section, Unit, parse_article, plain, units

SELECT_ARTICLES = "SELECT id, title, body FROM kb_articles WHERE id = ANY(%s)"
SELECT_IDF = """
SELECT t.term, ln(1 + (c.n_chunks - t.df + 0.5) / (t.df + 0.5)) AS idf
  FROM kb_terms t CROSS JOIN kb_corpus c
 WHERE t.term = ANY(%s) AND t.df > 0
"""
SELECT_CORPUS = "SELECT n_chunks FROM kb_corpus"
_WS = re.compile(r"\s+")


@dataclass
class SourceArticle:
    """A retrieved article: its citation number, best chunk, and structure."""

    index: int  # 1-based: the reply cites it as [index] (its place among the sources)
    chunk: RetrievedChunk  # the article's best retrieved chunk
    sections: tuple[Section, ...]
    rank: int  # 0 = the retriever's best article

    @property
    def title(self) -> str:
        return self.chunk.title

    @cached_property
    def units(self) -> list[Unit]:
        return units(self.sections)

    @cached_property
    def chunk_text(self) -> str:
        return normalise(plain(self.chunk.content))

    def in_chunk(self, unit: Unit) -> bool:
        """Whether the retrieved chunk holds this unit (or, for a list, its first item)."""
        section = self.sections[unit.section]
        block = section.blocks[unit.block]
        probe = block.items[0] if unit.kind == "steps" and block.items else unit.text
        return normalise(plain(probe))[:200] in self.chunk_text

    def context_terms(self, unit: Unit) -> set[str]:
        """The words around a unit that say what it is about: title and heading path."""
        return terms(" ".join([self.title, *self.sections[unit.section].path]))


@dataclass
class Sources:
    articles: list[SourceArticle]
    idf: dict[str, float] = field(default_factory=dict)
    unseen_idf: float = 1.0  # a term no chunk holds

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def load_sources(
    conn: psycopg.Connection, *, chunks: list[RetrievedChunk], question_terms: set[str], limit: int
) -> Sources:
    """The first ``limit`` distinct articles of ``chunks`` in rank order, parsed, with the idf of
    ``question_terms``."""
    first: dict = {}
    for position, chunk in enumerate(chunks):
        first.setdefault(chunk.article_id, (position, chunk))
        if len(first) == limit:
            break
    ids = list(first)
    with conn.pipeline():
        articles = conn.execute(SELECT_ARTICLES, (ids,), prepare=False)
        idf = conn.execute(SELECT_IDF, (sorted(question_terms),), prepare=False)
        corpus = conn.execute(SELECT_CORPUS, prepare=False)
    bodies = {row["id"]: row for row in _dicts(articles)}
    n = next(iter(_dicts(corpus)), {}).get("n_chunks") or 1
    out = []
    for rank, article_id in enumerate(ids):
        position, chunk = first[article_id]
        row = bodies.get(article_id)
        body = row["body"] if row and row["body"] else chunk.content
        out.append(SourceArticle(position + 1, chunk, parse_article(body, chunk.title), rank))
    return Sources(
        out,
        {row["term"]: float(row["idf"]) for row in _dicts(idf)},
        math.log(1 + (n + 0.5) / 0.5),
    )


def _dicts(cursor) -> list[dict]:
    rows = cursor.fetchall()
    if rows and not isinstance(rows[0], dict):
        names = [d.name for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in rows]
    return rows
