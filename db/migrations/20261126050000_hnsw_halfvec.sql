-- HNSW over half-precision copies of the vectors (issue: retrieval, 100k-chunk latency). Mirrored
-- in db/schema/05_knowledge_base.sql and ingest/store.py (create_hnsw_index).
-- migrate:up
-- At 100k chunks (the perturbed AWS corpus of `autocrm bench retrieval`), recall@10 against exact
-- full-precision search and latency per dense query, m 16, ef_construction 256:
--   full vectors  ef 800: 0.949, p50 9.0 / p95 11.7 ms;  ef 1000: 0.964, 10.8 / 14.2 ms
--   halfvec       ef 600: 0.951, p50 5.6 / p95 7.3 ms;   ef 800:  0.965, 6.4 / 8.1 ms
-- Half the bytes per graph visit; the stored vectors stay full precision (scores are computed
-- from them). The dimension is read from the column, which `autocrm kb set-dimension` sets.
DROP INDEX IF EXISTS public.kb_chunks_embedding_hnsw_idx;
-- The graph in memory (on disk past 64 MB it is slower to build, and came out worse at 100k).
SET LOCAL maintenance_work_mem = '1GB';
DO $$
DECLARE dim integer;
BEGIN
    SELECT atttypmod INTO dim FROM pg_attribute
     WHERE attrelid = 'public.kb_chunks'::regclass AND attname = 'embedding';
    EXECUTE format('CREATE INDEX kb_chunks_embedding_hnsw_idx ON public.kb_chunks '
                   'USING hnsw ((embedding::halfvec(%s)) halfvec_cosine_ops) '
                   'WITH (m = 16, ef_construction = 256)', dim);
END $$;
CREATE OR REPLACE FUNCTION public.match_kb_chunks(
    query_embedding vector(384),
    match_count integer DEFAULT 10,
    min_similarity real DEFAULT 0
) RETURNS TABLE (chunk_id bigint, article_id uuid, title text, heading_path text[], content text,
                 similarity real)
    LANGUAGE sql STABLE SECURITY INVOKER
    AS $$
    SELECT c.id, c.article_id, a.title, c.heading_path, c.content,
           (1 - (c.embedding <=> query_embedding))::real AS similarity
      FROM public.kb_chunks c
      JOIN public.kb_articles a ON a.id = c.article_id
     WHERE a.status = 'published'
       AND c.embedding IS NOT NULL
       AND 1 - (c.embedding <=> query_embedding) >= min_similarity
     ORDER BY c.embedding::halfvec(384) <=> query_embedding::halfvec(384)
     LIMIT least(match_count, 200)
$$;
-- migrate:down
DROP INDEX IF EXISTS public.kb_chunks_embedding_hnsw_idx;
CREATE INDEX IF NOT EXISTS kb_chunks_embedding_hnsw_idx ON public.kb_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 256);
CREATE OR REPLACE FUNCTION public.match_kb_chunks(
    query_embedding vector(384),
    match_count integer DEFAULT 10,
    min_similarity real DEFAULT 0
) RETURNS TABLE (chunk_id bigint, article_id uuid, title text, heading_path text[], content text,
                 similarity real)
    LANGUAGE sql STABLE SECURITY INVOKER
    AS $$
    SELECT c.id, c.article_id, a.title, c.heading_path, c.content,
           (1 - (c.embedding <=> query_embedding))::real AS similarity
      FROM public.kb_chunks c
      JOIN public.kb_articles a ON a.id = c.article_id
     WHERE a.status = 'published'
       AND c.embedding IS NOT NULL
       AND 1 - (c.embedding <=> query_embedding) >= min_similarity
     ORDER BY c.embedding <=> query_embedding
     LIMIT least(match_count, 200)
$$;
