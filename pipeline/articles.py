"""Small-to-big: the articles behind the retrieved chunks, parsed into answer units.

Retrieval ranks chunks; a reply is built from the articles they belong to. ``load_sources`` reads
those articles (through the caller's connection, so row-level security still decides what is
visible) and the idf of the question's terms from the BM25 statistics, in one round trip.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import psycopg

from autocrm.pipeline.retrieval import RetrievedChunk
from autocrm.pipeline.text import terms
from autocrm.pipeline.units import (
    STRUCTURE_VERSION,
    Section,
    Unit,
    parse_article,
    plain,
    probe_key,
    sections_from_json,
    units,
)

# Each article with its structure as ingestion stored it, when that was parsed from this very title
# and body by this parser (ingest/answer_units.py); else the body is parsed here.
SELECT_ARTICLES = """
SELECT a.id, a.title, a.body,
       CASE WHEN s.source_sha256 = sha256(convert_to(%(version)s || E'\\n' || a.title || E'\\n'
                                                     || coalesce(a.body, ''), 'UTF8'))
            THEN s.structure END AS structure
  FROM kb_articles a LEFT JOIN kb_article_structures s ON s.article_id = a.id
 WHERE a.id = ANY(%(ids)s)
"""
SELECT_IDF = """
SELECT t.term, ln(1 + (c.n_chunks - t.df + 0.5) / (t.df + 0.5)) AS idf
  FROM kb_terms t CROSS JOIN kb_corpus c
 WHERE t.term = ANY(%s) AND t.df > 0
