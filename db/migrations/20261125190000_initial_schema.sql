-- Initial schema: the content of db/schema/00…06 at the time of writing.
-- tests/db/test_migrations.py proves this migration and the schema files build the same catalog.
-- migrate:up
-- ===== from db/schema/00_extensions.sql =====
-- 00_extensions.sql — extensions, the Supabase-compatible auth shim, shared helpers.
--
-- Every statement is idempotent: the same files run on an empty embedded PostgreSQL, on a plain
-- Debian/RDS server with pgvector, and on Supabase (where the auth schema and roles already exist and
-- are left untouched).

CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- pg_stat_statements is optional: managed servers may not offer it, and it is only for query analysis.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    END IF;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_stat_statements not installed: %', SQLERRM;
END $$;

-- The three Supabase API roles. Roles are cluster-wide, so two databases being created at once may
-- race here: duplicate_object means the other one won, which is fine.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
    -- service_role bypasses RLS, as on Supabase. Only a superuser may grant that attribute.
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE service_role BYPASSRLS;
    END IF;
END $$;

-- auth shim: schema auth with uid()/jwt()/role() reading the per-transaction JWT claims, exactly the
-- contract PostgREST/Supabase use. Created only where missing so Supabase's own stay in charge.
CREATE SCHEMA IF NOT EXISTS auth;

DO $$
BEGIN
    IF to_regprocedure('auth.jwt()') IS NULL THEN
        CREATE FUNCTION auth.jwt() RETURNS jsonb
            LANGUAGE sql STABLE
            AS $f$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
    END IF;
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid
            LANGUAGE sql STABLE
            AS $f$ SELECT nullif(auth.jwt() ->> 'sub', '')::uuid $f$;
    END IF;
    IF to_regprocedure('auth.role()') IS NULL THEN
        CREATE FUNCTION auth.role() RETURNS text
            LANGUAGE sql STABLE
            AS $f$ SELECT coalesce(auth.jwt() ->> 'role', current_user::text) $f$;
    END IF;
END $$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

-- Shared trigger: keep updated_at honest without trusting clients.
CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- Creates an enum only when missing (CREATE TYPE has no IF NOT EXISTS).
CREATE OR REPLACE FUNCTION public.ensure_enum(type_name text, labels text[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF to_regtype(type_name) IS NULL THEN
        EXECUTE format('CREATE TYPE %I AS ENUM (%s)', type_name,
                       (SELECT string_agg(quote_literal(l), ', ') FROM unnest(labels) AS l));
    END IF;
END $$;

-- ===== from db/schema/01_users.sql =====
-- 01_users.sql — people: customers, agents and admins.
--
-- On Supabase, users.id equals auth.users.id (the JWT "sub"); elsewhere the API mints tokens itself.
-- The app role lives here, in the database, not in the token: RLS helpers read it from this table so a
-- stale or hand-edited token cannot raise its own privileges.

SELECT public.ensure_enum('user_role', ARRAY['customer', 'agent', 'admin']);
SELECT public.ensure_enum('user_status', ARRAY['active', 'away', 'offline', 'disabled']);

CREATE TABLE IF NOT EXISTS public.users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL UNIQUE CHECK (position('@' IN email) > 1),
    full_name     text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    role          user_role NOT NULL DEFAULT 'customer',
    status        user_status NOT NULL DEFAULT 'active',
    organization  text,
    timezone      text NOT NULL DEFAULT 'UTC',
    preferences   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(preferences) = 'object'),
    metadata      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    last_seen_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS users_role_idx ON public.users (role);

CREATE OR REPLACE TRIGGER users_set_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- RLS helpers. SECURITY DEFINER so policies on other tables can ask "who is calling?" without
-- recursing into users' own policies; STABLE + wrapped in (select …) in policies so each is
-- evaluated once per statement, not once per row.
CREATE OR REPLACE FUNCTION public.app_role() RETURNS user_role
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT role FROM public.users WHERE id = auth.uid() AND status <> 'disabled' $$;

CREATE OR REPLACE FUNCTION public.is_staff() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT coalesce(public.app_role() IN ('agent', 'admin'), false) $$;

CREATE OR REPLACE FUNCTION public.is_admin() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT coalesce(public.app_role() = 'admin', false) $$;

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS users_select ON public.users;
CREATE POLICY users_select ON public.users FOR SELECT TO authenticated
    USING (id = (SELECT auth.uid()) OR (SELECT public.is_staff()));

-- Anyone may edit their own profile but not their role (the check sees the role before the update).
DROP POLICY IF EXISTS users_update_self ON public.users;
CREATE POLICY users_update_self ON public.users FOR UPDATE TO authenticated
    USING (id = (SELECT auth.uid()))
    WITH CHECK (id = (SELECT auth.uid()) AND role = (SELECT public.app_role()));

DROP POLICY IF EXISTS users_admin_all ON public.users;
CREATE POLICY users_admin_all ON public.users FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

GRANT SELECT, INSERT, UPDATE, DELETE ON public.users TO authenticated, service_role;

-- ===== from db/schema/02_teams.sql =====
-- 02_teams.sql — teams, membership, skills and routing rules.

CREATE TABLE IF NOT EXISTS public.teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    description text,
    email       text,
    is_active   boolean NOT NULL DEFAULT true,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.team_members (
    team_id    uuid NOT NULL REFERENCES public.teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    is_lead    boolean NOT NULL DEFAULT false,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX IF NOT EXISTS team_members_user_idx ON public.team_members (user_id);

CREATE TABLE IF NOT EXISTS public.skills (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    description text
);

CREATE TABLE IF NOT EXISTS public.team_skills (
    team_id  uuid NOT NULL REFERENCES public.teams (id) ON DELETE CASCADE,
    skill_id uuid NOT NULL REFERENCES public.skills (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, skill_id)
);
CREATE INDEX IF NOT EXISTS team_skills_skill_idx ON public.team_skills (skill_id);

CREATE TABLE IF NOT EXISTS public.agent_skills (
    user_id     uuid NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    skill_id    uuid NOT NULL REFERENCES public.skills (id) ON DELETE CASCADE,
    proficiency smallint NOT NULL DEFAULT 3 CHECK (proficiency BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, skill_id)
);
CREATE INDEX IF NOT EXISTS agent_skills_skill_idx ON public.agent_skills (skill_id);

-- Routing rules are tried in ascending position; the first whose conditions all match wins.
-- conditions: {"category": [...], "priority": [...], "tags_any": [...], "language": [...]};
-- a missing key matches everything.
CREATE TABLE IF NOT EXISTS public.routing_rules (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    position    integer NOT NULL,
    conditions  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(conditions) = 'object'),
    team_id     uuid NOT NULL REFERENCES public.teams (id) ON DELETE CASCADE,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (position)
);
CREATE INDEX IF NOT EXISTS routing_rules_team_idx ON public.routing_rules (team_id);

CREATE OR REPLACE TRIGGER teams_set_updated_at BEFORE UPDATE ON public.teams
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE OR REPLACE TRIGGER routing_rules_set_updated_at BEFORE UPDATE ON public.routing_rules
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- The caller's teams, for ticket policies (SECURITY DEFINER: no recursion into team_members' RLS).
CREATE OR REPLACE FUNCTION public.my_team_ids() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT team_id FROM public.team_members WHERE user_id = auth.uid() $$;

