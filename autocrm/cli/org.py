"""``autocrm --org NAME …``: an organisation of one's own, apart from the demo.

The schema has no organisation column: one database is one organisation (its users, tickets and
knowledge base; retrieval searches every published article of the database). So an organisation is
a database of its own, ``autocrm_org_<name>``, on the same server (the embedded one, or the
configured AUTOCRM_DATABASE_URL's), created with a current schema the first time it is named.
The demo stays in the default database.
"""

from __future__ import annotations

import os
import re

import psycopg
import typer

from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings

ORG_HELP = (
    "use organisation NAME's own database (autocrm_org_NAME, created on first use) instead of "
    "the demo's; give it to every command (or set AUTOCRM_ORG)"
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PREFIX = "autocrm_org_"


def org_database(name: str) -> str:
    """'acme' (or 'Acme') -> 'autocrm_org_acme'; InvalidInput for a name that is not a slug."""
    if not _NAME.match(name.strip().lower()):
        raise InvalidInput(
            f"--org {name!r}: use 1-40 lowercase letters, digits, '-' or '_', starting with a "
            "letter or digit (e.g. --org acme)"
        )
    return PREFIX + name.strip().lower()


def use_org(name: str) -> str:
    """Point this process, and the processes it starts (serve, worker), at the organisation's
    database: every command reads its Settings from the environment, so AUTOCRM_DATABASE_URL is
    set for the rest of the process. Creates the database, with the schema, when it is new.
    Returns the URL."""
    from autocrm.db import migrate
    from autocrm.db.connect import connect, ensure_database, resolve_url
    from autocrm.db.errors import DatabaseError
    from autocrm.db.server import with_database

    database = org_database(name)
    base = resolve_url(Settings())  # the configured server, or the embedded one (started)
    try:
        ensure_database(server_url=base, name=database)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"cannot create the database {database} for --org {name}: {exc}".strip()
            + "; create it yourself, or point AUTOCRM_DATABASE_URL at a database of its own"
        ) from exc
    url = with_database(base, database)
    with connect(url, autocommit=True) as conn:
        if not any(s.applied_at for s in migrate.status(conn)):  # new: this command owns it
            applied = migrate.migrate(conn)
            typer.secho(
                f"organisation {name!r}: new database {database}, schema created "
                f"({len(applied)} migrations)",
                err=True,
            )
    os.environ["AUTOCRM_DATABASE_URL"] = url
    os.environ["AUTOCRM_ORG"] = database.removeprefix(PREFIX)  # messages name it (cli.main)
    return url
