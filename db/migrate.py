"""Migrations: timestamped ``.sql`` files with an up and a down part, recorded with checksums.

File format (``db/migrations/YYYYMMDDHHMMSS_<name>.sql``)::

    -- migrate:up
    CREATE TABLE ...;
    -- migrate:down
    DROP TABLE ...;

Each migration runs in its own transaction. A session advisory lock serialises concurrent
``migrate`` calls, so two processes starting at once apply each migration exactly once. Before
the first pending one, ``db.preflight`` checks that the role may do what they do (a managed
server's application role is no superuser) and names what an administrator must set up if not.

Why not alembic/yoyo: the schema is plain SQL shared with Supabase (``supabase db push`` reads the
same files), and the whole runner is this module; a library would add an ORM-shaped layer for nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from autocrm.db.errors import MigrationError
from autocrm.db.preflight import check_server

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA_DIR = Path(__file__).parent / "schema"
SEED_FILE = Path(__file__).parent / "seeds" / "initial_data.sql"
MIGRATION_LOCK_KEY = 7_220_451_001  # arbitrary, stable: pg_advisory_lock key for migrations

_NAME = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")
_UP = "-- migrate:up"
_DOWN = "-- migrate:down"

CREATE_TRACKING = """
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version     text PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""
TRACKED = "SELECT to_regclass('public.schema_migrations') IS NOT NULL AS tracked"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    up: str
    down: str
    checksum: str


@dataclass(frozen=True)
class MigrationStatus:
    version: str
    name: str
    applied_at: object | None  # datetime when applied


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path.name}: migration files must be named YYYYMMDDHHMMSS_name.sql"
            )
        text = path.read_text(encoding="utf-8")
        if text.count(_UP) != 1 or text.count(_DOWN) != 1 or text.index(_UP) > text.index(_DOWN):
            raise MigrationError(
                f"{path.name}: needs one '{_UP}' line followed by one '{_DOWN}' line"
            )
        up, down = text.split(_UP, 1)[1].split(_DOWN, 1)
        migrations.append(
            Migration(
                version=match.group(1),
                name=match.group(2),
                up=up.strip(),
                down=down.strip(),
                checksum=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    return migrations


def _applied(conn: psycopg.Connection) -> dict[str, dict]:
    conn.execute(CREATE_TRACKING)
    rows = conn.execute("SELECT version, name, checksum, applied_at FROM public.schema_migrations")
    return {row["version"]: row for row in rows}


def _has_pending(conn: psycopg.Connection, migrations: list[Migration]) -> bool:
    """Whether any of ``migrations`` is unapplied (read-only: creates no tracking table)."""
    if not conn.execute(TRACKED).fetchone()["tracked"]:
        return bool(migrations)
    done = {row["version"] for row in conn.execute("SELECT version FROM public.schema_migrations")}
    return any(m.version not in done for m in migrations)


def _verify_checksums(migrations: list[Migration], applied: dict[str, dict]) -> None:
    known = {m.version: m for m in migrations}
    for version, row in applied.items():
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version}_{row['name']} is applied but its file is missing; "
                "restore the file or roll the database back with an older checkout"
            )
        if migration.checksum != row["checksum"]:
            raise MigrationError(
                f"migration {version}_{migration.name}.sql was edited after it was applied "
                f"(checksum {row['checksum'][:12]} in the database, {migration.checksum[:12]} on disk); "
                "write a new migration instead of editing an applied one"
            )


class _Locked:
    """Holds the migration advisory lock on an autocommit connection for the duration."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def __enter__(self) -> psycopg.Connection:
        if not self.conn.autocommit:
            raise MigrationError("migrations need an autocommit connection")
        self.conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


def migrate(conn: psycopg.Connection, *, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every pending migration in order; return the versions applied by this call."""
    migrations = load_migrations() if migrations is None else migrations
    done: list[str] = []
    with _Locked(conn):
        if _has_pending(conn, migrations):
            # Before the first statement: what only an administrator can do, named all at once.
            check_server(conn)
        applied = _applied(conn)
        _verify_checksums(migrations, applied)
        for migration in migrations:
            if migration.version in applied:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.up)
                    conn.execute(
                        "INSERT INTO public.schema_migrations (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except psycopg.Error as exc:
                raise MigrationError(
                    f"migration {migration.version}_{migration.name} failed: {exc}"
                ) from exc
            done.append(migration.version)
    return done


def rollback(conn: psycopg.Connection, *, steps: int = 1) -> list[str]:
    """Run the down part of the last ``steps`` applied migrations, newest first."""
    migrations = {m.version: m for m in load_migrations()}
    undone: list[str] = []
    with _Locked(conn):
        applied = _applied(conn)
        _verify_checksums(list(migrations.values()), applied)
        for version in sorted(applied, reverse=True)[:steps]:
            migration = migrations[version]
            try:
                with conn.transaction():
                    conn.execute(migration.down)
                    conn.execute(
                        "DELETE FROM public.schema_migrations WHERE version = %s", (version,)
                    )
            except psycopg.Error as exc:
                raise MigrationError(
                    f"rollback of {version}_{migration.name} failed: {exc}"
                ) from exc
            undone.append(version)
    return undone


def status(conn: psycopg.Connection) -> list[MigrationStatus]:
    migrations = load_migrations()
    applied = _applied(conn)
    return [
        MigrationStatus(m.version, m.name, applied.get(m.version, {}).get("applied_at"))
        for m in migrations
    ]


def is_up_to_date(conn: psycopg.Connection) -> bool:
    return all(s.applied_at is not None for s in status(conn))


def reset(conn: psycopg.Connection) -> list[str]:
    """Roll everything back and migrate again: an empty, current schema."""
    rollback(conn, steps=len(load_migrations()))
    return migrate(conn)


def apply_schema_files(conn: psycopg.Connection, *, directory: Path = SCHEMA_DIR) -> None:
    """Apply ``db/schema/*.sql`` directly (the source of truth; used to check migrations for drift)."""
    with conn.transaction():
        for path in sorted(directory.glob("*.sql")):
            conn.execute(path.read_text(encoding="utf-8"))


def seed(conn: psycopg.Connection) -> None:
    """Load the demo organisation (idempotent: re-running adds nothing)."""
    if not SEED_FILE.is_file():
        raise MigrationError(f"seed file {SEED_FILE} is missing")
    with conn.transaction():
        conn.execute(SEED_FILE.read_text(encoding="utf-8"))


__all__ = [
    "Migration",
    "MigrationStatus",
    "apply_schema_files",
    "is_up_to_date",
    "load_migrations",
    "migrate",
    "reset",
    "rollback",
    "seed",
    "status",
]
