"""``autocrm demo``: the main job, end to end, on the embedded database."""

from __future__ import annotations

import typer

from autocrm.context import open_db
from autocrm.locks import exclusive
from autocrm.settings import Settings
from db import migrate as migrations
from db.server import check_data_dir

SUMMARY_SQL = """
SELECT (SELECT count(*) FROM users WHERE role = 'customer') AS customers,
       (SELECT count(*) FROM users WHERE role IN ('agent', 'admin')) AS staff,
       (SELECT count(*) FROM teams) AS teams,
       (SELECT count(*) FROM kb_articles) AS articles,
       (SELECT count(*) FROM kb_articles WHERE status = 'published') AS published,
       (SELECT count(*) FROM kb_chunks) AS chunks,
       (SELECT count(*) FROM tickets) AS tickets,
       (SELECT count(*) FROM conversations) AS messages
"""


def demo() -> None:
    """Set up the embedded database, load the demo org and show what is there.

    Example: autocrm demo
    """
    settings = Settings()
    check_data_dir(settings.data_dir)  # "data directory … is not writable" rather than a lock error
    with (
        exclusive(settings.data_dir / "demo.lock", what="demo"),
        open_db(settings, need_schema=False) as conn,
    ):
        applied = migrations.migrate(conn)
        typer.echo(f"database ready ({len(applied)} migration(s) applied)")
        migrations.seed(conn)
        summary = conn.execute(SUMMARY_SQL).fetchone()
        typer.echo("demo organisation:")
        for key, value in summary.items():
            typer.echo(f"  {key:<10} {value}")
        by_status = conn.execute(
            "SELECT status, count(*) AS n FROM tickets GROUP BY status ORDER BY status"
        ).fetchall()
        typer.echo(
            "  tickets by status: " + ", ".join(f"{r['status']} {r['n']}" for r in by_status)
        )
