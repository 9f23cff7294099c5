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
