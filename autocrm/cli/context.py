"""What every CLI command needs: the settings, a way to open the application database, and the
shared resources (pool, embedder, chat model) built by the same builder as the API and the worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

from autocrm.core.settings import Settings
from autocrm.db import migrate
from autocrm.db.connect import connect, require_pgvector, resolve_url
from autocrm.db.errors import MigrationError

if TYPE_CHECKING:
    from autocrm.pipeline.embedder import Embedder
    from autocrm.pipeline.resources import Resources

# A command runs one thing at a time: a small pool.
CLI_POOL_MAX_SIZE = 2


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


@contextmanager
def open_resources(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    need_schema: bool = True,
    max_size: int = CLI_POOL_MAX_SIZE,
) -> Iterator[Resources]:
    """The shared resources (``pipeline.resources``) for a command, closed on exit. The database
    is checked first (pgvector present; with ``need_schema``, the schema current), so a command
    fails fast with a clear message before it loads a model. ``res.connection()`` lends an
    autocommit connection, as ``open_db`` opens one.

    Example: ``with open_resources(settings) as res, res.connection() as conn: ...``
    """
    from autocrm.pipeline import resources

    open_db(settings, need_schema=need_schema).close()
    with resources.open_resources(
        settings, embedder=embedder, min_size=1, max_size=max_size
    ) as res:
        yield res
