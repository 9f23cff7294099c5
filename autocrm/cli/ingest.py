"""``autocrm ingest`` and ``autocrm kb …``: put knowledge into the database."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from tqdm import tqdm

from autocrm.cli.context import open_db
from autocrm.core.errors import InvalidInput
from autocrm.core.settings import Settings

# The heavy imports (llama-index, torch) happen inside the commands, so `autocrm --help` and the
# db commands start fast.

kb_app = typer.Typer(help="Knowledge base maintenance.", no_args_is_help=True)


def ingest_command(
    source: Path = typer.Argument(
        None, help="Markdown/HTML/text directory, or a .json/.jsonl help-centre export"
    ),
    from_db: bool = typer.Option(False, "--from-db", help="re-embed articles edited in the app"),
    org: str | None = typer.Option(
        None,
        "--org",
        metavar="NAME",
        help="into organisation NAME's own database, apart from the demo (the same as "
        "`autocrm --org NAME ingest …`; use --org NAME with the other commands too)",
    ),
    keep_missing: bool = typer.Option(
        False, "--keep-missing", help="do not archive articles gone from the source"
    ),
    reembed: bool = typer.Option(
        False, "--reembed", help="embed again, e.g. after changing the embedding model"
    ),
) -> None:
    """Ingest a knowledge-base source: parse, chunk, embed and store, incrementally.

    Without --org the articles join the database's knowledge base (after `autocrm demo`: the
    demo's help centre, and answers may cite either). With --org NAME they go into a database of
    their own (autocrm_org_NAME, created with its schema on first use); ask it with
    `autocrm --org NAME ask "..."`.

    Exit status: 0 all items ingested, 1 some items failed (listed), 2 fatal error.

    Example: autocrm ingest ./help-centre/   or   autocrm ingest export.jsonl   or   autocrm ingest --from-db
    Example: autocrm ingest ./help-centre/ --org acme && autocrm --org acme ask "How do I export data?"
    """
    check_source(source, from_db=from_db)
    if org:
        from autocrm.cli.org import use_org

        use_org(org)
    from autocrm.ingest.job import ingest
    from autocrm.ingest.sources import SourceError
    from autocrm.pipeline.embedder import build_embedder

    settings = Settings()
    with open_db(settings) as conn:  # first: a database that is not ready fails before the model
        embedder = build_embedder(settings)
        try:
            report = ingest(
                conn,
                source_path=source,
                embedder=embedder,
                chunking=settings.chunking,
                from_db=from_db,
                keep_missing=keep_missing,
                reembed=reembed,
                progress=lambda it: tqdm(it, desc="ingest", unit="item", disable=None),
            )
        except SourceError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from exc
    print_report(report)
    org = org or os.environ.get("AUTOCRM_ORG")
    if not report.seen:
        typer.echo(
            "nothing to ingest: the source has no articles (Markdown, HTML or text files, or "
            "records of a .json/.jsonl export)"
            if source
            else "nothing to ingest: the database has no articles authored in the app"
        )
    else:
        prefix = f"autocrm --org {org} " if org else "autocrm "
        typer.echo(f'next: {prefix}ask "a question your customers ask"')
    raise typer.Exit(report.exit_code)


def check_source(source: Path | None, *, from_db: bool) -> None:
    """Say what to pass, before anything starts (the database, the model)."""
    if source is None and not from_db:
        raise InvalidInput(
            "say what to ingest: a directory of Markdown/HTML/text files (autocrm ingest "
            "./help-centre/), a help-centre export (autocrm ingest export.jsonl), or --from-db "
            "to re-embed the articles edited in the app"
        )
    if source is not None and from_db:
        raise InvalidInput("give a SOURCE or --from-db, not both")
    if source is not None and not source.exists():
        raise InvalidInput(
            f"{source} does not exist: give a directory of Markdown/HTML/text files or a "
            ".json/.jsonl help-centre export"
        )


def print_report(report) -> None:
    typer.echo(
        f"{report.source}: {report.seen} seen, {report.new} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.archived} archived, {report.failed} failed; "
        f"{report.chunks_embedded} chunks embedded, {report.chunks_reused} reused; "
        f"{report.units_embedded} answer units embedded, {report.units_reused} reused, "
        f"{report.structures_stored} articles' structures stored"
    )
    if report.stage_seconds:
        typer.echo("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in report.stage_seconds.items()))
    for error in report.errors:
        typer.secho(
            f"  failed: {error.external_id}: {error.error}", fg=typer.colors.YELLOW, err=True
        )


@kb_app.command("set-dimension")
def set_dimension(
    dim: int = typer.Argument(..., min=1, max=16000, help="the new embedding dimension"),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
) -> None:
    """Change kb_chunks.embedding to vector(DIM) for a model of another size (drops embeddings).

    Example: autocrm kb set-dimension 768 --yes && autocrm ingest ./kb --reembed
    """
    if not yes:
        typer.confirm(f"Drop all stored embeddings and switch to vector({dim})?", abort=True)
    from autocrm.ingest.store import set_embedding_dimension

    with open_db(Settings()) as conn:
        set_embedding_dimension(conn, dim=dim)
    typer.echo(f"kb_chunks.embedding is now vector({dim}); re-ingest with --reembed")
