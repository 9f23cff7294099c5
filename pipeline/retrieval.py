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

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from uuid import UUID

import numpy as np
import psycopg

from autocrm.core.settings import RetrievalSettings
from autocrm.db.connect import EF_SEARCH

_TEMPLATE = (Path(__file__).parent / "sql" / "hybrid_search.sql").read_text()
SET_EF_SEARCH = "SELECT set_config('hnsw.ef_search', %s, false)"

FILTERS = """a.status = 'published'
           AND (%(visibility)s = 'all' OR a.visibility = 'public')
           AND (%(locale)s::text IS NULL OR a.locale = %(locale)s)
           AND (%(category)s::text IS NULL
                OR a.category_id = (SELECT id FROM kb_categories WHERE slug = %(category)s))"""


SENTENCE_END = r"[.!?]+(\s+|$)|\n+"  # not the dots inside "db.t2.small" or "v1.2"


def _lexeme_query(column: str) -> str:
    """SQL for a one-lexeme tsquery from an analysed lexeme: quoted, so it is not parsed again."""
    quoted = f"replace(replace({column}, '\\', '\\\\'), '''', '''''')"
    return f"(('''' || {quoted} || '''')::tsquery)"


# BM25 scores. A query whose terms have at most ``bm25_exhaustive_postings`` postings in all (a help
# centre of a few thousand articles, every rare-term query) scores every posting: exact Okapi BM25.
# Above that, common terms would make the statement sum hundreds of thousands of postings (the
# 100k-chunk benchmark: p95 ~0.5 s), so it reads "champion lists" instead: the best postings of
# each term (an index-only scan of kb_postings_impact_idx), ``bm25_champion_postings`` in all,
# shared among the terms by idf (a rare term's postings weigh more, so it gets more of them), sums
# those partial scores, and rescores the best ``bm25_rescore`` chunks exactly over all query terms.
# Every returned score is the exact BM25 score; what is approximate is which chunks get scored
# (the benchmark reports the top-10 agreement with the exhaustive ranking).
BM25_CTE = f"""
terms AS MATERIALIZED (
    SELECT t.term, t.df, ln(1 + (s.n - t.df + 0.5) / (t.df + 0.5)) AS idf, s.avgdl
      FROM kb_terms t,
           (SELECT n_chunks::float8 AS n,
                   greatest(total_len::float8 / greatest(n_chunks, 1), 1) AS avgdl
              FROM kb_corpus) s
     WHERE t.term = ANY (tsvector_to_array(to_tsvector('english', %(query)s))) AND t.df > 0
),
weighted AS MATERIALIZED (
    SELECT terms.*,
           ceil(%(bm25_champion)s * idf / sum(idf) OVER ())::int AS champions
      FROM terms
),
bm25_exhaustive AS (
    SELECT p.chunk_id,
           sum(w.idf * p.tf * (%(k1)s + 1)
               / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.dl / w.avgdl))) AS score
      FROM kb_postings p JOIN weighted w ON w.term = p.term
     -- The array form makes the planner probe the postings index for the few query terms
     -- (joined to the CTE alone, it scanned every posting: the CTE's size is unknown to it).
     WHERE p.term = ANY (ARRAY(SELECT term FROM weighted))
       AND (SELECT sum(df) FROM weighted) <= %(bm25_exhaustive)s
     GROUP BY p.chunk_id
),
bm25_champions AS MATERIALIZED (
    SELECT p.chunk_id
      FROM weighted w CROSS JOIN LATERAL (
            SELECT chunk_id, kb_bm25_impact(tf, dl) AS impact FROM kb_postings
             WHERE term = w.term
             ORDER BY kb_bm25_impact(tf, dl) DESC
             LIMIT w.champions) p
     WHERE (SELECT sum(df) FROM weighted) > %(bm25_exhaustive)s
     GROUP BY p.chunk_id
     ORDER BY sum(w.idf * p.impact) DESC, p.chunk_id
     LIMIT %(bm25_rescore)s
),
bm25_rescored AS (
    SELECT c.chunk_id, s.score
      FROM bm25_champions c CROSS JOIN LATERAL (
            SELECT sum(w.idf * p.tf * (%(k1)s + 1)
                       / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.dl / w.avgdl))) AS score
              FROM kb_postings p JOIN weighted w ON w.term = p.term
             WHERE p.chunk_id = c.chunk_id
               AND p.term = ANY (ARRAY(SELECT term FROM weighted))) s
),
bm25_all AS MATERIALIZED (
    SELECT * FROM bm25_exhaustive UNION ALL SELECT * FROM bm25_rescored
),
query_phrases AS MATERIALIZED (
    -- Each pair of neighbouring terms in a sentence of the query, as a phrase at their distance
    -- there ("total storage for all DB" -> total <1> storag, storag <3> db: stop words keep their
    -- places on both sides), weighted by the rarer term's idf; each phrase counts once, like each
    -- term. Pairs across sentences ("...my password? How do I reset") would only add noise.
    SELECT tsquery_phrase({_lexeme_query("x.a")}, {_lexeme_query("x.b")}, x.gap) AS phrase,
           least(wa.idf, wb.idf) AS idf
      FROM (SELECT l.lexeme AS a, lead(l.lexeme) OVER w AS b, lead(q.pos) OVER w - q.pos AS gap
              FROM regexp_split_to_table(%(query)s, '{SENTENCE_END}') WITH ORDINALITY s(text, n),
                   unnest(to_tsvector('english', s.text)) l, unnest(l.positions) AS q(pos)
            WINDOW w AS (PARTITION BY s.n ORDER BY q.pos)) x
      JOIN weighted wa ON wa.term = x.a
      JOIN weighted wb ON wb.term = x.b
     WHERE x.a <> x.b AND %(proximity)s > 0
     GROUP BY x.a, x.b, x.gap, wa.idf, wb.idf
),
bm25_walk AS MATERIALIZED (
    -- Walk the scores best-first and probe each chunk's article for the filters until enough.
    SELECT b.chunk_id, b.score
      FROM (SELECT * FROM bm25_all ORDER BY score DESC, chunk_id) b
      CROSS JOIN LATERAL (
            SELECT 1 FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
             WHERE c.id = b.chunk_id AND {FILTERS}) ok
     ORDER BY b.score DESC, b.chunk_id
     LIMIT %(candidates)s
),
bm25 AS (
    -- The candidates re-ranked with proximity * the idf of each query phrase they hold.
    SELECT x.chunk_id, x.score, row_number() OVER (ORDER BY x.boosted DESC, x.chunk_id) AS rnk,
           x.boosted / max(x.boosted) OVER () AS norm
      FROM (SELECT w.chunk_id, w.score, w.score + coalesce(%(proximity)s * p.idf, 0) AS boosted
              FROM bm25_walk w
              LEFT JOIN LATERAL (
                    SELECT sum(q.idf) AS idf
                      FROM kb_chunks c JOIN query_phrases q ON c.fts @@ q.phrase
                     WHERE c.id = w.chunk_id) p ON true) x
),"""

