-- Hybrid retrieval in one statement: dense (HNSW cosine) + Okapi BM25 (kb_postings), fused by
-- reciprocal rank or a convex combination, at most N chunks per article.
--
-- The statement comes in named parts, each running from its `-- name:` line to the next one;
-- pipeline/retrieval.py (search_sql) composes them with psycopg.sql for a retriever mode (hybrid,
-- dense, bm25), a fusion (rrf, convex) and a fusion level (article, chunk). Brace fields are
-- psycopg.sql placeholders; %(...)s are the query parameters. A part that is placed inside a line
-- must not end in a comment.
--
-- Fusion level "article" ranks articles, not chunks: in each list an article takes the rank (and
-- score) of its best chunk among the articles, so a page whose best passages are found by dense
-- and BM25 in different chunks still counts as agreed on; its chunks are then ordered by their own
-- fused score. Level "chunk" fuses chunk ranks directly.

-- name: statement
-- {bm25} and {dense}: the candidate lists the mode uses; {fused}: the fused_<mode> part;
-- {chunk_fused} and {article_fused}: a fusion (rrf or convex) over a chunk's own columns and
-- over its article's, or for a single list its own normalised score.
-- Each list carries its chunks' article_id (the filter probes join kb_chunks anyway), and only the
-- returned rows are joined to kb_chunks and kb_articles for their text and vector.
WITH
{bm25}
{dense}
{fused}
per_article AS (
    SELECT f.*,
           {chunk_fused} AS chunk_fused,
           min(f.dense_rank) OVER w AS best_dense_rank, max(f.dense_score) OVER w AS best_dense,
           min(f.bm25_rank) OVER w AS best_bm25_rank, max(f.bm25_norm) OVER w AS best_bm25_norm
      FROM fused f
    WINDOW w AS (PARTITION BY f.article_id)
),
article_ranked AS (
    -- An article's rank in each list: its best chunk's place among the articles' best chunks.
    SELECT p.*,
           CASE WHEN best_dense_rank IS NOT NULL
                THEN dense_rank() OVER (ORDER BY best_dense_rank) END AS article_dense_rank,
           CASE WHEN best_bm25_rank IS NOT NULL
                THEN dense_rank() OVER (ORDER BY best_bm25_rank) END AS article_bm25_rank
      FROM per_article p
),
ranked AS (
    SELECT a.*, {article_fused} AS fused,
           row_number() OVER (PARTITION BY a.article_id ORDER BY a.chunk_fused DESC, a.chunk_id)
               AS nth
      FROM article_ranked a
)
SELECT r.chunk_id, r.article_id, a.external_id, a.title, a.source_url,
       a.visibility::text AS visibility, c.heading_path, c.context, c.content,
       r.fused AS score, r.dense_score, r.bm25_score, r.dense_rank, r.bm25_rank, c.embedding
  FROM (SELECT * FROM ranked WHERE nth <= %(per_article)s
         ORDER BY fused DESC, chunk_fused DESC, chunk_id
         LIMIT %(limit)s) r
  JOIN kb_chunks c ON c.id = r.chunk_id
  JOIN kb_articles a ON a.id = r.article_id
 ORDER BY r.fused DESC, r.chunk_fused DESC, r.chunk_id

-- name: filters
-- The articles a caller may be given: published, visible, in the locale and category asked for.
a.status = 'published'
           AND (%(visibility)s = 'all' OR a.visibility = 'public')
           AND (%(locale)s::text IS NULL OR a.locale = %(locale)s)
           AND (%(category)s::text IS NULL
                OR a.category_id = (SELECT id FROM kb_categories WHERE slug = %(category)s))

