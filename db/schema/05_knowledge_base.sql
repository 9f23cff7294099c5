-- 05_knowledge_base.sql — categories, articles with a publishing workflow, versions, chunks with
-- embeddings, article feedback, and the search RPC.

SELECT public.ensure_enum('article_status', ARRAY['draft', 'review', 'published', 'archived']);
SELECT public.ensure_enum('article_visibility', ARRAY['public', 'internal']);

CREATE TABLE IF NOT EXISTS public.kb_categories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$'),
    name        text NOT NULL,
    description text,
    parent_id   uuid REFERENCES public.kb_categories (id) ON DELETE SET NULL,
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kb_categories_parent_idx ON public.kb_categories (parent_id);

-- An article's identity is (source, external_id): a path for a Markdown directory, the help-centre id
-- for an export, 'app' + its own id for articles authored in the CRM. Re-ingesting updates in place.
CREATE TABLE IF NOT EXISTS public.kb_articles (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source        text NOT NULL DEFAULT 'app',
    external_id   text NOT NULL DEFAULT gen_random_uuid()::text,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    slug          text,
    body          text NOT NULL DEFAULT '',          -- Markdown, normalised at ingestion
    summary       text,
    category_id   uuid REFERENCES public.kb_categories (id) ON DELETE SET NULL,
    locale        text NOT NULL DEFAULT 'en',
    tags          text[] NOT NULL DEFAULT '{}',
    status        article_status NOT NULL DEFAULT 'draft',
    visibility    article_visibility NOT NULL DEFAULT 'public',
    version       integer NOT NULL DEFAULT 1,
    content_hash  text,
    author_id     uuid REFERENCES public.users (id) ON DELETE SET NULL,
    source_url    text,
    published_at  timestamptz,
    metadata      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, external_id)
);
CREATE INDEX IF NOT EXISTS kb_articles_category_idx ON public.kb_articles (category_id);
CREATE INDEX IF NOT EXISTS kb_articles_author_idx ON public.kb_articles (author_id);
CREATE INDEX IF NOT EXISTS kb_articles_status_idx ON public.kb_articles (status, visibility, locale);
CREATE INDEX IF NOT EXISTS kb_articles_title_trgm_idx ON public.kb_articles USING gin (title gin_trgm_ops);

CREATE TABLE IF NOT EXISTS public.kb_article_versions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    article_id    uuid NOT NULL REFERENCES public.kb_articles (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    title         text NOT NULL,
    body          text NOT NULL,
    content_hash  text,
    author_id     uuid REFERENCES public.users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, version)
);
CREATE INDEX IF NOT EXISTS kb_article_versions_author_idx ON public.kb_article_versions (author_id);

-- Chunks are what retrieval ranks. `context` is "Title › Heading › Subheading": it is embedded and
-- indexed with the content so a chunk that never repeats its article's topic still matches it.
CREATE TABLE IF NOT EXISTS public.kb_chunks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id       uuid NOT NULL REFERENCES public.kb_articles (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    heading_path     text[] NOT NULL DEFAULT '{}',
    context          text NOT NULL DEFAULT '',
    content          text NOT NULL,
    token_count      integer NOT NULL,
    content_hash     text NOT NULL,
    embedding        vector(384),
    embedding_model  text,
    fts              tsvector GENERATED ALWAYS AS
                         (setweight(to_tsvector('english'::regconfig, context), 'A')
                          || to_tsvector('english'::regconfig, content)) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, position)
);
-- The HNSW graph holds half-precision copies of the vectors: 1.6x faster searches at the same
-- recall (pipeline/retrieval.py orders by the same expression, scores in full precision).
CREATE INDEX IF NOT EXISTS kb_chunks_embedding_hnsw_idx ON public.kb_chunks
    USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 256);
CREATE INDEX IF NOT EXISTS kb_chunks_fts_idx ON public.kb_chunks USING gin (fts);
CREATE INDEX IF NOT EXISTS kb_chunks_content_hash_idx ON public.kb_chunks (content_hash);

