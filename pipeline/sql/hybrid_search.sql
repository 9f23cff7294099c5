-- Hybrid retrieval in one statement: dense (HNSW cosine) + Okapi BM25 (kb_postings), fused by
-- reciprocal rank or a convex combination, at most N chunks per article.
-- The brace fields are filled by pipeline/retrieval.py for the retriever mode.
WITH
{bm25_cte}
{dense_cte}
fused AS (
    SELECT coalesce({dense_id}, {bm25_id}) AS chunk_id,
           {dense_cols}, {bm25_cols},
           {fused_expr} AS fused
      FROM {fused_from}
),
ranked AS (
    SELECT f.*, c.article_id,
           row_number() OVER (PARTITION BY c.article_id ORDER BY f.fused DESC, f.chunk_id) AS nth
      FROM fused f JOIN kb_chunks c ON c.id = f.chunk_id
)
SELECT r.chunk_id, r.article_id, a.external_id, a.title, a.source_url,
       a.visibility::text AS visibility, c.heading_path, c.context, c.content,
       r.fused AS score, r.dense_score, r.bm25_score, r.dense_rank, r.bm25_rank
       {embedding_col}
  FROM ranked r
  JOIN kb_chunks c ON c.id = r.chunk_id
  JOIN kb_articles a ON a.id = r.article_id
 WHERE r.nth <= %(per_article)s
 ORDER BY r.fused DESC, r.chunk_id
 LIMIT %(limit)s