"""
SELECT_CORPUS = "SELECT n_chunks FROM kb_corpus"
# How close each section of those articles is to the question: its best chunk's cosine, computed
# where the vectors are (a long article has hundreds of chunks: their vectors stay in the server).
# Chunks are keyed by the last heading of their path, as sections are; vectors are L2-normalised.
SELECT_SECTION_SIMILARITY = """
SELECT article_id, coalesce(heading_path[cardinality(heading_path)], '') AS heading,
       max(-(embedding <#> %s)) AS cosine
  FROM kb_chunks
 WHERE article_id = ANY(%s) AND embedding IS NOT NULL
 GROUP BY 1, 2
"""
# Answer-unit vectors stored at ingestion (ingest/answer_units.py), by the probe's SHA-256.
SELECT_UNIT_VECTORS = """
SELECT probe_sha256, embedding FROM kb_unit_vectors WHERE model = %s AND probe_sha256 = ANY(%s)
"""
_WS = re.compile(r"\s+")


@dataclass
class SourceArticle:
    """A retrieved article: its citation number, best chunk, and structure."""

    index: int  # 1-based: the reply cites it as [index] (its place among the sources)
    chunk: RetrievedChunk  # the article's best retrieved chunk
    sections: tuple[Section, ...]
    rank: int  # 0 = the retriever's best article
    similarity: list[float] = field(default_factory=list)  # per section: best chunk's cosine

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
        return _probe(probe) in self.chunk_text

    def context_terms(self, unit: Unit) -> frozenset[str]:
        """The words around a unit that say what it is about: title and heading path."""
        return _terms(" ".join([self.title, *self.sections[unit.section].path]))


@dataclass
class Sources:
    articles: list[SourceArticle]
    idf: dict[str, float] = field(default_factory=dict)
    unseen_idf: float = 1.0  # a term no chunk holds
    # texts -> their cosines to what the question asks; set when an embedder is at hand
    similarity: Callable[[Sequence[str]], list[float]] | None = None
    # (texts, to) -> their cosines to another text (one question of several the message asks)
    similarity_to: Callable[[Sequence[str], str], list[float]] | None = None

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)


def stored_unit_vectors(
    conn: psycopg.Connection, texts: Sequence[str], *, model: str
) -> dict[str, np.ndarray]:
    """The vectors ingestion stored for these probe texts (those it has)."""
    keys = {probe_key(t): t for t in texts}
    rows = conn.execute(SELECT_UNIT_VECTORS, (model, list(keys)), prepare=True)
    return {keys[bytes(r["probe_sha256"])]: r["embedding"].to_numpy() for r in rows}


class UnitVectors:
    """Cosines of answer units to a question, each unit's vector looked up or embedded once per
    process.

    A help centre's units are few and the same ones come back for question after question, so
    an in-memory LRU of their vectors makes the semantic step of a draft nearly free after the
    first few tickets; a miss looks the texts up in what ingestion stored (``stored``), and
    embeds only the rest, in one batch. Safe to share between the API's threads (the model and
    the lookup run outside the lock)."""

    def __init__(self, *, size: int = 20000):
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def cosines(
        self,
        texts: Sequence[str],
        *,
        embed: Callable[[Sequence[str]], np.ndarray],
        query_vector: np.ndarray,
        stored: Callable[[Sequence[str]], dict[str, np.ndarray]] | None = None,
    ) -> list[float]:
        vectors = self.vectors(texts, embed=embed, stored=stored)
        return [float(v @ query_vector) for v in vectors]

    def vectors(
        self,
        texts: Sequence[str],
        *,
        embed: Callable[[Sequence[str]], np.ndarray],
        stored: Callable[[Sequence[str]], dict[str, np.ndarray]] | None = None,
    ) -> list[np.ndarray]:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing and stored is not None:
            known |= stored(missing)
            missing = [t for t in missing if t not in known]
        if missing:
            known |= dict(zip(missing, np.asarray(embed(missing), dtype=np.float32), strict=True))
        with self._lock:
            for text in dict.fromkeys(texts):
                self._vectors[text] = known[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return [known[t] for t in texts]


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


# Computed once per text, not once per request: the same units are scored for every question
# that retrieves their article.
@lru_cache(maxsize=65536)
def _probe(markdown: str) -> str:
    return normalise(plain(markdown))[:200]


@lru_cache(maxsize=16384)
def _terms(text: str) -> frozenset[str]:
    return frozenset(terms(text))


def load_sources(
    conn: psycopg.Connection,
    *,
    chunks: list[RetrievedChunk],
    question_terms: set[str],
    limit: int,
    query_vector: np.ndarray | None = None,
) -> Sources:
    """The first ``limit`` distinct articles of ``chunks`` in rank order, parsed, with the idf of
    ``question_terms``; with ``query_vector``, each section's similarity to it (its best chunk's
    cosine: the chunks were embedded with their "Title › Heading" context)."""
    first: dict = {}
    for position, chunk in enumerate(chunks):
        first.setdefault(chunk.article_id, (position, chunk))
        if len(first) == limit:
            break
    ids = list(first)
    with conn.pipeline():
        articles = conn.execute(
            SELECT_ARTICLES, {"ids": ids, "version": STRUCTURE_VERSION}, prepare=False
        )
        idf = conn.execute(SELECT_IDF, (sorted(question_terms),), prepare=False)
        corpus = conn.execute(SELECT_CORPUS, prepare=False)
        similarity = (
            conn.execute(SELECT_SECTION_SIMILARITY, (query_vector, ids), prepare=False)
            if query_vector is not None
            else None
        )
    bodies = {row["id"]: row for row in _dicts(articles)}
    n = next(iter(_dicts(corpus)), {}).get("n_chunks") or 1
    out = []
    for rank, article_id in enumerate(ids):
        position, chunk = first[article_id]
        row = bodies.get(article_id)
        if row and row["structure"] is not None:
            sections = sections_from_json(row["structure"])
        else:
            body = row["body"] if row and row["body"] else chunk.content
            sections = parse_article(body, chunk.title)
        article = SourceArticle(position + 1, chunk, sections, rank)
        out.append(article)
    if similarity is not None:
        _section_similarity(out, _dicts(similarity))
    return Sources(
        out,
        {row["term"]: float(row["idf"]) for row in _dicts(idf)},
        math.log(1 + (n + 0.5) / 0.5),
    )


def _section_similarity(articles: list[SourceArticle], rows: list[dict]) -> None:
    """A section's similarity is its best chunk's (a chunk belongs to the section whose heading
    path ends like the chunk's); a section no chunk names takes its article's best."""
    by_article: dict = {}
    for row in rows:
        by_article.setdefault(row["article_id"], {})[row["heading"]] = float(row["cosine"])
    for article in articles:
        best = by_article.get(article.chunk.article_id, {})
        fallback = max(best.values(), default=0.0)
        article.similarity = [
            best.get(section.path[-1] if section.path else article.title, fallback)
            for section in article.sections
        ]


def _dicts(cursor) -> list[dict]:
    rows = cursor.fetchall()
    if rows and not isinstance(rows[0], dict):
        names = [d.name for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in rows]
    return rows
