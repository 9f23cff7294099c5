-- Answer-unit vectors computed at ingestion, so that a draft looks them up instead of running the
-- model at question time (the offline suggestion's p95 target). Mirrored in
-- db/schema/05_knowledge_base.sql.
-- migrate:up
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
-- migrate:down
DROP TABLE IF EXISTS public.kb_unit_vectors;
