-- Ingestion runs (issue: KB ingestion job). Mirrored in db/schema/05_knowledge_base.sql.
-- migrate:up
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
-- migrate:down
DROP TABLE IF EXISTS public.ingest_runs;
