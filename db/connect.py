"""Connections: resolve the server (embedded or configured), open connections and pools."""

from __future__ import annotations

import contextlib

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from autocrm.core.settings import Settings
from autocrm.db.errors import DatabaseUnavailable, MissingExtension
from autocrm.db.server import APP_DATABASE, start_embedded, with_database

CONNECT_TIMEOUT_S = 5


def resolve_url(settings: Settings) -> str:
    """The application database URL: the configured one, or the embedded server's (started if needed)."""
    if settings.database_url:
        return settings.database_url
    server_url = start_embedded(settings.pgdata)
    ensure_database(server_url=server_url, name=APP_DATABASE)
    return with_database(server_url, APP_DATABASE)


def connect(url: str, *, autocommit: bool = False, vector: bool = True) -> psycopg.Connection:
    """Open one connection with dict rows; a clear DatabaseUnavailable instead of a driver traceback."""
    try:
        conn = psycopg.connect(
            url, autocommit=autocommit, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"cannot connect to the database: {first_line}") from exc
    if vector:
        _register_vector(conn)
    return conn


# HNSW search breadth (retrieve() widens it with the corpus, see pipeline.retrieval.ef_search_for),
# and pgvector 0.8 iterative scans: when filters (status, visibility, locale)
# reject candidates, the index scan continues instead of returning too few rows.
EF_SEARCH = 100
# No JIT: our statements are short; when a retrieval plan's estimated cost crossed jit_above_cost,
# compiling it added 100-600 ms (measured at 100k chunks, p95 36 -> 27 ms without it).
SEARCH_SETTINGS = (
    f"SET hnsw.ef_search = {EF_SEARCH}; SET hnsw.iterative_scan = relaxed_order; SET jit = off"
)


def _register_vector(conn: psycopg.Connection) -> None:
    try:
        register_vector(conn)
        conn.execute(SEARCH_SETTINGS)
    except psycopg.ProgrammingError:
        # The vector type does not exist yet (before the first migration); nothing to register.
        if not conn.autocommit:
            conn.rollback()


POOL_WAIT_S = 5.0  # a request waits this long for a connection, then fails (503), never hangs
RECONNECT_S = 10.0


def make_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> ConnectionPool:
    def configure(conn: psycopg.Connection) -> None:
        conn.row_factory = dict_row
        register_vector(conn)
        conn.execute(SEARCH_SETTINGS)
        conn.commit()

    def check(conn: psycopg.Connection) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            # After a database restart every idle connection is dead, and the pool would try them
            # one at a time with growing pauses (1, 2, 4 s), past POOL_WAIT_S: check them all now,
            # the dead are replaced, and the next try gets a live one.
            pool.check()
            raise

    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        configure=configure,
        # A connection is checked before it is lent: after a database restart the first requests
        # get fresh connections instead of failing on dead ones.
        check=check,
        timeout=POOL_WAIT_S,
        # While the server is away the pool retries connecting with doubling pauses; giving an
        # attempt up after RECONNECT_S lets the next request start again from a 1 s pause, so the
        # pool is back within seconds of the server, not after a pause as long as the outage.
        reconnect_timeout=RECONNECT_S,
        kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
        open=False,
    )
    try:
        pool.open(wait=True, timeout=10)
    except psycopg.errors.Error as exc:  # PoolTimeout subclasses OperationalError
        pool.close()
        raise DatabaseUnavailable(f"cannot open a connection pool: {exc}") from exc
    return pool


def ensure_database(*, server_url: str, name: str) -> None:
    """Create database ``name`` on the server if it does not exist (race-safe)."""
    with connect(server_url, autocommit=True, vector=False) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(*, server_url: str, name: str) -> None:
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def database_note(*, server_url: str, name: str) -> str | None:
    """The database's comment (cached eval and benchmark databases keep their state there), or
    None when it has none or does not exist."""
    with connect(server_url, autocommit=True, vector=False) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database "
            "WHERE datname = %s",
            (name,),
        ).fetchone()
    return row["note"] if row else None


def set_database_note(*, server_url: str, name: str, note: str) -> None:
    with connect(server_url, autocommit=True, vector=False) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(note))
        )


PGVECTOR = """
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available,
       current_setting('server_version_num')::int / 10000 AS major,
       current_database() AS database
"""


def require_pgvector(conn: psycopg.Connection) -> None:
    """MissingExtension, with what to run, when the server cannot provide pgvector at all. (Whether
    this role may create it, when it is not installed yet, ``autocrm db migrate`` checks:
    db.preflight.)"""
    row = conn.execute(PGVECTOR).fetchone()
    if row["available"]:
        return
    raise MissingExtension(
        "the server has no pgvector extension ('vector' is not in pg_available_extensions). "
        f"Install it on the server (Debian/Ubuntu: apt-get install postgresql-{row['major']}-pgvector;"
        " Supabase, RDS and Cloud SQL ship it), then, as a superuser or the provider's admin role, "
        f"run in database {row['database']}: CREATE EXTENSION IF NOT EXISTS vector; "
        "(or leave AUTOCRM_DATABASE_URL unset to use the embedded server, which has it). "
        "See docs/postgres.md"
    )
