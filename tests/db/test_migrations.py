"""Migrations: equal to the schema files, reversible, tamper-evident, safe to run concurrently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autocrm.db import migrate
from autocrm.db.connect import connect
from autocrm.db.errors import MigrationError

# Everything a migration can create that code depends on, in a form comparable across databases.
CATALOG_QUERIES = {
    "tables": """
        SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':rls=' || c.relrowsecurity::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'v', 'm', 'S')""",
    "columns": """
        SELECT c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
               || ':' || a.attnotnull::text || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relkind IN ('r', 'v', 'm')""",
    "types": """
        SELECT t.typname || ':' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
          FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
          JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
         GROUP BY t.typname""",
    "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "constraints": """
        SELECT conrelid::regclass::text || ':' || pg_get_constraintdef(oid) FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace""",
    "policies": """
        SELECT tablename || ':' || policyname || ':' || cmd || ':' || roles::text || ':'
               || coalesce(qual, '') || ':' || coalesce(with_check, '')
          FROM pg_policies WHERE schemaname = 'public'""",
    "functions": """
        SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_arguments(p.oid) || '):'
               || md5(p.prosrc)
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('public', 'auth')""",
    "triggers": """
        SELECT tgrelid::regclass::text || ':' || tgname || ':' || pg_get_triggerdef(oid) FROM pg_trigger
         WHERE NOT tgisinternal""",
}


def catalog(url: str) -> dict[str, set[str]]:
    with connect(url, autocommit=True, vector=False) as conn:
        return {
            name: {next(iter(row.values())) for row in conn.execute(query)}
            for name, query in CATALOG_QUERIES.items()
        }


def test_migrating_an_empty_database_equals_applying_the_schema_files(server_url, empty_db):
    from autocrm.db.connect import drop_database, ensure_database
    from autocrm.db.server import with_database

    with connect(empty_db, autocommit=True) as conn:
        migrate.migrate(conn)
    ensure_database(server_url=server_url, name="schema_files_check")
    try:
        files_url = with_database(server_url, "schema_files_check")
        with connect(files_url, autocommit=True) as conn:
            migrate.apply_schema_files(conn)
            migrate.apply_schema_files(conn)  # idempotent: a second run changes nothing
        migrated, from_files = catalog(empty_db), catalog(files_url)
    finally:
        drop_database(server_url=server_url, name="schema_files_check")
    # The job queue's objects belong to procrastinate (its own versioned schema), not db/schema/.
    for kind in CATALOG_QUERIES:
        migrated[kind] = {x for x in migrated[kind] if "procrastinate" not in x}
    migrated["tables"].discard("public.schema_migrations:r:rls=false")
    migrated["columns"] = {c for c in migrated["columns"] if not c.startswith("schema_migrations.")}
    migrated["indexes"] = {i for i in migrated["indexes"] if "schema_migrations" not in i}
    migrated["constraints"] = {c for c in migrated["constraints"] if "schema_migrations" not in c}
    for kind in CATALOG_QUERIES:
        assert migrated[kind] == from_files[kind], (
            f"{kind} differ between migrations and schema files"
        )
    assert len(from_files["policies"]) > 30 and len(from_files["tables"]) > 20


def test_every_public_table_has_rls(empty_db):
    with connect(empty_db, autocommit=True) as conn:
        migrate.migrate(conn)
        without = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r' AND NOT relrowsecurity AND relname <> 'schema_migrations'"
        ).fetchall()
    assert without == []


def test_up_down_up_round_trips(empty_db):
    with connect(empty_db, autocommit=True) as conn:
        first = migrate.migrate(conn)
        before = catalog(empty_db)
        assert migrate.rollback(conn, steps=len(first)) == list(reversed(first))
        leftover = conn.execute(
            "SELECT count(*) AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'v', 'm') AND relname <> 'schema_migrations' "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = pg_class.oid AND d.deptype = 'e')"
        ).fetchone()["n"]
        assert leftover == 0
        assert migrate.migrate(conn) == first
    assert catalog(empty_db) == before


def test_tampered_migration_is_refused(empty_db, tmp_path: Path):
    source = migrate.MIGRATIONS_DIR / "20261125190000_initial_schema.sql"
    copy = tmp_path / source.name
    copy.write_text(source.read_text())
    with connect(empty_db, autocommit=True) as conn:
        migrate.migrate(conn, migrations=migrate.load_migrations(tmp_path))
        copy.write_text(source.read_text().replace("-- migrate:down", "SELECT 1;\n-- migrate:down"))
        with pytest.raises(MigrationError, match="edited after it was applied"):
            migrate.migrate(conn, migrations=migrate.load_migrations(tmp_path))


def test_malformed_migration_file_is_refused(tmp_path: Path):
    (tmp_path / "20260101000000_bad.sql").write_text("CREATE TABLE x (id int);")
    with pytest.raises(MigrationError, match="migrate:up"):
        migrate.load_migrations(tmp_path)


def test_two_concurrent_migrate_processes_apply_once(empty_db):
    script = (
        "import sys; from db import migrate; from db.connect import connect\n"
        "with connect(sys.argv[1], autocommit=True) as c: print(len(migrate.migrate(c)))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_db], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    counts = sorted(int(p.communicate(timeout=120)[0].strip()) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    expected = len(migrate.load_migrations())
    assert counts == [0, expected]
    with connect(empty_db, autocommit=True) as conn:
        rows = conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()
    assert rows["n"] == expected
