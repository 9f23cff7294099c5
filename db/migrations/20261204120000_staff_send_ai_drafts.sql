-- The agent workspace (issue 15): an agent sends an AI draft as the customer-facing reply, as the
-- agent, under the same row-level security as everything else (no service-role step in the
-- application). Mirrored in db/schema/04_conversations.sql and db/schema/06_ai_components.sql.
-- migrate:up
-- A public AI message may come from the service role (the auto-responder) or from the signed-in
-- agent who sends it (authored by them), on a ticket they can see.
DROP POLICY IF EXISTS conversations_staff_insert ON public.conversations;
CREATE POLICY conversations_staff_insert ON public.conversations FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff())
                AND message_type IN ('agent', 'ai', 'system')
                AND (message_type <> 'ai' OR is_internal OR author_id = (SELECT auth.uid()))
                AND ticket_id IN (SELECT id FROM public.tickets));

-- Staff link a response they can see to the message it was sent as; nothing else of a response
-- changes after it is stored (its draft, scores and decision are the record of what the AI did).
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

-- migrate:down
DROP TRIGGER IF EXISTS ai_responses_only_link ON public.ai_responses;
DROP FUNCTION IF EXISTS public.ai_responses_only_link();
DROP POLICY IF EXISTS ai_responses_staff_update ON public.ai_responses;
DROP POLICY IF EXISTS conversations_staff_insert ON public.conversations;
CREATE POLICY conversations_staff_insert ON public.conversations FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff())
                AND message_type IN ('agent', 'ai', 'system')
                AND (message_type <> 'ai' OR is_internal)
                AND ticket_id IN (SELECT id FROM public.tickets));
