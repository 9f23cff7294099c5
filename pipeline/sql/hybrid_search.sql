-- Hybrid retrieval in one statement: dense (HNSW cosine) + Okapi BM25 (kb_postings), fused by
-- reciprocal rank or a convex combination, at most N chunks per article.
-- The brace fields are filled by pipeline/retrieval.py for the retriever mode and fusion level.
--
-- Fusion level "article" ranks articles, not chunks: in each list an article takes the rank (and
-- score) of its best chunk among the articles, so a page whose best passages are found by dense
-- and BM25 in different chunks still counts as agreed on; its chunks are then ordered by their own
-- fused score. Level "chunk" fuses chunk ranks directly.
WITH
{bm25_cte}
{dense_cte}
fused AS (
    SELECT coalesce({dense_id}, {bm25_id}) AS chunk_id,
           {dense_cols}, {bm25_cols}
      FROM {fused_from}
),
per_article AS (
    SELECT f.*, c.article_id,
           {chunk_fused} AS chunk_fused,
           min(f.dense_rank) OVER w AS best_dense_rank, max(f.dense_score) OVER w AS best_dense,
           min(f.bm25_rank) OVER w AS best_bm25_rank, max(f.bm25_norm) OVER w AS best_bm25_norm
      FROM fused f JOIN kb_chunks c ON c.id = f.chunk_id
    WINDOW w AS (PARTITION BY c.article_id)
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
  FROM ranked r
  JOIN kb_chunks c ON c.id = r.chunk_id
  JOIN kb_articles a ON a.id = r.article_id
 WHERE r.nth <= %(per_article)s
 ORDER BY r.fused DESC, r.chunk_fused DESC, r.chunk_id
 LIMIT %(limit)s