CREATE TABLE IF NOT EXISTS public.kb_article_feedback (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    article_id  uuid NOT NULL REFERENCES public.kb_articles (id) ON DELETE CASCADE,
    user_id     uuid REFERENCES public.users (id) ON DELETE SET NULL,
    ticket_id   uuid REFERENCES public.tickets (id) ON DELETE SET NULL,
    helpful     boolean NOT NULL,
    comment     text CHECK (length(comment) <= 5000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kb_article_feedback_article_idx ON public.kb_article_feedback (article_id);
CREATE INDEX IF NOT EXISTS kb_article_feedback_user_idx ON public.kb_article_feedback (user_id);
CREATE INDEX IF NOT EXISTS kb_article_feedback_ticket_idx ON public.kb_article_feedback (ticket_id);

CREATE OR REPLACE TRIGGER kb_articles_set_updated_at BEFORE UPDATE ON public.kb_articles
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Publishing stamps published_at; the re-embedding itself is queued by the application.
CREATE OR REPLACE FUNCTION public.kb_articles_publish_stamp() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.status = 'published' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'published') THEN
        NEW.published_at := coalesce(NEW.published_at, now());
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER kb_articles_publish_stamp
    BEFORE INSERT OR UPDATE ON public.kb_articles
    FOR EACH ROW EXECUTE FUNCTION public.kb_articles_publish_stamp();

-- The search RPC (Supabase `rpc('match_kb_chunks', …)` style). SECURITY INVOKER: the caller's RLS
-- decides which articles can match, so anon only ever gets published public articles.
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

ALTER TABLE public.kb_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.kb_articles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.kb_article_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.kb_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.kb_article_feedback ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS kb_categories_read ON public.kb_categories;
CREATE POLICY kb_categories_read ON public.kb_categories FOR SELECT TO anon, authenticated USING (true);
DROP POLICY IF EXISTS kb_categories_admin_all ON public.kb_categories;
CREATE POLICY kb_categories_admin_all ON public.kb_categories FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

-- Everyone: published public articles. Staff: every article, and they author them.
DROP POLICY IF EXISTS kb_articles_public_read ON public.kb_articles;
CREATE POLICY kb_articles_public_read ON public.kb_articles FOR SELECT TO anon, authenticated
    USING (status = 'published' AND visibility = 'public');
DROP POLICY IF EXISTS kb_articles_staff_read ON public.kb_articles;
CREATE POLICY kb_articles_staff_read ON public.kb_articles FOR SELECT TO authenticated
    USING ((SELECT public.is_staff()));
DROP POLICY IF EXISTS kb_articles_staff_insert ON public.kb_articles;
CREATE POLICY kb_articles_staff_insert ON public.kb_articles FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff()));
DROP POLICY IF EXISTS kb_articles_staff_update ON public.kb_articles;
CREATE POLICY kb_articles_staff_update ON public.kb_articles FOR UPDATE TO authenticated
    USING ((SELECT public.is_staff())) WITH CHECK ((SELECT public.is_staff()));
DROP POLICY IF EXISTS kb_articles_admin_delete ON public.kb_articles;
CREATE POLICY kb_articles_admin_delete ON public.kb_articles FOR DELETE TO authenticated
    USING ((SELECT public.is_admin()));

DROP POLICY IF EXISTS kb_article_versions_staff ON public.kb_article_versions;
CREATE POLICY kb_article_versions_staff ON public.kb_article_versions FOR ALL TO authenticated
    USING ((SELECT public.is_staff())) WITH CHECK ((SELECT public.is_staff()));

-- A chunk is visible exactly when its article is (the articles policies decide).
DROP POLICY IF EXISTS kb_chunks_read ON public.kb_chunks;
CREATE POLICY kb_chunks_read ON public.kb_chunks FOR SELECT TO anon, authenticated
    USING (article_id IN (SELECT id FROM public.kb_articles));
DROP POLICY IF EXISTS kb_chunks_admin_write ON public.kb_chunks;
CREATE POLICY kb_chunks_admin_write ON public.kb_chunks FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

DROP POLICY IF EXISTS kb_article_feedback_insert ON public.kb_article_feedback;
CREATE POLICY kb_article_feedback_insert ON public.kb_article_feedback FOR INSERT TO authenticated
    WITH CHECK (user_id = (SELECT auth.uid()) AND article_id IN (SELECT id FROM public.kb_articles));
DROP POLICY IF EXISTS kb_article_feedback_read ON public.kb_article_feedback;
CREATE POLICY kb_article_feedback_read ON public.kb_article_feedback FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()) OR (SELECT public.is_staff()));

GRANT SELECT ON public.kb_categories, public.kb_articles, public.kb_chunks TO anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.kb_categories, public.kb_articles,
    public.kb_article_versions, public.kb_chunks, public.kb_article_feedback
    TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.match_kb_chunks(vector, integer, real) TO anon, authenticated, service_role;

