-- HNSW graph quality (issue: retrieval, recall@10 at 100k chunks). Mirrored in
-- db/schema/05_knowledge_base.sql and ingest/store.py (HNSW_INDEX).
-- migrate:up
-- ef_construction 64 → 256: at 100k chunks (autocrm bench retrieval) recall@10 against exact search
-- rose from 0.92 to 0.96 at hnsw.ef_search 800, for about 8 ms per query. Rebuilds the index: on a
-- large knowledge base this migration takes a while (about 40 s per 100k chunks on 2 cores).
DROP INDEX IF EXISTS public.kb_chunks_embedding_hnsw_idx;
CREATE INDEX IF NOT EXISTS kb_chunks_embedding_hnsw_idx ON public.kb_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 256);
-- migrate:down
DROP INDEX IF EXISTS public.kb_chunks_embedding_hnsw_idx;
CREATE INDEX IF NOT EXISTS kb_chunks_embedding_hnsw_idx ON public.kb_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
