-- 03_tickets.sql — tickets and SLA policies.

SELECT public.ensure_enum('ticket_status', ARRAY['new', 'open', 'pending', 'on_hold', 'solved', 'closed']);
SELECT public.ensure_enum('ticket_priority', ARRAY['low', 'normal', 'high', 'urgent']);
SELECT public.ensure_enum('ticket_channel', ARRAY['web', 'email', 'chat', 'phone', 'api']);

-- One policy per priority. Due times are computed by trigger from the ticket's priority, so they stay
-- right when triage or an agent changes the priority later.
CREATE TABLE IF NOT EXISTS public.sla_policies (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                    text NOT NULL UNIQUE,
    priority                ticket_priority NOT NULL UNIQUE,
    first_response_minutes  integer NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes      integer NOT NULL CHECK (resolution_minutes > 0),
    is_active               boolean NOT NULL DEFAULT true,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.tickets (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    subject                text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
    description            text NOT NULL DEFAULT '' CHECK (length(description) <= 100000),
    status                 ticket_status NOT NULL DEFAULT 'new',
    priority               ticket_priority NOT NULL DEFAULT 'normal',
    channel                ticket_channel NOT NULL DEFAULT 'web',
    customer_id            uuid NOT NULL REFERENCES public.users (id),
    assignee_id            uuid REFERENCES public.users (id) ON DELETE SET NULL,
    team_id                uuid REFERENCES public.teams (id) ON DELETE SET NULL,
    category               text,
    tags                   text[] NOT NULL DEFAULT '{}',
    language               text,
    -- Written by triage: {intent, category, sentiment, language, suggested_priority, confidence, model}.
    ai_analysis            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(ai_analysis) = 'object'),
    sla_policy_id          uuid REFERENCES public.sla_policies (id) ON DELETE SET NULL,
    first_response_due_at  timestamptz,
    first_response_at      timestamptz,
    resolution_due_at      timestamptz,
    resolved_at            timestamptz,
    closed_at              timestamptz,
    reopened_count         integer NOT NULL DEFAULT 0,
    metadata               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
-- When the last COUNTED reopen happened (see tickets_lifecycle; migration 20261127120000).
ALTER TABLE public.tickets ADD COLUMN IF NOT EXISTS last_reopened_at timestamptz;
CREATE INDEX IF NOT EXISTS tickets_customer_idx ON public.tickets (customer_id);
CREATE INDEX IF NOT EXISTS tickets_assignee_idx ON public.tickets (assignee_id);
CREATE INDEX IF NOT EXISTS tickets_team_idx ON public.tickets (team_id);
CREATE INDEX IF NOT EXISTS tickets_sla_policy_idx ON public.tickets (sla_policy_id);
CREATE INDEX IF NOT EXISTS tickets_status_idx ON public.tickets (status);
CREATE INDEX IF NOT EXISTS tickets_priority_idx ON public.tickets (priority);
CREATE INDEX IF NOT EXISTS tickets_created_at_idx ON public.tickets (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS tickets_tags_idx ON public.tickets USING gin (tags);
CREATE INDEX IF NOT EXISTS tickets_subject_trgm_idx ON public.tickets USING gin (subject gin_trgm_ops);

CREATE OR REPLACE TRIGGER sla_policies_set_updated_at BEFORE UPDATE ON public.sla_policies
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE OR REPLACE TRIGGER tickets_set_updated_at BEFORE UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Lifecycle bookkeeping in one place: SLA due times follow the priority; solving stamps resolved_at;
-- moving a solved/closed ticket back to an active state is a reopen. A reopen COUNTS (reopened_count)
-- once per answer: the ticket's first reopen, or one after an agent or the AI has replied publicly
-- since the last counted reopen. Toggling solved/open again and again with no new answer in
-- between (whoever does it: the customer's status changes or messages, an agent) is the same
-- reopen: the customer is still waiting on the same answer, and the metric must not be inflated.
CREATE OR REPLACE FUNCTION public.tickets_lifecycle() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    p public.sla_policies;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.priority IS DISTINCT FROM OLD.priority THEN
        SELECT * INTO p FROM public.sla_policies WHERE priority = NEW.priority AND is_active;
        IF FOUND THEN
            NEW.sla_policy_id := p.id;
            NEW.first_response_due_at := NEW.created_at + make_interval(mins => p.first_response_minutes);
            NEW.resolution_due_at := NEW.created_at + make_interval(mins => p.resolution_minutes);
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'solved' THEN
            NEW.resolved_at := coalesce(NEW.resolved_at, now());
        ELSIF NEW.status = 'closed' THEN
            NEW.closed_at := coalesce(NEW.closed_at, now());
            NEW.resolved_at := coalesce(NEW.resolved_at, now());
        ELSIF OLD.status IN ('solved', 'closed') THEN
            IF OLD.last_reopened_at IS NULL OR EXISTS (
                SELECT 1 FROM public.conversations c
                 WHERE c.ticket_id = NEW.id AND c.message_type IN ('agent', 'ai')
                   AND NOT c.is_internal AND c.created_at > OLD.last_reopened_at) THEN
                NEW.reopened_count := OLD.reopened_count + 1;
                NEW.last_reopened_at := now();
            END IF;
            NEW.resolved_at := NULL;
            NEW.closed_at := NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER tickets_lifecycle
    BEFORE INSERT OR UPDATE ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.tickets_lifecycle();

-- Workers LISTEN on autocrm_events; the payload is small on purpose (ids only, never content).
CREATE OR REPLACE FUNCTION public.notify_ticket_created() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('autocrm_events',
        json_build_object('type', 'ticket.created', 'ticket_id', NEW.id)::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER tickets_notify_created
    AFTER INSERT ON public.tickets
    FOR EACH ROW EXECUTE FUNCTION public.notify_ticket_created();

ALTER TABLE public.tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.sla_policies ENABLE ROW LEVEL SECURITY;

-- Customers: their own tickets. Agents: their teams' tickets and tickets assigned to them.
DROP POLICY IF EXISTS tickets_customer_select ON public.tickets;
CREATE POLICY tickets_customer_select ON public.tickets FOR SELECT TO authenticated
    USING (customer_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS tickets_customer_insert ON public.tickets;
CREATE POLICY tickets_customer_insert ON public.tickets FOR INSERT TO authenticated
    WITH CHECK (customer_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS tickets_customer_update ON public.tickets;
CREATE POLICY tickets_customer_update ON public.tickets FOR UPDATE TO authenticated
    USING (customer_id = (SELECT auth.uid()))
    WITH CHECK (customer_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS tickets_agent_select ON public.tickets;
CREATE POLICY tickets_agent_select ON public.tickets FOR SELECT TO authenticated
    USING ((SELECT public.is_staff())
           AND (team_id IN (SELECT public.my_team_ids()) OR assignee_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS tickets_agent_insert ON public.tickets;
CREATE POLICY tickets_agent_insert ON public.tickets FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff()));

DROP POLICY IF EXISTS tickets_agent_update ON public.tickets;
CREATE POLICY tickets_agent_update ON public.tickets FOR UPDATE TO authenticated
    USING ((SELECT public.is_staff())
           AND (team_id IN (SELECT public.my_team_ids()) OR assignee_id = (SELECT auth.uid())))
    WITH CHECK ((SELECT public.is_staff()));

DROP POLICY IF EXISTS tickets_admin_all ON public.tickets;
CREATE POLICY tickets_admin_all ON public.tickets FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

DROP POLICY IF EXISTS sla_policies_read ON public.sla_policies;
CREATE POLICY sla_policies_read ON public.sla_policies FOR SELECT TO authenticated
    USING ((SELECT public.is_staff()));

DROP POLICY IF EXISTS sla_policies_admin_all ON public.sla_policies;
CREATE POLICY sla_policies_admin_all ON public.sla_policies FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

GRANT SELECT, INSERT, UPDATE, DELETE ON public.tickets, public.sla_policies TO authenticated, service_role;
