"""``autocrm ingest`` and ``autocrm kb …``: put knowledge into the database."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm

from autocrm.cli.context import open_db
from autocrm.core.settings import Settings

# The heavy imports (llama-index, torch) happen inside the commands, so `autocrm --help` and the
# db commands start fast.

kb_app = typer.Typer(help="Knowledge base maintenance.", no_args_is_help=True)


def ingest_command(
    source: Path = typer.Argument(
        None, help="Markdown/HTML/text directory, or a .json/.jsonl export"
    ),
    from_db: bool = typer.Option(False, "--from-db", help="re-embed articles edited in the app"),
    keep_missing: bool = typer.Option(
        False, "--keep-missing", help="do not archive articles gone from the source"
    ),
    reembed: bool = typer.Option(
        False, "--reembed", help="embed again, e.g. after changing the embedding model"
    ),
) -> None:
    """Ingest a knowledge-base source: parse, chunk, embed and store, incrementally.

    Exit status: 0 all items ingested, 1 some items failed (listed), 2 fatal error.

    Example: autocrm ingest ./help-centre/   or   autocrm ingest export.jsonl   or   autocrm ingest --from-db
    """
    if (source is None) == (not from_db):
        raise typer.BadParameter("give a SOURCE or --from-db (not both)")
    from autocrm.ingest.job import ingest
    from autocrm.ingest.sources import SourceError
    from autocrm.pipeline.embedder import build_embedder

    settings = Settings()
    embedder = build_embedder(settings)
    with open_db(settings) as conn:
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
    raise typer.Exit(report.exit_code)


def print_report(report) -> None:
    typer.echo(
        f"{report.source}: {report.seen} seen, {report.new} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.archived} archived, {report.failed} failed; "
        f"{report.chunks_embedded} chunks embedded, {report.chunks_reused} reused"
    )
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