-- name: bm25
-- BM25 scores. A query whose terms have at most ``bm25_exhaustive_postings`` postings in all (a help
-- centre of a few thousand articles, every rare-term query) scores every posting: exact Okapi BM25.
-- Above that, common terms would make the statement sum hundreds of thousands of postings (the
-- 100k-chunk benchmark: p95 ~0.5 s), so it reads "champion lists" instead: the best postings of
-- each term (an index-only scan of kb_postings_impact_idx), ``bm25_champion_postings`` in all,
-- shared among the terms by idf (a rare term's postings weigh more, so it gets more of them), sums
-- those partial scores, and rescores the best ``bm25_rescore`` chunks exactly over all query terms.
-- Every returned score is the exact BM25 score; what is approximate is which chunks get scored
-- (the benchmark reports the top-10 agreement with the exhaustive ranking).
-- {filters}: the filters part; {sentence_end}: the regular expression that ends a sentence.
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
    -- Materialised although only bm25_walk reads it: inlined there, the planner's other plans
    -- added some chunks' term scores in another order (scores off in the last bits, on MTRAG).
    SELECT * FROM bm25_exhaustive UNION ALL SELECT * FROM bm25_rescored
),
query_phrases AS MATERIALIZED (
    -- Each pair of neighbouring terms in a sentence of the query, as a phrase at their distance
    -- there ("total storage for all DB" -> total <1> storag, storag <3> db: stop words keep their
    -- places on both sides), weighted by the rarer term's idf; each phrase counts once, like each
    -- term. Pairs across sentences ("...my password? How do I reset") would only add noise.
    -- Each lexeme is quoted into a one-lexeme tsquery, so that it is not parsed again.
    SELECT tsquery_phrase((('''' || replace(replace(x.a, '\', '\\'), '''', '''''') || '''')::tsquery),
                          (('''' || replace(replace(x.b, '\', '\\'), '''', '''''') || '''')::tsquery),
                          x.gap) AS phrase,
           least(wa.idf, wb.idf) AS idf
      FROM (SELECT l.lexeme AS a, lead(l.lexeme) OVER w AS b, lead(q.pos) OVER w - q.pos AS gap
              FROM regexp_split_to_table(%(query)s, {sentence_end}) WITH ORDINALITY s(text, n),
                   unnest(to_tsvector('english', s.text)) l, unnest(l.positions) AS q(pos)
            WINDOW w AS (PARTITION BY s.n ORDER BY q.pos)) x
      JOIN weighted wa ON wa.term = x.a
      JOIN weighted wb ON wb.term = x.b
     WHERE x.a <> x.b AND %(proximity)s > 0
     GROUP BY x.a, x.b, x.gap, wa.idf, wb.idf
),
bm25_walk AS MATERIALIZED (
    -- Walk the scores best-first and probe each chunk's article for the filters until enough
    -- (the probe gives the chunk's article_id too).
    SELECT b.chunk_id, b.score, ok.article_id
      FROM (SELECT * FROM bm25_all ORDER BY score DESC, chunk_id) b
      CROSS JOIN LATERAL (
            SELECT c.article_id FROM kb_chunks c JOIN kb_articles a ON a.id = c.article_id
             WHERE c.id = b.chunk_id AND {filters}) ok
     ORDER BY b.score DESC, b.chunk_id
     LIMIT %(candidates)s
),
bm25 AS (
    -- The candidates re-ranked with proximity * the idf of each query phrase they hold.
    SELECT x.chunk_id, x.article_id, x.score,
           row_number() OVER (ORDER BY x.boosted DESC, x.chunk_id) AS rnk,
           x.boosted / max(x.boosted) OVER () AS norm
      FROM (SELECT w.chunk_id, w.article_id, w.score,
                   w.score + coalesce(%(proximity)s * p.idf, 0) AS boosted
              FROM bm25_walk w
              LEFT JOIN LATERAL (
                    SELECT sum(q.idf) AS idf
                      FROM kb_chunks c JOIN query_phrases q ON c.fts @@ q.phrase
                     WHERE c.id = w.chunk_id) p ON true) x
),

-- name: dense
-- Candidates come from the HNSW index over half-precision copies (ingest.store.create_hnsw_index);
-- their scores and ranks from the full-precision vectors. {dim} is the query vector's dimension:
-- the ORDER BY must match the index expression exactly, or every query is a full scan.
dense AS (
    SELECT d.id AS chunk_id, d.article_id, 1 - d.dist AS score,
           row_number() OVER (ORDER BY d.dist, d.id) AS rnk
      FROM (SELECT c.id, c.article_id, c.embedding <=> %(vector)s AS dist
              FROM kb_chunks c
              JOIN kb_articles a ON a.id = c.article_id
             WHERE {filters} AND c.embedding IS NOT NULL
             ORDER BY c.embedding::halfvec({dim}) <=> %(vector)s::halfvec({dim})
             LIMIT %(candidates)s) d
),

-- name: fused_hybrid
fused AS (
    SELECT coalesce(d.chunk_id, b.chunk_id) AS chunk_id,
           coalesce(d.article_id, b.article_id) AS article_id,
           d.score AS dense_score, d.rnk AS dense_rank,
           b.score AS bm25_score, b.rnk AS bm25_rank, b.norm AS bm25_norm
      FROM dense d FULL OUTER JOIN bm25 b ON b.chunk_id = d.chunk_id
),

-- name: fused_dense
-- The single-list parts keep the hybrid part's shape (its coalesce included): the same plans.
fused AS (
    SELECT coalesce(d.chunk_id, NULL::bigint) AS chunk_id,
           coalesce(d.article_id, NULL::uuid) AS article_id,
           d.score AS dense_score, d.rnk AS dense_rank,
           NULL::float8 AS bm25_score, NULL::bigint AS bm25_rank, NULL::float8 AS bm25_norm
      FROM dense d
),

-- name: fused_bm25
fused AS (
    SELECT coalesce(NULL::bigint, b.chunk_id) AS chunk_id,
           coalesce(NULL::uuid, b.article_id) AS article_id,
           NULL::float8 AS dense_score, NULL::bigint AS dense_rank,
           b.score AS bm25_score, b.rnk AS bm25_rank, b.norm AS bm25_norm
      FROM bm25 b
),

-- name: rrf
-- Reciprocal rank fusion over {dense_rank} and {bm25_rank} (a chunk's ranks, or its article's).
coalesce(%(w_dense)s / (%(rrf_k)s + {dense_rank}), 0) + coalesce(%(w_bm25)s / (%(rrf_k)s + {bm25_rank}), 0)

-- name: convex
-- Convex combination of {dense_score} and the max-normalised BM25 {bm25_norm}.
%(w_dense)s * coalesce({dense_score}, 0) + %(w_bm25)s * coalesce({bm25_norm}, 0)
