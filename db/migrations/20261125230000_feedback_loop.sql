-- Feedback loop (issue: feedback loop). Mirrored at the end of db/schema/06_ai_components.sql.
-- migrate:up
-- Feedback loop (pipeline/feedback.py): a score per AI response (formula and weights in ONE place,
-- pipeline/feedback.py, versioned by SCORE_VERSION), the embedding similarity of an edited reply
-- next to its edit similarity, and idempotent article feedback (event_key, as on ai_feedback).
ALTER TABLE public.ai_responses ADD COLUMN IF NOT EXISTS score real CHECK (score BETWEEN 0 AND 1);
ALTER TABLE public.ai_responses ADD COLUMN IF NOT EXISTS score_version text;
ALTER TABLE public.ai_responses ADD COLUMN IF NOT EXISTS scored_at timestamptz;
ALTER TABLE public.ai_feedback ADD COLUMN IF NOT EXISTS semantic_similarity real
    CHECK (semantic_similarity BETWEEN -1 AND 1);
ALTER TABLE public.kb_article_feedback ADD COLUMN IF NOT EXISTS event_key text UNIQUE;
-- The scoring job rescans responses whose feedback changed recently.
CREATE INDEX IF NOT EXISTS ai_feedback_created_at_idx ON public.ai_feedback (created_at);

-- ai_effectiveness, second version. Changes: the counts behind each rate (acted, compared, rated,
-- scored) so reports roll rows up exactly; the latest agent action decides acceptance (as in the
-- score); a sent reply that was reopened or answered again is not a deflection; mean score.
-- Guarded so that applying the schema files twice changes nothing.
DO $$
BEGIN
    IF to_regclass('public.ai_effectiveness') IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_attribute
         WHERE attrelid = 'public.ai_effectiveness'::regclass AND attname = 'mean_score'
           AND NOT attisdropped) THEN
        DROP MATERIALIZED VIEW public.ai_effectiveness CASCADE;  -- and ai_effectiveness_for_staff
    END IF;
END $$;

CREATE MATERIALIZED VIEW IF NOT EXISTS public.ai_effectiveness AS
WITH fb AS (
    SELECT ai_response_id,
           (array_agg(action ORDER BY created_at DESC, id DESC)
                FILTER (WHERE action IS NOT NULL))[1] AS action,
           avg(similarity_score) FILTER (WHERE action IN ('accepted', 'edited')) AS edit_similarity,
           avg(rating) FILTER (WHERE signal = 'csat') AS csat,
           coalesce(bool_or(signal = 'deflected'), false) AS deflected,
           coalesce(bool_or(signal IN ('reopened', 'replied_again')), false) AS reopened
      FROM public.ai_feedback
     GROUP BY ai_response_id
)
SELECT date_trunc('day', r.created_at)::date AS day,
       coalesce(t.team_id, '00000000-0000-0000-0000-000000000000'::uuid) AS team_id,
       coalesce(t.category, 'uncategorized') AS category,
       r.model, r.prompt_version, r.decision,
       count(*) AS responses,
       count(fb.action) AS acted,
       avg((fb.action = 'accepted')::int)::float8 AS acceptance_rate,
       count(fb.edit_similarity) AS compared,
       avg(fb.edit_similarity)::float8 AS mean_edit_similarity,
       avg(CASE WHEN r.decision = 'sent'
                THEN coalesce(fb.deflected AND NOT fb.reopened, false)::int END)::float8
           AS deflection_rate,
       avg(CASE WHEN r.decision = 'sent' THEN coalesce(fb.reopened, false)::int END)::float8
           AS reopen_rate,
       count(fb.csat) AS rated,
       avg(fb.csat)::float8 AS csat,
       avg((r.decision = 'escalated')::int)::float8 AS escalation_rate,
       count(r.score) AS scored,
       avg(r.score)::float8 AS mean_score,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (r.latency_ms ->> 'total')::float8) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY (r.latency_ms ->> 'total')::float8) AS p95_latency_ms
  FROM public.ai_responses r
  JOIN public.tickets t ON t.id = r.ticket_id
  LEFT JOIN fb ON fb.ai_response_id = r.id
 GROUP BY 1, 2, 3, 4, 5, 6
WITH DATA;
CREATE UNIQUE INDEX IF NOT EXISTS ai_effectiveness_key_idx ON public.ai_effectiveness
    (day, team_id, category, model, prompt_version, decision);
