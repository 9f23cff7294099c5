"""What every CLI command needs: the settings and a way to open the application database."""

from __future__ import annotations

import psycopg

from autocrm.core.settings import Settings
from autocrm.db import migrate
from autocrm.db.connect import connect, require_pgvector, resolve_url
from autocrm.db.errors import MigrationError


def open_db(
    settings: Settings, *, autocommit: bool = True, need_schema: bool = True
) -> psycopg.Connection:
    """Connect to the application database; with ``need_schema``, refuse an un-migrated one."""
    conn = connect(resolve_url(settings), autocommit=autocommit)
    require_pgvector(conn)
    if need_schema and not migrate.is_up_to_date(conn):
        conn.close()
        raise MigrationError("the database schema is not current; run `autocrm db migrate`")
    return conn
