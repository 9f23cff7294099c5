-- A cache of query embeddings shared by the API and the worker (issue: HTTP API, suggestion
-- latency under load). Mirrored in db/schema/06_ai_components.sql.
-- migrate:up
-- Query embeddings, shared between processes: the worker embeds a new ticket's query to answer it,
-- and an agent's suggestion on the same ticket moments later reuses that vector instead of running
-- the model again (pipeline/embedding_cache.py). Keyed by model and the text's SHA-256; unlogged (a
-- cache: a crash empties it) and pruned by the worker. Service role only: RLS on, no policy.
CREATE UNLOGGED TABLE IF NOT EXISTS public.ai_query_embeddings (
    model       text NOT NULL,
    text_sha256 bytea NOT NULL,
    embedding   vector NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, text_sha256)
);
CREATE INDEX IF NOT EXISTS ai_query_embeddings_created_idx ON public.ai_query_embeddings (created_at);
ALTER TABLE public.ai_query_embeddings ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.ai_query_embeddings FROM anon, authenticated;
GRANT SELECT, INSERT, DELETE ON public.ai_query_embeddings TO service_role;
-- migrate:down
DROP TABLE IF EXISTS public.ai_query_embeddings;
