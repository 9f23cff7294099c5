-- 06_ai_components.sql — AI responses and their feedback, learning data, evals, and the views that
-- report on them.

SELECT public.ensure_enum('ai_response_kind', ARRAY['suggestion', 'auto_reply', 'triage']);
SELECT public.ensure_enum('ai_decision', ARRAY['sent', 'drafted', 'escalated']);
SELECT public.ensure_enum('handoff_reason', ARRAY['missing_knowledge', 'human_requested',
    'unsupported_request', 'policy_restriction', 'needs_clarification', 'model_failure']);
SELECT public.ensure_enum('feedback_source', ARRAY['agent', 'customer', 'system']);
SELECT public.ensure_enum('feedback_action', ARRAY['accepted', 'edited', 'rejected']);

-- One row per pipeline call: enough to reproduce and audit it (query, what was retrieved with which
-- scores, model, prompt version and the exact settings).
CREATE TABLE IF NOT EXISTS public.ai_responses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ticket_id       uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
    message_id      uuid REFERENCES public.conversations (id) ON DELETE SET NULL,
    kind            ai_response_kind NOT NULL,
    query           text NOT NULL DEFAULT '',
    -- [{"chunk_id": 1, "article_id": "…", "score": 0.8, "dense": 0.7, "bm25": 12.1, "rank": 1}]
    retrieved       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(retrieved) = 'array'),
    cited           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(cited) = 'array'),
    draft           text,
    model           text NOT NULL,
    prompt_version  text NOT NULL,
    settings        jsonb NOT NULL DEFAULT '{}',
    confidence      real CHECK (confidence BETWEEN 0 AND 1),
    decision        ai_decision NOT NULL,
    handoff_reason  handoff_reason,
    latency_ms      jsonb NOT NULL DEFAULT '{}',       -- {"query": 1.2, "retrieve": 8.1, "draft": 20, "total": 31}
    token_usage     jsonb NOT NULL DEFAULT '{}',       -- {"prompt": 812, "completion": 140}
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- why a reply confident enough to auto-send is a draft: a reply-level gate ('follow-up',
    -- 'reply evidence') or the auto-send policy ('auto-send: outside_business_hours', …)
    held_back       text CHECK (held_back IS NULL OR decision = 'drafted'),
    CHECK (decision <> 'escalated' OR handoff_reason IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS ai_responses_ticket_idx ON public.ai_responses (ticket_id, created_at);
CREATE INDEX IF NOT EXISTS ai_responses_message_idx ON public.ai_responses (message_id);
CREATE INDEX IF NOT EXISTS ai_responses_created_at_idx ON public.ai_responses (created_at);
-- Exactly one auto-response per ticket, whatever the number of workers or duplicated events.
CREATE UNIQUE INDEX IF NOT EXISTS ai_responses_one_auto_reply_idx ON public.ai_responses (ticket_id)
    WHERE kind = 'auto_reply';

CREATE TABLE IF NOT EXISTS public.ai_feedback (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ai_response_id      uuid NOT NULL REFERENCES public.ai_responses (id) ON DELETE CASCADE,
    source              feedback_source NOT NULL,
    action              feedback_action,
    -- implicit and customer signals: helped, needs_human, csat, reopened, replied_again, deflected,
    -- first_response
    signal              text CHECK (signal ~ '^[a-z_]+$'),
    rating              smallint CHECK (rating BETWEEN 1 AND 5),
    final_text          text,
    similarity_score    real CHECK (similarity_score BETWEEN 0 AND 1),
    reason              text CHECK (reason IN ('incorrect', 'incomplete', 'outdated', 'irrelevant',
                                               'too_generic', 'wrong_tone', 'unsafe')),
    comment             text CHECK (length(comment) <= 5000),
    time_to_decision_s  real,
    value               real,
    -- Idempotency key: the same event (a retried request, a re-run of the signal job) lands once.
    event_key           text UNIQUE,
    created_by          uuid REFERENCES public.users (id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (action IS NOT NULL OR signal IS NOT NULL),
    CHECK (action IS DISTINCT FROM 'edited' OR final_text IS NOT NULL),
    CHECK (action IS DISTINCT FROM 'rejected' OR reason IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS ai_feedback_response_idx ON public.ai_feedback (ai_response_id);
CREATE INDEX IF NOT EXISTS ai_feedback_created_by_idx ON public.ai_feedback (created_by);

CREATE TABLE IF NOT EXISTS public.learning_examples (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ai_response_id  uuid REFERENCES public.ai_responses (id) ON DELETE SET NULL,
    ticket_id       uuid REFERENCES public.tickets (id) ON DELETE SET NULL,
    thread          jsonb NOT NULL DEFAULT '[]',
    contexts        jsonb NOT NULL DEFAULT '[]',
    draft           text,
    final_text      text,
    score           real,
    redacted        boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS learning_examples_response_idx ON public.learning_examples (ai_response_id);
CREATE INDEX IF NOT EXISTS learning_examples_ticket_idx ON public.learning_examples (ticket_id);

CREATE TABLE IF NOT EXISTS public.eval_runs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    dataset      text NOT NULL,
    split        text NOT NULL DEFAULT 'dev',
    git_commit   text,
    settings     jsonb NOT NULL DEFAULT '{}',
    metrics      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE TABLE IF NOT EXISTS public.eval_results (
    run_id       uuid NOT NULL REFERENCES public.eval_runs (id) ON DELETE CASCADE,
    question_id  text NOT NULL,
    question     text NOT NULL,
    answer       text,
    retrieved    jsonb NOT NULL DEFAULT '[]',
    metrics      jsonb NOT NULL DEFAULT '{}',
    latency_ms   jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, question_id)
);

ALTER TABLE public.ai_responses ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ai_feedback ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.learning_examples ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.eval_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.eval_results ENABLE ROW LEVEL SECURITY;

-- Staff see the AI responses of tickets they can see, and store suggestions on them.
DROP POLICY IF EXISTS ai_responses_staff_select ON public.ai_responses;
CREATE POLICY ai_responses_staff_select ON public.ai_responses FOR SELECT TO authenticated
    USING ((SELECT public.is_staff()) AND ticket_id IN (SELECT id FROM public.tickets));
DROP POLICY IF EXISTS ai_responses_staff_insert ON public.ai_responses;
CREATE POLICY ai_responses_staff_insert ON public.ai_responses FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff()) AND kind = 'suggestion'
                AND ticket_id IN (SELECT id FROM public.tickets));

-- Staff link a response they can see to the message it was sent as; nothing else of a stored
-- response changes (its draft, scores and decision are the record of what the AI did).
DROP POLICY IF EXISTS ai_responses_staff_update ON public.ai_responses;
CREATE POLICY ai_responses_staff_update ON public.ai_responses FOR UPDATE TO authenticated
    USING ((SELECT public.is_staff()) AND ticket_id IN (SELECT id FROM public.tickets))
    WITH CHECK ((SELECT public.is_staff()) AND ticket_id IN (SELECT id FROM public.tickets));
CREATE OR REPLACE FUNCTION public.ai_responses_only_link() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
DECLARE
    link uuid := NEW.message_id;
BEGIN
    IF current_user = 'authenticated' THEN  -- a user's session: everything else stays as stored
        NEW := OLD;
        NEW.message_id := link;
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS ai_responses_only_link ON public.ai_responses;
CREATE TRIGGER ai_responses_only_link BEFORE UPDATE ON public.ai_responses
    FOR EACH ROW EXECUTE FUNCTION public.ai_responses_only_link();

-- Feedback: staff on responses they can see; customers rate the public AI replies on their tickets.
DROP POLICY IF EXISTS ai_feedback_staff ON public.ai_feedback;
CREATE POLICY ai_feedback_staff ON public.ai_feedback FOR ALL TO authenticated
    USING ((SELECT public.is_staff()) AND ai_response_id IN (SELECT id FROM public.ai_responses))
    WITH CHECK ((SELECT public.is_staff()) AND ai_response_id IN (SELECT id FROM public.ai_responses));
DROP POLICY IF EXISTS ai_feedback_customer_insert ON public.ai_feedback;
CREATE POLICY ai_feedback_customer_insert ON public.ai_feedback FOR INSERT TO authenticated
    WITH CHECK (source = 'customer' AND created_by = (SELECT auth.uid())
                AND ai_response_id IN (
                    SELECT r.id FROM public.ai_responses r
                      JOIN public.conversations m ON m.id = r.message_id AND NOT m.is_internal
                      JOIN public.tickets t ON t.id = r.ticket_id
                     WHERE t.customer_id = (SELECT auth.uid())));

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['learning_examples', 'eval_runs', 'eval_results'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_admin_all', t);
        EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO authenticated '
                       'USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()))',
                       t || '_admin_all', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON public.ai_responses, public.ai_feedback,
    public.learning_examples, public.eval_runs, public.eval_results TO authenticated, service_role;

-- Views ------------------------------------------------------------------------------------------

-- security_invoker: the view runs with the caller's RLS, so it never widens what anyone can see.
CREATE OR REPLACE VIEW public.ticket_overview WITH (security_invoker = true) AS
SELECT t.id, t.number, t.subject, t.status, t.priority, t.channel, t.category, t.tags,
       t.customer_id, cu.full_name AS customer_name, t.assignee_id, ag.full_name AS assignee_name,
       t.team_id, tm.name AS team_name, t.created_at, t.updated_at,
       t.first_response_due_at, t.first_response_at, t.resolution_due_at, t.resolved_at,
       (t.first_response_at IS NULL AND t.first_response_due_at < now())
           OR t.first_response_at > t.first_response_due_at AS first_response_breached,
       (SELECT count(*) FROM public.conversations c WHERE c.ticket_id = t.id) AS message_count,
       (SELECT max(c.created_at) FROM public.conversations c WHERE c.ticket_id = t.id) AS last_message_at
  FROM public.tickets t
  JOIN public.users cu ON cu.id = t.customer_id
  LEFT JOIN public.users ag ON ag.id = t.assignee_id
  LEFT JOIN public.teams tm ON tm.id = t.team_id;

GRANT SELECT ON public.ticket_overview TO authenticated, service_role;

-- Materialized views cannot carry RLS, so they are readable by service_role only; staff read them
-- through the SECURITY DEFINER functions below, which check the caller's role.
CREATE MATERIALIZED VIEW IF NOT EXISTS public.team_performance AS
SELECT tm.id AS team_id, tm.name AS team_name,
       count(t.id) AS tickets,
       count(t.id) FILTER (WHERE t.status IN ('new', 'open', 'pending', 'on_hold')) AS open_tickets,
       count(t.id) FILTER (WHERE t.status IN ('solved', 'closed')) AS solved_tickets,
       avg(extract(epoch FROM t.first_response_at - t.created_at) / 60)
           FILTER (WHERE t.first_response_at IS NOT NULL) AS avg_first_response_minutes,
       avg((t.first_response_at > t.first_response_due_at)::int)
           FILTER (WHERE t.first_response_at IS NOT NULL) AS first_response_breach_rate,
       avg(t.reopened_count) AS avg_reopens
  FROM public.teams tm
  LEFT JOIN public.tickets t ON t.team_id = tm.id
 GROUP BY tm.id, tm.name
WITH DATA;
CREATE UNIQUE INDEX IF NOT EXISTS team_performance_team_idx ON public.team_performance (team_id);

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

REVOKE ALL ON public.team_performance, public.ai_effectiveness FROM anon, authenticated;
GRANT SELECT ON public.team_performance, public.ai_effectiveness TO service_role;

CREATE OR REPLACE FUNCTION public.refresh_ai_views() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY public.team_performance;
    REFRESH MATERIALIZED VIEW CONCURRENTLY public.ai_effectiveness;
END $$;
REVOKE ALL ON FUNCTION public.refresh_ai_views() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_ai_views() TO service_role;

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

-- Feedback loop (migration 20261125230000_feedback_loop) ------------------------------------------

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
