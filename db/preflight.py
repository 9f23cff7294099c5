"""What migrating needs from the server, checked before the first pending migration runs.

On a managed server (Supabase, RDS, Cloud SQL…) the application role is no superuser: it cannot
create an untrusted extension (pgvector), create roles or give one BYPASSRLS. An administrator does
that once (docs/postgres.md). This check names every missing piece at once, with the SQL the
administrator must run, instead of a migration failing halfway on the first one. A superuser passes
it whenever the extensions are installable: the migrations create the rest themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from autocrm.db.errors import MigrationError, ServerSetupRequired

MIN_SERVER_VERSION = 150000  # PostgreSQL 15
EXTENSIONS = ("vector", "pg_trgm")
API_ROLES = ("anon", "authenticated", "service_role")
DOCS = "docs/postgres.md"

SERVER = """
SELECT current_user AS role, current_database() AS database,
       current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       r.rolsuper AS superuser,
       has_database_privilege(current_database(), 'CREATE') AS create_on_database,
       (SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n
         WHERE n.nspname = 'public') AS create_on_public,
       (SELECT has_schema_privilege(n.oid, 'USAGE') FROM pg_namespace n
         WHERE n.nspname = 'auth') AS auth_usage,
       (SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n
         WHERE n.nspname = 'auth') AS auth_create,
       (SELECT pg_has_role(n.nspowner, 'USAGE') FROM pg_namespace n
         WHERE n.nspname = 'auth') AS auth_mine,
       (SELECT string_agg(api.rolname, ', ' ORDER BY api.rolname)
          FROM pg_roles api, pg_namespace n
         WHERE n.nspname = 'auth' AND api.rolname IN ('anon', 'authenticated', 'service_role')
           AND NOT has_schema_privilege(api.oid, n.oid, 'USAGE')) AS auth_unusable_by,
       -- From the catalog: to_regprocedure() needs USAGE on the schema.
       3 - (SELECT count(DISTINCT p.proname) FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'auth' AND p.pronargs = 0
               AND p.proname IN ('uid', 'jwt', 'role')) AS auth_missing_functions
  FROM pg_roles r WHERE r.rolname = current_user
"""

EXTENSION = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = %(name)s) AS installed,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = %(name)s) AS available
"""

# SET ROLE needs the membership's SET option from PostgreSQL 16 on ('SET' is unknown to 15).
API_ROLE = """
SELECT r.rolname AS name, r.rolbypassrls AS bypassrls,
       pg_has_role(current_user, r.oid, %(membership)s) AS can_set
  FROM pg_roles r WHERE r.rolname = %(name)s
"""


@dataclass
class Findings:
    """Problems in words, and the administrator's SQL that fixes them (per database or server)."""

    problems: list[str] = field(default_factory=list)
    in_database: list[str] = field(default_factory=list)
    on_server: list[str] = field(default_factory=list)


def check_server(conn: psycopg.Connection) -> None:
    """Raise ServerSetupRequired naming everything the current role lacks to migrate and run."""
    try:
        server = conn.execute(SERVER).fetchone()
    except psycopg.Error as exc:
        raise MigrationError(f"cannot check what the server offers this role: {exc}") from exc
    found = Findings()
    if server["version_num"] < MIN_SERVER_VERSION:
        found.problems.append(f"PostgreSQL {server['version']} is too old: 15 or later is needed")
    for name in EXTENSIONS:
        _check_extension(conn, name, server, found)
    if not server["superuser"]:  # a superuser's migration creates the roles and grants itself
        _check_api_roles(conn, server, found)
        _check_schemas(server, found)
    if found.problems:
        raise ServerSetupRequired(_message(server, found))


def _check_extension(conn: psycopg.Connection, name: str, server: dict, found: Findings) -> None:
    row = conn.execute(EXTENSION, {"name": name}).fetchone()
    if row["installed"]:
        return
    create = f"CREATE EXTENSION IF NOT EXISTS {name};"
    if not row["available"]:
        found.problems.append(f"the server has no {name} extension to install{_how(name, server)}")
        found.in_database.append(create)
        return
    # Whether this role may create it depends on the extension (pg_trgm is trusted: any role with
    # CREATE on the database; vector is not) and on the provider (Supabase and RDS let their admin
    # role create vector): try, and undo.
    try:
        with conn.transaction():
            conn.execute(create)
            raise psycopg.Rollback
    except psycopg.Error as exc:
        reason = exc.diag.message_primary or str(exc)
        found.problems.append(
            f"the extension {name} is not installed, and {server['role']} may not create it "
            f"({reason})"
        )
        found.in_database.append(create)


