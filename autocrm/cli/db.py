"""``autocrm db …``: the database's lifecycle."""

from __future__ import annotations

import typer

from autocrm.cli.context import open_db
from autocrm.core.settings import Settings
from autocrm.db import migrate as migrations
from autocrm.db.connect import resolve_url
from autocrm.db.server import stop_embedded

app = typer.Typer(
    help="Database: migrations, seed data, the embedded server.", no_args_is_help=True
)


@app.command()
def migrate() -> None:
    """Apply pending migrations.

    Example: autocrm db migrate
    """
    with open_db(Settings(), need_schema=False) as conn:
        applied = migrations.migrate(conn)
    typer.echo(
        f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else "")
    )


@app.command()
def rollback(steps: int = typer.Argument(1, min=1, help="how many migrations to undo")) -> None:
    """Undo the last N applied migrations (newest first).

    Example: autocrm db rollback 1
    """
    with open_db(Settings(), need_schema=False) as conn:
        undone = migrations.rollback(conn, steps=steps)
    typer.echo(
        f"rolled back {len(undone)} migration(s)" + (f": {', '.join(undone)}" if undone else "")
    )


@app.command()
def status() -> None:
    """List migrations and whether each is applied.

    Example: autocrm db status
    """
    with open_db(Settings(), need_schema=False) as conn:
        rows = migrations.status(conn)
    for row in rows:
        state = f"applied {row.applied_at:%Y-%m-%d %H:%M}" if row.applied_at else "pending"
        typer.echo(f"{row.version}  {row.name:<40} {state}")


@app.command()
def reset(yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation")) -> None:
    """Drop every application table and migrate again (all data is lost).

    Example: autocrm db reset --yes
    """
    if not yes:
        typer.confirm("This deletes all AutoCRM data in the database. Continue?", abort=True)
    with open_db(Settings(), need_schema=False) as conn:
        migrations.reset(conn)
    typer.echo("database reset to an empty, current schema")


@app.command()
def seed() -> None:
    """Load the demo organisation (idempotent).

    Example: autocrm db seed
    """
    with open_db(Settings()) as conn:
        migrations.seed(conn)
    typer.echo("seed data loaded")


@app.command()
def url() -> None:
    """Print the database URL (starting the embedded server if needed).

    Example: psql "$(autocrm db url)"
    """
    typer.echo(resolve_url(Settings()))


@app.command()
def stop() -> None:
    """Stop the embedded PostgreSQL server (data is kept).

    Example: autocrm db stop
    """
    settings = Settings()
    if settings.database_url:
        typer.echo("a database URL is configured; there is no embedded server to stop")
        return
    stopped = stop_embedded(settings.pgdata)
    typer.echo("embedded server stopped" if stopped else "embedded server was not running")