-- Ingestion runs: one row per `autocrm ingest`, with counts, per-stage seconds and per-item errors.
CREATE TABLE IF NOT EXISTS public.ingest_runs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source           text NOT NULL,
    status           text NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'finished', 'failed', 'aborted')),
    embedding_model  text NOT NULL,
    settings         jsonb NOT NULL DEFAULT '{}',
    items_seen       integer NOT NULL DEFAULT 0,
    items_new        integer NOT NULL DEFAULT 0,
    items_updated    integer NOT NULL DEFAULT 0,
    items_unchanged  integer NOT NULL DEFAULT 0,
    items_archived   integer NOT NULL DEFAULT 0,
    items_failed     integer NOT NULL DEFAULT 0,
    chunks_embedded  integer NOT NULL DEFAULT 0,
    chunks_reused    integer NOT NULL DEFAULT 0,
    stage_seconds    jsonb NOT NULL DEFAULT '{}',   -- {"read": …, "parse": …, "chunk": …, "embed": …, "write": …}
    errors           jsonb NOT NULL DEFAULT '[]',   -- [{"item": "path/or/id", "error": "…"}]
    error            text,                           -- the fatal error, when status = failed
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX IF NOT EXISTS ingest_runs_source_idx ON public.ingest_runs (source, started_at DESC);

ALTER TABLE public.ingest_runs ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS ingest_runs_staff_read ON public.ingest_runs;
CREATE POLICY ingest_runs_staff_read ON public.ingest_runs FOR SELECT TO authenticated
    USING ((SELECT public.is_staff()));
DROP POLICY IF EXISTS ingest_runs_admin_all ON public.ingest_runs;
CREATE POLICY ingest_runs_admin_all ON public.ingest_runs FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));
GRANT SELECT, INSERT, UPDATE, DELETE ON public.ingest_runs TO authenticated, service_role;

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
-- Each term's postings in impact order (BM25 term weight at k1 1.2, b 0.75 and a reference chunk
-- length of 60 lexemes): an ordering key only, scores use tf, dl and the live corpus statistics.
-- Large corpora read the best postings of a common term from it (pipeline/retrieval.py); it also
-- serves the full per-term index-only scans.
CREATE OR REPLACE FUNCTION public.kb_bm25_impact(tf integer, dl integer) RETURNS real
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (tf / (tf + 1.2 * (0.25 + 0.75 * dl / 60.0::float8)))::real;
CREATE INDEX IF NOT EXISTS kb_postings_impact_idx
    ON public.kb_postings (term, public.kb_bm25_impact(tf, dl) DESC) INCLUDE (chunk_id, tf, dl);

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

-- Answer-unit vectors: the vector of each answer unit's probe text ("Title › Heading" and the
-- unit: pipeline/units.py probe_text), computed at ingestion (ingest/unit_vectors.py) so that a
-- draft looks them up instead of running the model at question time. Content-addressed like the
-- query cache, by model and the probe's SHA-256: an unchanged unit of an edited article keeps its
-- row, copies of an article share theirs, and a key reveals nothing to whoever lacks the text.
-- Readable by every role that may draft; written by ingestion (service role, or an admin).
CREATE TABLE IF NOT EXISTS public.kb_unit_vectors (
    model        text NOT NULL,
    probe_sha256 bytea NOT NULL,
    embedding    vector NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, probe_sha256)
);
ALTER TABLE public.kb_unit_vectors ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS kb_unit_vectors_read ON public.kb_unit_vectors;
CREATE POLICY kb_unit_vectors_read ON public.kb_unit_vectors FOR SELECT TO anon, authenticated
    USING (true);
DROP POLICY IF EXISTS kb_unit_vectors_admin_write ON public.kb_unit_vectors;
CREATE POLICY kb_unit_vectors_admin_write ON public.kb_unit_vectors FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));
GRANT SELECT ON public.kb_unit_vectors TO anon;
GRANT SELECT, INSERT, DELETE ON public.kb_unit_vectors TO authenticated, service_role;

-- Each article parsed into answer units (pipeline/units.py parse_article: sections, blocks), stored
-- at ingestion so that a draft reads it instead of parsing Markdown at question time (a long page
-- took up to 115 ms). `source_sha256` is the hash of the parser version, title and body it was
-- made from: an article edited since (or a new parser) is parsed afresh. Visible exactly when its
-- article is.
CREATE TABLE IF NOT EXISTS public.kb_article_structures (
    article_id    uuid PRIMARY KEY REFERENCES public.kb_articles (id) ON DELETE CASCADE,
    source_sha256 bytea NOT NULL,
    structure     jsonb NOT NULL
);
ALTER TABLE public.kb_article_structures ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS kb_article_structures_read ON public.kb_article_structures;
CREATE POLICY kb_article_structures_read ON public.kb_article_structures FOR SELECT
    TO anon, authenticated USING (article_id IN (SELECT id FROM public.kb_articles));
DROP POLICY IF EXISTS kb_article_structures_admin_write ON public.kb_article_structures;
CREATE POLICY kb_article_structures_admin_write ON public.kb_article_structures FOR ALL
    TO authenticated USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));
GRANT SELECT ON public.kb_article_structures TO anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.kb_article_structures TO authenticated, service_role;
