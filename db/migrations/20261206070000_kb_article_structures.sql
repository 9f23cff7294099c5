-- Articles parsed into answer units at ingestion, so that a draft reads the structure instead of
-- parsing Markdown at question time. Mirrored in db/schema/05_knowledge_base.sql.
-- migrate:up
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
-- migrate:down
DROP TABLE IF EXISTS public.kb_article_structures;
