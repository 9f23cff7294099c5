-- BM25 champion lists (issue: retrieval, 100k-chunk latency). Mirrored in
-- db/schema/05_knowledge_base.sql.
-- migrate:up
-- A query term's postings in impact order: the BM25 term weight (k1 = 1.2, b = 0.75) of each
-- posting with a fixed reference chunk length of 60 lexemes (the english-analysed length of a
-- default-sized chunk). It only ORDERS postings; scores are always computed from tf, dl and the
-- live corpus statistics (pipeline/retrieval.py). Large corpora read the best postings of each
-- common term from this index (an index-only scan of the first N entries) instead of all of them.
-- The index also serves the full per-term scans, so it replaces the plain covering index.
CREATE OR REPLACE FUNCTION public.kb_bm25_impact(tf integer, dl integer) RETURNS real
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (tf / (tf + 1.2 * (0.25 + 0.75 * dl / 60.0::float8)))::real;
CREATE INDEX IF NOT EXISTS kb_postings_impact_idx
    ON public.kb_postings (term, public.kb_bm25_impact(tf, dl) DESC) INCLUDE (chunk_id, tf, dl);
DROP INDEX IF EXISTS public.kb_postings_term_cover_idx;
-- migrate:down
CREATE INDEX IF NOT EXISTS kb_postings_term_cover_idx
    ON public.kb_postings (term) INCLUDE (chunk_id, tf, dl);
DROP INDEX IF EXISTS public.kb_postings_impact_idx;
DROP FUNCTION IF EXISTS public.kb_bm25_impact(integer, integer);