# Candidates come from the HNSW index over half-precision copies (ingest.store.create_hnsw_index);
# their scores and ranks from the full-precision vectors. {{dim}} is the query vector's dimension.
DENSE_CTE = f"""
dense AS (
    SELECT d.id AS chunk_id, 1 - d.dist AS score, row_number() OVER (ORDER BY d.dist, d.id) AS rnk
      FROM (SELECT c.id, c.embedding <=> %(vector)s AS dist
              FROM kb_chunks c
              JOIN kb_articles a ON a.id = c.article_id
             WHERE {FILTERS} AND c.embedding IS NOT NULL
             ORDER BY c.embedding::halfvec({{dim}}) <=> %(vector)s::halfvec({{dim}})
             LIMIT %(candidates)s) d
),"""

_NO_DENSE = "NULL::float8 AS dense_score, NULL::bigint AS dense_rank"
_NO_BM25 = "NULL::float8 AS bm25_score, NULL::bigint AS bm25_rank, NULL::float8 AS bm25_norm"
_DENSE_COLS = "d.score AS dense_score, d.rnk AS dense_rank"
_BM25_COLS = "b.score AS bm25_score, b.rnk AS bm25_rank, b.norm AS bm25_norm"
_RRF = (
    "coalesce(%(w_dense)s / (%(rrf_k)s + {dense_rank}), 0)"
    " + coalesce(%(w_bm25)s / (%(rrf_k)s + {bm25_rank}), 0)"
)
_CONVEX = "%(w_dense)s * coalesce({dense_score}, 0) + %(w_bm25)s * coalesce({bm25_norm}, 0)"
# The columns a fusion reads: a chunk's own, or its article's (the best of the article's chunks).
_ARTICLE_COLS = {
    "dense_rank": "article_dense_rank",
    "bm25_rank": "article_bm25_rank",
    "dense_score": "best_dense",
    "bm25_norm": "best_bm25_norm",
}
_CHUNK_COLS = {name: name for name in _ARTICLE_COLS}


