-- Okapi BM25 index (issue: retrieval). Mirrored in db/schema/05_knowledge_base.sql.
-- migrate:up
-- Okapi BM25 in Postgres: an inverted index over the chunks' `fts` lexemes (english: stemmed, stop
-- words removed), kept exact by statement-level triggers, so every writer (ingestion, the app, a
-- manual fix) keeps the statistics right. ts_rank is not BM25 (no idf, no length normalisation).
--   kb_postings: (term, chunk_id) → tf and the chunk's length (denormalised: scoring is one
--                index-only scan per query term, no join back to kb_chunks)
--   kb_terms:    term → document frequency
--   kb_corpus:   one row: number of chunks and total length (for avgdl)
CREATE TABLE IF NOT EXISTS public.kb_terms (
    term  text PRIMARY KEY,
    df    integer NOT NULL CHECK (df >= 0)
);

CREATE TABLE IF NOT EXISTS public.kb_postings (
    term      text NOT NULL,
    chunk_id  bigint NOT NULL REFERENCES public.kb_chunks (id) ON DELETE CASCADE,
    tf        smallint NOT NULL,
    dl        integer NOT NULL,
    PRIMARY KEY (term, chunk_id)
);
CREATE INDEX IF NOT EXISTS kb_postings_chunk_idx ON public.kb_postings (chunk_id);
CREATE INDEX IF NOT EXISTS kb_postings_term_cover_idx ON public.kb_postings (term) INCLUDE (chunk_id, tf, dl);

CREATE TABLE IF NOT EXISTS public.kb_corpus (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    n_chunks   bigint NOT NULL DEFAULT 0,
    total_len  bigint NOT NULL DEFAULT 0
);
INSERT INTO public.kb_corpus (id) VALUES (true) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION public.kb_chunks_bm25_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    WITH lex AS (
        SELECT n.id AS chunk_id, l.lexeme AS term, cardinality(l.positions) AS tf
          FROM new_rows n, unnest(n.fts) AS l
    ), docs AS (
        SELECT chunk_id, sum(tf)::int AS dl FROM lex GROUP BY chunk_id
    )
    INSERT INTO kb_postings (term, chunk_id, tf, dl)
    SELECT lex.term, lex.chunk_id, least(lex.tf, 32767), docs.dl
      FROM lex JOIN docs USING (chunk_id);

    -- Sorted upsert: concurrent writers lock kb_terms rows in the same order (no deadlocks).
    INSERT INTO kb_terms (term, df)
    SELECT l.lexeme, count(*) FROM new_rows n, unnest(n.fts) AS l GROUP BY l.lexeme ORDER BY l.lexeme
    ON CONFLICT (term) DO UPDATE SET df = kb_terms.df + EXCLUDED.df;

    UPDATE kb_corpus SET n_chunks = n_chunks + s.n, total_len = total_len + s.len
      FROM (SELECT count(*) AS n,
                   coalesce(sum((SELECT sum(cardinality(l.positions)) FROM unnest(fts) l)), 0) AS len
              FROM new_rows) s;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION public.kb_chunks_bm25_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    -- Postings go by ON DELETE CASCADE; here the counts.
    UPDATE kb_terms t SET df = t.df - d.n
      FROM (SELECT l.lexeme AS term, count(*) AS n FROM old_rows o, unnest(o.fts) AS l
             GROUP BY l.lexeme ORDER BY l.lexeme) d
     WHERE t.term = d.term;
    UPDATE kb_corpus SET n_chunks = n_chunks - s.n, total_len = total_len - s.len
      FROM (SELECT count(*) AS n,
                   coalesce(sum((SELECT sum(cardinality(l.positions)) FROM unnest(fts) l)), 0) AS len
              FROM old_rows) s;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS kb_chunks_bm25_insert ON public.kb_chunks;
CREATE TRIGGER kb_chunks_bm25_insert AFTER INSERT ON public.kb_chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public.kb_chunks_bm25_insert();
DROP TRIGGER IF EXISTS kb_chunks_bm25_delete ON public.kb_chunks;
CREATE TRIGGER kb_chunks_bm25_delete AFTER DELETE ON public.kb_chunks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION public.kb_chunks_bm25_delete();

-- Chunks are immutable (ingestion replaces them), so an UPDATE of their text would skew BM25.
CREATE OR REPLACE FUNCTION public.kb_chunks_immutable_text() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'kb_chunks text is immutable: delete and insert the chunk instead'
        USING ERRCODE = '55000';
END $$;
DROP TRIGGER IF EXISTS kb_chunks_immutable_text ON public.kb_chunks;
CREATE TRIGGER kb_chunks_immutable_text BEFORE UPDATE OF content, context ON public.kb_chunks
    FOR EACH ROW EXECUTE FUNCTION public.kb_chunks_immutable_text();

ALTER TABLE public.kb_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.kb_postings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.kb_corpus ENABLE ROW LEVEL SECURITY;
-- Term statistics reveal nothing per article; postings are as visible as their chunks.
DROP POLICY IF EXISTS kb_terms_read ON public.kb_terms;
CREATE POLICY kb_terms_read ON public.kb_terms FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS kb_corpus_read ON public.kb_corpus;
CREATE POLICY kb_corpus_read ON public.kb_corpus FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS kb_postings_read ON public.kb_postings;
CREATE POLICY kb_postings_read ON public.kb_postings FOR SELECT TO anon, authenticated
    USING (chunk_id IN (SELECT id FROM public.kb_chunks));
GRANT SELECT ON public.kb_terms, public.kb_postings, public.kb_corpus TO anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.kb_terms, public.kb_postings, public.kb_corpus TO service_role;

-- Backfill a database that already had chunks when this index was introduced.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM public.kb_chunks) AND NOT EXISTS (SELECT 1 FROM public.kb_postings) THEN
        INSERT INTO public.kb_postings (term, chunk_id, tf, dl)
        SELECT l.lexeme, c.id, least(cardinality(l.positions), 32767),
               (SELECT sum(cardinality(x.positions)) FROM unnest(c.fts) x)
          FROM public.kb_chunks c, unnest(c.fts) AS l;
        INSERT INTO public.kb_terms (term, df)
        SELECT term, count(*) FROM public.kb_postings GROUP BY term
        ON CONFLICT (term) DO UPDATE SET df = EXCLUDED.df;
        UPDATE public.kb_corpus SET n_chunks = (SELECT count(*) FROM public.kb_chunks),
               total_len = (SELECT coalesce(sum(dl), 0) FROM (SELECT DISTINCT chunk_id, dl
                                                               FROM public.kb_postings) d);
    END IF;
END $$;
-- migrate:down
DROP TRIGGER IF EXISTS kb_chunks_immutable_text ON public.kb_chunks;
DROP TRIGGER IF EXISTS kb_chunks_bm25_delete ON public.kb_chunks;
DROP TRIGGER IF EXISTS kb_chunks_bm25_insert ON public.kb_chunks;
DROP FUNCTION IF EXISTS public.kb_chunks_immutable_text(), public.kb_chunks_bm25_delete(),
    public.kb_chunks_bm25_insert();
DROP TABLE IF EXISTS public.kb_postings, public.kb_terms, public.kb_corpus;