def _how(name: str, server: dict) -> str:
    if name != "vector":
        return " (it ships with PostgreSQL: install the server's contrib package)"
    major = server["version_num"] // 10000
    return (
        f" (install pgvector on the server, e.g. apt-get install postgresql-{major}-pgvector; "
        "on a managed service, enable the vector extension)"
    )


def _check_api_roles(conn: psycopg.Connection, server: dict, found: Findings) -> None:
    membership = "SET" if server["version_num"] >= 160000 else "MEMBER"
    role = server["role"]
    missing, not_granted = [], []
    for name in API_ROLES:
        row = conn.execute(API_ROLE, {"name": name, "membership": membership}).fetchone()
        if row is None:
            missing.append(name)
            continue
        if not row["can_set"]:
            not_granted.append(name)
        if name == "service_role" and not row["bypassrls"]:
            found.problems.append(
                "role service_role does not bypass row-level security (the service key would see "
                "no rows); only a superuser (or, from PostgreSQL 16, a CREATEROLE role that has "
                "BYPASSRLS itself) can give it that"
            )
            found.on_server.append("ALTER ROLE service_role BYPASSRLS;")
    if missing:
        found.problems.append(
            f"the API role(s) {', '.join(missing)} do not exist and {role} may not create them"
        )
        for name in missing:
            extra = " BYPASSRLS" if name == "service_role" else ""
            found.on_server.append(f"CREATE ROLE {name} NOLOGIN NOINHERIT{extra};")
    if missing or not_granted:
        names = ", ".join(n for n in API_ROLES if n in missing or n in not_granted)
        found.problems.append(
            f"{role} cannot SET ROLE to {names} (each request runs as one of them)"
        )
        found.on_server.append(f"GRANT {names} TO {_ident(role)};")


def _check_schemas(server: dict, found: Findings) -> None:
    role, database = server["role"], server["database"]
    if not server["create_on_public"]:
        found.problems.append(f"{role} may not create objects in schema public")
        found.in_database.append(f"ALTER SCHEMA public OWNER TO {_ident(role)};")
    # The first migration runs CREATE SCHEMA IF NOT EXISTS auth, whose privilege check comes
    # before the existence check: CREATE on the database is needed even where auth exists.
    if not server["create_on_database"]:
        found.problems.append(f"{role} may not create schemas in database {database}")
        found.on_server.append(f"GRANT CREATE ON DATABASE {_ident(database)} TO {_ident(role)};")
    if server["auth_usage"] is None or server["auth_mine"]:
        return  # no auth schema yet (the migration creates its shim), or ours
    # Someone else's auth schema (Supabase's): its functions are used, not replaced.
    if not server["auth_usage"]:
        found.problems.append(f"{role} has no USAGE on the existing schema auth")
        found.in_database.append(f"GRANT USAGE ON SCHEMA auth TO {_ident(role)};")
    if server["auth_unusable_by"]:
        found.problems.append(
            f"{server['auth_unusable_by']} have no USAGE on the existing schema auth (the "
            "row-level security policies call auth.uid() as them)"
        )
        found.in_database.append(f"GRANT USAGE ON SCHEMA auth TO {server['auth_unusable_by']};")
    if server["auth_missing_functions"] and not server["auth_create"]:
        found.problems.append(
            "the existing schema auth lacks uid(), jwt() or role(), and "
            f"{role} may not create them there"
        )
        found.in_database.append(f"GRANT CREATE ON SCHEMA auth TO {_ident(role)};")


def _ident(name: str) -> str:
    return sql.Identifier(name).as_string()


def _message(server: dict, found: Findings) -> str:
    who = f"role {server['role']}" + ("" if server["superuser"] else " (not a superuser)")
    lines = [f"database {server['database']} is not ready for {who} to migrate:"]
    lines += [f"  - {problem}" for problem in found.problems]
    if found.on_server or found.in_database:
        lines.append(
            "an administrator (a superuser, or the provider's admin role) must run, "
            f"in database {server['database']}:"
        )
        lines += [f"    {statement}" for statement in found.on_server + found.in_database]
    lines.append(f"then run `autocrm db migrate` again (see {DOCS})")
    return "\n".join(lines)
