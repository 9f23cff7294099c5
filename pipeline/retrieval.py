"""``retrieve``: ranked KB chunks for a query, in one SQL round trip.

Dense: HNSW cosine over ``kb_chunks.embedding`` (pgvector 0.8 iterative scans keep recall when
filters remove candidates: set per connection in ``db.connect``). Keyword: Okapi BM25 computed from
``kb_postings``/``kb_terms``/``kb_corpus`` (kept exact by triggers) with the same english analyzer
as the ``fts`` column, its candidates re-ranked by term proximity (query phrases they hold). Fusion:
reciprocal rank (``rrf``) or a convex combination of the dense cosine and the max-normalised
(proximity-boosted) BM25 score (``convex``), of articles (each article's best chunk in each list,
the default) or of chunks. Optional MMR re-ranking for diversity.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from uuid import UUID

import numpy as np
import psycopg
from psycopg import sql

from autocrm.core.settings import RetrievalSettings
from autocrm.db.connect import EF_SEARCH

SEARCH_SQL_FILE = Path(__file__).parent / "sql" / "hybrid_search.sql"
# Custom plans only for the prepared search statement (see retrieve), and the HNSW search breadth.
SET_CUSTOM_PLANS = "SELECT set_config('plan_cache_mode', 'force_custom_plan', false)"
SET_EF_SEARCH = f"{SET_CUSTOM_PLANS}, set_config('hnsw.ef_search', %s, false)"
EF_SEARCH_MAX = 600  # the widest search breadth a corpus gets (see ef_search_for)
SENTENCE_END = r"[.!?]+(\s+|$)|\n+"  # not the dots inside "db.t2.small" or "v1.2"

_PART = re.compile(r"^-- name: (\w+)[ \t]*$", re.MULTILINE)


def sql_parts(text: str) -> dict[str, sql.SQL]:
    """The ``-- name: <part>`` sections of a .sql file, each without its leading comment lines
    (they document the part, and may name its placeholders) and surrounding blank lines."""
    pieces = _PART.split(text)[1:]
    parts = {}
    for name, body in zip(pieces[::2], pieces[1::2], strict=True):
        lines = body.strip("\n").splitlines()
        while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
            lines.pop(0)
        parts[name] = sql.SQL("\n".join(lines).rstrip())
    return parts


_SEARCH = sql_parts(SEARCH_SQL_FILE.read_text(encoding="utf-8"))
# The columns a fusion reads: a chunk's own, or its article's (the best of the article's chunks).
_ARTICLE_COLS = {
    "dense_rank": "article_dense_rank",
    "bm25_rank": "article_bm25_rank",
    "dense_score": "best_dense",
    "bm25_norm": "best_bm25_norm",
}
_CHUNK_COLS = {name: name for name in _ARTICLE_COLS}


def _fusion(fusion: str, columns: dict[str, str]) -> sql.Composed:
    part = _SEARCH["rrf" if fusion == "rrf" else "convex"]
    return part.format(**{key: sql.Identifier(column) for key, column in columns.items()})


@cache
def search_sql(mode: str, fusion: str, level: str, dim: int) -> str:
    """The statement for a retriever mode, fusion and fusion level, composed once."""
    dense = mode in ("dense", "hybrid")
    bm25 = mode in ("bm25", "hybrid")
    if mode == "hybrid":
        chunk_fused = _fusion(fusion, _CHUNK_COLS)
        article_fused = (
            _fusion(fusion, _ARTICLE_COLS) if level == "article" else sql.Identifier("chunk_fused")
        )
    else:  # a single list has nothing to fuse: its chunks keep their own order (BM25's with the
        # proximity boost, max-normalised; the reported bm25_score stays plain Okapi BM25)
        chunk_fused = sql.Identifier("dense_score" if mode == "dense" else "bm25_norm")
        article_fused = sql.Identifier("chunk_fused")
    filters = _SEARCH["filters"]
    statement = _SEARCH["statement"].format(
        bm25=(
            _SEARCH["bm25"].format(filters=filters, sentence_end=sql.Literal(SENTENCE_END))
            if bm25
            else sql.SQL("")
        ),
        dense=(
            _SEARCH["dense"].format(filters=filters, dim=sql.Literal(int(dim)))
            if dense
            else sql.SQL("")
        ),
        fused=_SEARCH[f"fused_{mode}"],
        chunk_fused=chunk_fused,
        article_fused=article_fused,
    )
    # Rendered once per variant without a connection: nothing in it depends on one (no string
    # literal but the sentence pattern, which psycopg writes in the E'' form that needs none).
    return statement.as_string(None)


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: int
    article_id: UUID
    external_id: str
    title: str
    source_url: str | None
    visibility: str
    heading_path: list[str]
    context: str
    content: str
    score: float
    dense_score: float | None
    bm25_score: float | None
    dense_rank: int | None
    bm25_rank: int | None
    embedding: np.ndarray | None = None  # the chunk's vector: MMR and the decision use it

    def as_record(self, rank: int) -> dict:
        """What ``ai_responses.retrieved`` stores for this chunk."""
        return {
            "rank": rank,
            "chunk_id": self.chunk_id,
            "article_id": str(self.article_id),
            "score": round(self.score, 6),
            "dense": _round(self.dense_score),
            "bm25": _round(self.bm25_score),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def retrieve(
    conn: psycopg.Connection,
    *,
    query: str,
    query_vector: np.ndarray | None,
    settings: RetrievalSettings,
) -> list[RetrievedChunk]:
    """Top ``settings.top_k`` chunks for the query (dense needs ``query_vector``)."""
    mode = settings.mode
    if mode != "bm25" and query_vector is None:
        raise ValueError(f"retrieval mode {mode!r} needs a query vector")
    use_mmr = settings.mmr_lambda is not None
    params = {
        "query": query,
        "vector": query_vector,
        "k1": settings.bm25_k1,
        "b": settings.bm25_b,
        "bm25_exhaustive": settings.bm25_exhaustive_postings,
        "bm25_champion": settings.bm25_champion_postings,
        "bm25_rescore": max(settings.bm25_rescore, settings.candidates),
        "proximity": settings.bm25_proximity,
        "candidates": settings.candidates,
        "rrf_k": settings.rrf_k,
        "w_dense": 2 * settings.dense_weight if settings.fusion == "rrf" else settings.dense_weight,
        "w_bm25": (
            2 * (1 - settings.dense_weight)
            if settings.fusion == "rrf"
            else 1 - settings.dense_weight
        ),
        "per_article": settings.per_article,
        "limit": settings.candidates if use_mmr else settings.top_k,
        "visibility": settings.visibility,
        "locale": settings.locale,
        "category": settings.category,
    }
    dim = 0 if query_vector is None else len(query_vector)
    # A server-side prepared statement, parsed and analysed once per connection (that took 0.7 ms
    # a call at 100k chunks), but planned at every call for its own values, never with a generic
    # plan: Postgres would switch to one after five calls, and one plan cannot fit every query (how
    # common its terms are, which BM25 branch runs): at 36k chunks generic plans took 0.2-0.5 s
    # where custom ones take 20 ms, and at 100k they added some chunks' term scores in another
    # order (scores off in the last bits). Planning costs about 1.5 ms.
    statement = search_sql(mode, settings.fusion, settings.fusion_level, dim)
    # One round trip: custom plans and this call's HNSW search breadth, then the statement,
    # pipelined. Every call sets them, so whatever a pooled connection was left with never
    # matters; they stay set on the connection (plan_cache_mode then applies to its other
    # prepared statements too: they are planned at every call as well).
    ef = None if mode == "bm25" else settings.ef_search or ef_search_for(_corpus_size(conn))
    with conn.pipeline():
        if ef is None:
            conn.execute(SET_CUSTOM_PLANS, prepare=False)
        else:
            conn.execute(SET_EF_SEARCH, (str(ef),), prepare=False)
        # Binary results: the vectors come as float32, not text to parse (the same values).
        cursor = conn.execute(statement, params, prepare=True, binary=True)
    rows = cursor.fetchall()
    if use_mmr:
        return _mmr(rows, query_vector, lam=settings.mmr_lambda, k=settings.top_k)
    return [_chunk(row) for row in rows]


def ef_search_for(n_chunks: int) -> int:
    """HNSW search breadth for a corpus: 100 up to 10k chunks, then n/100, at most
    ``EF_SEARCH_MAX``.

    Measured (`autocrm bench retrieval`, halfvec graph, m 16, ef_construction 256): recall@10
    against exact search 0.955 at 10k chunks with 100; at 100k, three builds in session 36:
    0.953-0.958 with 400, 0.974-0.979 with 800, 0.978-0.983 with 1000 (dense p95 7-9, 11-14,
    14-19 ms), so 600 keeps the ≥ 0.95 target with room at about two thirds of 1000's time; a
    fixed large value is no good on a small corpus, where Postgres then prefers an exact scan
    (27 ms at 10k instead of 2 ms)."""
    return max(EF_SEARCH, min(EF_SEARCH_MAX, n_chunks // 100))


_CORPUS_TTL_S = 60.0
_corpus_cache: dict[tuple[str, str], tuple[float, int]] = {}


def _corpus_size(conn: psycopg.Connection) -> int:
    """kb_corpus.n_chunks, re-read at most once a minute per database."""
    key = (conn.info.host, conn.info.dbname)
    now = time.monotonic()
    hit = _corpus_cache.get(key)
    if hit and now - hit[0] < _CORPUS_TTL_S:
        return hit[1]
    row = conn.execute("SELECT n_chunks FROM kb_corpus", prepare=False).fetchone()
    n = int((row["n_chunks"] if isinstance(row, dict) else row[0]) or 0) if row else 0
    _corpus_cache[key] = (now, n)
    return n


def _chunk(row: dict) -> RetrievedChunk:
    vector = row["embedding"]
    return RetrievedChunk(**row | {"embedding": None if vector is None else vector.to_numpy()})


def _mmr(
    rows: list[dict], query_vector: np.ndarray | None, *, lam: float, k: int
) -> list[RetrievedChunk]:
    """Maximal marginal relevance: trade relevance to the query for novelty against picks."""
    if not rows or query_vector is None:
        return [_chunk(r) for r in rows[:k]]
    vectors = np.stack([r["embedding"].to_numpy() for r in rows])  # rows carry pgvector Vectors
    relevance = vectors @ query_vector
    picked: list[int] = []
    while len(picked) < min(k, len(rows)):
        best, best_score = -1, -np.inf
        for i in range(len(rows)):
            if i in picked:
                continue
            redundancy = max((float(vectors[i] @ vectors[j]) for j in picked), default=0.0)
            score = lam * relevance[i] - (1 - lam) * redundancy
            if score > best_score:
                best, best_score = i, score
        picked.append(best)
    return [_chunk(rows[i]) for i in picked]
