-- 04_conversations.sql — the thread of a ticket: customer, agent, AI and system messages.

SELECT public.ensure_enum('message_type', ARRAY['customer', 'agent', 'ai', 'system']);

CREATE TABLE IF NOT EXISTS public.conversations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ticket_id     uuid NOT NULL REFERENCES public.tickets (id) ON DELETE CASCADE,
    author_id     uuid REFERENCES public.users (id) ON DELETE SET NULL,
    message_type  message_type NOT NULL,
    -- Internal messages (agent notes, AI drafts) are never shown to customers.
    is_internal   boolean NOT NULL DEFAULT false,
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 100000),
    metadata      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT (message_type = 'customer' AND is_internal))
);
CREATE INDEX IF NOT EXISTS conversations_ticket_idx ON public.conversations (ticket_id, created_at, id);
CREATE INDEX IF NOT EXISTS conversations_author_idx ON public.conversations (author_id);

-- The first public reply by an agent or the AI is the ticket's first response (SLA). A customer's
-- message on a pending or solved ticket moves it back to open (for a solved one, a reopen).
CREATE OR REPLACE FUNCTION public.conversations_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF NEW.message_type IN ('agent', 'ai') AND NOT NEW.is_internal THEN
        UPDATE public.tickets
           SET first_response_at = NEW.created_at
         WHERE id = NEW.ticket_id AND first_response_at IS NULL;
    END IF;
    IF NEW.message_type = 'customer' THEN
        UPDATE public.tickets SET status = 'open'
         WHERE id = NEW.ticket_id AND status IN ('pending', 'solved');
    END IF;
    PERFORM pg_notify('autocrm_events',
        json_build_object('type', 'message.created', 'ticket_id', NEW.ticket_id,
                          'message_id', NEW.id, 'message_type', NEW.message_type,
                          'internal', NEW.is_internal)::text);
    RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER conversations_after_insert
    AFTER INSERT ON public.conversations
    FOR EACH ROW EXECUTE FUNCTION public.conversations_after_insert();

ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;

-- Visibility of a message follows the visibility of its ticket (the tickets policies decide), and
-- customers additionally never see internal messages.
DROP POLICY IF EXISTS conversations_customer_select ON public.conversations;
CREATE POLICY conversations_customer_select ON public.conversations FOR SELECT TO authenticated
    USING (NOT is_internal AND ticket_id IN (SELECT id FROM public.tickets)
           AND NOT (SELECT public.is_staff()));

DROP POLICY IF EXISTS conversations_customer_insert ON public.conversations;
CREATE POLICY conversations_customer_insert ON public.conversations FOR INSERT TO authenticated
    WITH CHECK (message_type = 'customer' AND NOT is_internal AND author_id = (SELECT auth.uid())
                AND ticket_id IN (SELECT id FROM public.tickets WHERE customer_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS conversations_staff_select ON public.conversations;
CREATE POLICY conversations_staff_select ON public.conversations FOR SELECT TO authenticated
    USING ((SELECT public.is_staff()) AND ticket_id IN (SELECT id FROM public.tickets));

-- Agents write replies, notes and (internal) AI drafts; a public AI reply comes from the service
-- role (the auto-responder) or from the signed-in agent who sends an AI draft, authored by them.
DROP POLICY IF EXISTS conversations_staff_insert ON public.conversations;
CREATE POLICY conversations_staff_insert ON public.conversations FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff())
                AND message_type IN ('agent', 'ai', 'system')
                AND (message_type <> 'ai' OR is_internal OR author_id = (SELECT auth.uid()))
                AND ticket_id IN (SELECT id FROM public.tickets));

DROP POLICY IF EXISTS conversations_admin_all ON public.conversations;
CREATE POLICY conversations_admin_all ON public.conversations FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

GRANT SELECT, INSERT, UPDATE, DELETE ON public.conversations TO authenticated, service_role;
