-- Hardening (issue 14): a reopen counts once per answer, not once per status flip. Mirrored in
-- db/schema/03_tickets.sql (tickets.last_reopened_at, tickets_lifecycle).
-- migrate:up
-- reopened_count counts a reopen only when it is the ticket's first, or when an agent or the AI
-- has replied publicly since the last counted one: 20 solve/reopen toggles with no answer in
-- between are one reopen. last_reopened_at is when the last counted reopen happened.
ALTER TABLE public.tickets ADD COLUMN IF NOT EXISTS last_reopened_at timestamptz;
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
-- migrate:down
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
            NEW.reopened_count := OLD.reopened_count + 1;
            NEW.resolved_at := NULL;
            NEW.closed_at := NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;
ALTER TABLE public.tickets DROP COLUMN IF EXISTS last_reopened_at;
