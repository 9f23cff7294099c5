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