ALTER TABLE public.teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.team_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.skills ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.team_skills ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.agent_skills ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.routing_rules ENABLE ROW LEVEL SECURITY;

-- Staff read the org chart; only admins change it. Customers see none of it.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['teams', 'team_members', 'skills', 'team_skills', 'agent_skills',
                             'routing_rules'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_staff_read', t);
        EXECUTE format('CREATE POLICY %I ON public.%I FOR SELECT TO authenticated '
                       'USING ((SELECT public.is_staff()))', t || '_staff_read', t);
        EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_admin_all', t);
        EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO authenticated '
                       'USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()))',
                       t || '_admin_all', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON public.%I TO authenticated, service_role', t);
    END LOOP;
END $$;

-- ===== from db/schema/03_tickets.sql =====
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
-- moving a solved/closed ticket back to an active state counts as a reopen.
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

-- ===== from db/schema/04_conversations.sql =====
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

-- Agents write replies, notes and (internal) AI drafts; public AI replies come from the service role.
DROP POLICY IF EXISTS conversations_staff_insert ON public.conversations;
CREATE POLICY conversations_staff_insert ON public.conversations FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.is_staff())
                AND message_type IN ('agent', 'ai', 'system')
                AND (message_type <> 'ai' OR is_internal)
                AND ticket_id IN (SELECT id FROM public.tickets));

DROP POLICY IF EXISTS conversations_admin_all ON public.conversations;
CREATE POLICY conversations_admin_all ON public.conversations FOR ALL TO authenticated
    USING ((SELECT public.is_admin())) WITH CHECK ((SELECT public.is_admin()));

GRANT SELECT, INSERT, UPDATE, DELETE ON public.conversations TO authenticated, service_role;

-- ===== from db/schema/05_knowledge_base.sql =====
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
CREATE INDEX IF NOT EXISTS kb_chunks_embedding_hnsw_idx ON public.kb_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
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
     ORDER BY c.embedding <=> query_embedding
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

-- ===== from db/schema/06_ai_components.sql =====
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

-- migrate:down
DROP FUNCTION IF EXISTS public.ai_effectiveness_for_staff(date);
DROP FUNCTION IF EXISTS public.refresh_ai_views();
DROP MATERIALIZED VIEW IF EXISTS public.ai_effectiveness;
DROP MATERIALIZED VIEW IF EXISTS public.team_performance;
DROP VIEW IF EXISTS public.ticket_overview;
DROP TABLE IF EXISTS public.eval_results, public.eval_runs, public.learning_examples,
    public.ai_feedback, public.ai_responses CASCADE;
DROP FUNCTION IF EXISTS public.match_kb_chunks(vector, integer, real);
DROP TABLE IF EXISTS public.kb_article_feedback, public.kb_chunks, public.kb_article_versions,
    public.kb_articles, public.kb_categories CASCADE;
DROP TABLE IF EXISTS public.conversations CASCADE;
DROP TABLE IF EXISTS public.tickets, public.sla_policies CASCADE;
DROP TABLE IF EXISTS public.routing_rules, public.agent_skills, public.team_skills, public.skills,
    public.team_members, public.teams CASCADE;
DROP TABLE IF EXISTS public.users CASCADE;
DROP FUNCTION IF EXISTS public.kb_articles_publish_stamp(), public.conversations_after_insert(),
    public.notify_ticket_created(), public.tickets_lifecycle(), public.my_team_ids(),
    public.is_admin(), public.is_staff(), public.app_role(), public.ensure_enum(text, text[]),
    public.set_updated_at();
DROP TYPE IF EXISTS feedback_action, feedback_source, handoff_reason, ai_decision, ai_response_kind,
    article_visibility, article_status, message_type, ticket_channel, ticket_priority, ticket_status,
    user_status, user_role;
-- Extensions, the auth shim and the API roles are left in place: they are shared with whatever else
-- lives on the server (on Supabase they are not ours to drop).
