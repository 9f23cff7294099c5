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