@cache
def search_sql(mode: str, fusion: str, level: str, dim: int) -> str:
    """The statement for a retriever mode, fusion and fusion level, assembled once."""
    dense = mode in ("dense", "hybrid")
    bm25 = mode in ("bm25", "hybrid")
    if mode == "hybrid":
        fuse = _RRF if fusion == "rrf" else _CONVEX
        chunk_fused = fuse.format(**_CHUNK_COLS)
        article_fused = fuse.format(**_ARTICLE_COLS) if level == "article" else "chunk_fused"
    else:  # a single list has nothing to fuse: its chunks keep their own order (BM25's with the
        # proximity boost, max-normalised; the reported bm25_score stays plain Okapi BM25)
        chunk_fused = "dense_score" if mode == "dense" else "bm25_norm"
        article_fused = "chunk_fused"
    return _TEMPLATE.format(
        bm25_cte=BM25_CTE if bm25 else "",
        dense_cte=DENSE_CTE.format(dim=int(dim)) if dense else "",
        dense_id="d.chunk_id" if dense else "NULL::bigint",
        bm25_id="b.chunk_id" if bm25 else "NULL::bigint",
        dense_cols=_DENSE_COLS if dense else _NO_DENSE,
        bm25_cols=_BM25_COLS if bm25 else _NO_BM25,
        fused_from={
            "hybrid": "dense d FULL OUTER JOIN bm25 b ON b.chunk_id = d.chunk_id",
            "dense": "dense d",
            "bm25": "bm25 b",
        }[mode],
        chunk_fused=chunk_fused,
        article_fused=article_fused,
    )


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
    # Never a server-side prepared statement: Postgres would switch it to a generic plan after
    # five calls, and one plan cannot fit every query (how common its terms are, which BM25 branch
    # runs): at 36k chunks generic plans took 0.2-0.5 s where custom ones take 20 ms. Planning
    # costs about a millisecond.
    statement = search_sql(mode, settings.fusion, settings.fusion_level, dim)
    # One round trip: this call's HNSW search breadth and the statement, pipelined. Every dense
    # call sets its own, so whatever a pooled connection was left with never matters.
    ef = None if mode == "bm25" else settings.ef_search or ef_search_for(_corpus_size(conn))
    with conn.pipeline():
        if ef is not None:
            conn.execute(SET_EF_SEARCH, (str(ef),), prepare=False)
        cursor = conn.execute(statement, params, prepare=False)
    rows = cursor.fetchall()
    if use_mmr:
        return _mmr(rows, query_vector, lam=settings.mmr_lambda, k=settings.top_k)
    return [_chunk(row) for row in rows]


def ef_search_for(n_chunks: int) -> int:
    """HNSW search breadth for a corpus: 100 up to 10k chunks, then n/100, at most 1000.

    Measured (`autocrm bench retrieval`, halfvec graph, m 16, ef_construction 256): recall@10
    against exact search 0.955 at 10k chunks with 100, 0.957-0.974 at 100k with 1000 (graphs differ
    from build to build); a fixed large value is no good on a small corpus, where Postgres then
    prefers an exact scan (27 ms at 10k instead of 2 ms)."""
    return max(EF_SEARCH, min(1000, n_chunks // 100))


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