REVOKE ALL ON public.ai_effectiveness FROM anon, authenticated;
GRANT SELECT ON public.ai_effectiveness TO service_role;

CREATE OR REPLACE FUNCTION public.ai_effectiveness_for_staff(since date)
    RETURNS SETOF public.ai_effectiveness
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF NOT public.is_staff() AND auth.role() IS DISTINCT FROM 'service_role' THEN
        RAISE EXCEPTION 'staff only' USING ERRCODE = '42501';
    END IF;
    RETURN QUERY SELECT * FROM public.ai_effectiveness WHERE day >= since ORDER BY day, team_id;
END $$;
GRANT EXECUTE ON FUNCTION public.ai_effectiveness_for_staff(date) TO authenticated, service_role;
-- migrate:down
DROP MATERIALIZED VIEW IF EXISTS public.ai_effectiveness CASCADE;
-- One row per (day, team, category, model, prompt version, decision). NULL keys are folded into
-- placeholder values because REFRESH … CONCURRENTLY needs a unique index over plain columns.
CREATE MATERIALIZED VIEW IF NOT EXISTS public.ai_effectiveness AS
WITH fb AS (
    SELECT ai_response_id,
           bool_or(action = 'accepted') AS accepted,
           bool_or(action = 'edited') AS edited,
           bool_or(action = 'rejected') AS rejected,
           avg(similarity_score) FILTER (WHERE action IN ('accepted', 'edited')) AS edit_similarity,
           avg(rating) FILTER (WHERE signal = 'csat') AS csat,
           bool_or(signal = 'deflected') AS deflected,
           bool_or(signal IN ('reopened', 'replied_again')) AS reopened
      FROM public.ai_feedback
     GROUP BY ai_response_id
)
SELECT date_trunc('day', r.created_at)::date AS day,
       coalesce(t.team_id, '00000000-0000-0000-0000-000000000000'::uuid) AS team_id,
       coalesce(t.category, 'uncategorized') AS category,
       r.model, r.prompt_version, r.decision,
       count(*) AS responses,
       avg(CASE WHEN fb.accepted OR fb.edited OR fb.rejected THEN (fb.accepted)::int END) AS acceptance_rate,
       avg(fb.edit_similarity) AS mean_edit_similarity,
       avg(CASE WHEN r.decision = 'sent' THEN coalesce(fb.deflected, false)::int END) AS deflection_rate,
       avg(CASE WHEN r.decision = 'sent' THEN coalesce(fb.reopened, false)::int END) AS reopen_rate,
       avg(fb.csat) AS csat,
       avg((r.decision = 'escalated')::int) AS escalation_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (r.latency_ms ->> 'total')::float8) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY (r.latency_ms ->> 'total')::float8) AS p95_latency_ms
  FROM public.ai_responses r
  JOIN public.tickets t ON t.id = r.ticket_id
  LEFT JOIN fb ON fb.ai_response_id = r.id
 GROUP BY 1, 2, 3, 4, 5, 6
WITH DATA;
CREATE UNIQUE INDEX IF NOT EXISTS ai_effectiveness_key_idx ON public.ai_effectiveness
    (day, team_id, category, model, prompt_version, decision);
REVOKE ALL ON public.ai_effectiveness FROM anon, authenticated;
GRANT SELECT ON public.ai_effectiveness TO service_role;
CREATE OR REPLACE FUNCTION public.ai_effectiveness_for_staff(since date)
    RETURNS SETOF public.ai_effectiveness
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF NOT public.is_staff() AND auth.role() IS DISTINCT FROM 'service_role' THEN
        RAISE EXCEPTION 'staff only' USING ERRCODE = '42501';
    END IF;
    RETURN QUERY SELECT * FROM public.ai_effectiveness WHERE day >= since ORDER BY day, team_id;
END $$;
GRANT EXECUTE ON FUNCTION public.ai_effectiveness_for_staff(date) TO authenticated, service_role;
DROP INDEX IF EXISTS public.ai_feedback_created_at_idx;
ALTER TABLE public.kb_article_feedback DROP COLUMN IF EXISTS event_key;
ALTER TABLE public.ai_feedback DROP COLUMN IF EXISTS semantic_similarity;
ALTER TABLE public.ai_responses DROP COLUMN IF EXISTS scored_at, DROP COLUMN IF EXISTS score_version,
    DROP COLUMN IF EXISTS score;
